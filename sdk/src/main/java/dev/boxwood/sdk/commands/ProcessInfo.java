package dev.boxwood.sdk.commands;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.sdk.transport.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A process running in the sandbox ({@link Commands#list()}).
 *
 * @param pid  its process ID
 * @param tag  its tag, or null
 * @param cmd  the executable
 * @param args its arguments
 * @param envs the environment variables it was started with (beyond the sandbox's)
 * @param cwd  its working directory, or null
 */
public record ProcessInfo(int pid, String tag, String cmd, List<String> args, Map<String, String> envs, String cwd) {
    public ProcessInfo {
        args = List.copyOf(args);
        envs = Map.copyOf(envs);
    }

    static ProcessInfo fromJson(JsonNode n) {
        JsonNode config = n.path("config");
        List<String> args = new ArrayList<>();
        config.path("args").forEach(a -> args.add(a.asText()));
        return new ProcessInfo(n.path("pid").asInt(), Json.text(n, "tag"), Json.text(config, "cmd"), args,
                Json.stringMap(config.get("envs")), Json.text(config, "cwd"));
    }
}
