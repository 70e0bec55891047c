package dev.boxwood.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.sdk.transport.Json;
import java.time.Instant;
import java.util.Map;

/**
 * What the control plane knows about a sandbox ({@link Sandbox#getInfo()}, items of {@link Sandbox#list}).
 *
 * @param sandboxId   the sandbox's ID
 * @param templateId  the template it was created from
 * @param alias       the template's alias, or null
 * @param metadata    the metadata given at creation
 * @param startedAt   when it started
 * @param endAt       when it will time out
 * @param state       running or paused
 * @param cpuCount    its CPU limit
 * @param memoryMB    its memory limit in MiB
 * @param diskSizeMB  its disk size in MiB
 * @param envdVersion the version of its agent
 */
public record SandboxInfo(String sandboxId, String templateId, String alias, Map<String, String> metadata,
                          Instant startedAt, Instant endAt, SandboxState state, int cpuCount, int memoryMB,
                          int diskSizeMB, String envdVersion) {
    public SandboxInfo {
        metadata = Map.copyOf(metadata);
    }

    static SandboxInfo fromJson(JsonNode n) {
        return new SandboxInfo(Json.text(n, "sandboxID"), Json.text(n, "templateID"), Json.text(n, "alias"),
                Json.stringMap(n.get("metadata")), instant(n, "startedAt"), instant(n, "endAt"),
                SandboxState.fromWire(Json.text(n, "state")), n.path("cpuCount").asInt(), n.path("memoryMB").asInt(),
                n.path("diskSizeMB").asInt(), Json.text(n, "envdVersion"));
    }

    static Instant instant(JsonNode n, String field) {
        String s = Json.text(n, field);
        return s == null ? null : Instant.parse(s);
    }
}
