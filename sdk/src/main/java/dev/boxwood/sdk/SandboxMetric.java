package dev.boxwood.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/**
 * One resource-usage sample of a sandbox ({@link Sandbox#getMetrics()}).
 *
 * @param timestamp  when it was taken
 * @param cpuCount   CPUs available to the sandbox
 * @param cpuUsedPct CPU use in percent of those CPUs
 * @param memUsed    memory in use, bytes
 * @param memTotal   memory limit, bytes
 * @param diskUsed   disk in use, bytes
 * @param diskTotal  disk size, bytes
 */
public record SandboxMetric(Instant timestamp, int cpuCount, double cpuUsedPct, long memUsed, long memTotal,
                            long diskUsed, long diskTotal) {
    static SandboxMetric fromJson(JsonNode n) {
        Instant ts = n.hasNonNull("timestampUnix") ? Instant.ofEpochSecond(n.get("timestampUnix").asLong())
                : SandboxInfo.instant(n, "timestamp");
        return new SandboxMetric(ts, n.path("cpuCount").asInt(), n.path("cpuUsedPct").asDouble(),
                n.path("memUsed").asLong(), n.path("memTotal").asLong(), n.path("diskUsed").asLong(),
                n.path("diskTotal").asLong());
    }
}
