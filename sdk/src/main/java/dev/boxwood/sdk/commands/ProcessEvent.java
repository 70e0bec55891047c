package dev.boxwood.sdk.commands;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.sdk.transport.Json;
import java.util.Base64;

/** One event of a process stream ({@code process.Process/Start} and {@code Connect}), as the agent sends them. */
sealed interface ProcessEvent {
    record Start(int pid) implements ProcessEvent {}

    record Stdout(byte[] data) implements ProcessEvent {}

    record Stderr(byte[] data) implements ProcessEvent {}

    record Pty(byte[] data) implements ProcessEvent {}

    record End(int exitCode, boolean exited, String status, String error) implements ProcessEvent {}

    record KeepAlive() implements ProcessEvent {}

    /** An event kind this SDK does not know; ignored like the official SDKs ignore unknown fields. */
    record Other(JsonNode json) implements ProcessEvent {}

    /** Decodes {@code {"event":{...}}}. */
    static ProcessEvent parse(JsonNode message) {
        JsonNode event = message.path("event");
        if (event.has("start")) {
            return new Start(event.get("start").path("pid").asInt());
        }
        if (event.has("data")) {
            JsonNode data = event.get("data");
            if (data.hasNonNull("stdout")) {
                return new Stdout(Base64.getDecoder().decode(data.get("stdout").asText()));
            }
            if (data.hasNonNull("stderr")) {
                return new Stderr(Base64.getDecoder().decode(data.get("stderr").asText()));
            }
            if (data.hasNonNull("pty")) {
                return new Pty(Base64.getDecoder().decode(data.get("pty").asText()));
            }
            return new Other(message);
        }
        if (event.has("end")) {
            JsonNode end = event.get("end");
            JsonNode code = Json.field(end, "exitCode", "exit_code");
            return new End(code == null ? 0 : code.asInt(), end.path("exited").asBoolean(), Json.text(end, "status"),
                    Json.text(end, "error"));
        }
        if (event.has("keepalive")) {
            return new KeepAlive();
        }
        return new Other(message);
    }
}
