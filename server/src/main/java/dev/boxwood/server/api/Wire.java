package dev.boxwood.server.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/** The JSON bodies of E2B's control-plane API, field names exactly as on the wire. */
final class Wire {
    private Wire() {}

    /** Body of {@code POST /sandboxes} (v1: has {@code secure}) and {@code POST /v2/sandboxes}. */
    record NewSandbox(String templateID, Integer timeout, Map<String, String> envVars, Map<String, String> metadata,
                      Boolean secure, @JsonProperty("allow_internet_access") Boolean allowInternetAccess,
                      Boolean autoPause, Boolean autoPauseMemory, JsonNode autoResume, JsonNode network,
                      JsonNode iam, JsonNode mcp, JsonNode volumeMounts, JsonNode lifecycle,
                      // Boxwood extension: per-sandbox resources, within the server's maximum.
                      Integer cpuCount, Integer memoryMB, Integer diskSizeMB, Resources resources) {}

    record Resources(Integer cpuCount, Integer memoryMB, Integer diskSizeMB) {}

    record ConnectSandbox(Integer timeout, Boolean memory) {}

    record PauseRequest(Boolean memory) {}

    /** Body of the deprecated v1 {@code POST /sandboxes/{id}/resume}. */
    record ResumeRequest(Integer timeout, Boolean autoPause) {}

    record TimeoutRequest(Integer timeout) {}

    record RefreshRequest(Integer duration) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Sandbox(String sandboxID, String templateID, String alias, String clientID, String envdVersion,
                   String envdAccessToken, String trafficAccessToken,
                   @JsonInclude(JsonInclude.Include.ALWAYS) String domain) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ListedSandbox(String sandboxID, String templateID, String alias, String clientID, String startedAt,
                         String endAt, int cpuCount, int memoryMB, int diskSizeMB, String state, String envdVersion,
                         Map<String, String> metadata) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record SandboxDetail(String sandboxID, String templateID, String alias, String clientID, String startedAt,
                         String endAt, int cpuCount, int memoryMB, int diskSizeMB, String state, String envdVersion,
                         Map<String, String> metadata, String envdAccessToken,
                         @JsonInclude(JsonInclude.Include.ALWAYS) String domain,
                         @JsonInclude(JsonInclude.Include.ALWAYS) Boolean allowInternetAccess, Lifecycle lifecycle,
                         NetworkInfo network) {}

    /** The part of E2B's {@code SandboxNetworkConfig} this server keeps: egress rules and public traffic. */
    record NetworkInfo(java.util.List<String> allowOut, java.util.List<String> denyOut, boolean allowPublicTraffic) {}

    record Lifecycle(String onTimeout, boolean autoResume) {}

    record SandboxMetric(String timestamp, long timestampUnix, int cpuCount, double cpuUsedPct, long memUsed,
                         long memTotal, long memCache, long diskUsed, long diskTotal) {}

    record SandboxLog(String timestamp, String line) {}

    record SandboxLogEntry(String timestamp, String level, String message, Map<String, String> fields) {}

    record SandboxLogs(List<SandboxLog> logs, List<SandboxLogEntry> logEntries) {}

    record SandboxLogsV2(List<SandboxLogEntry> logs) {}

    record Template(String templateID, String buildID, int cpuCount, int memoryMB, int diskSizeMB, @JsonProperty("public") boolean isPublic,
                    List<String> aliases, List<String> names, String createdAt, String updatedAt, Object createdBy,
                    String lastSpawnedAt, long spawnCount, int buildCount, String envdVersion, String buildStatus) {}

    record Error(int code, String message) {}
}
