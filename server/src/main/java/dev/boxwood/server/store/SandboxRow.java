package dev.boxwood.server.store;

import java.time.Instant;
import java.util.Map;

/**
 * A sandbox as the database records it. {@code accessToken} is the agent's token and {@code trafficToken} (null
 * unless public traffic is off) guards its other ports: never log either.
 */
public record SandboxRow(String id, String teamId, String templateId, Status status, int cpuCount, int memoryMB,
                         int diskSizeMB, String accessToken, Map<String, String> metadata, Boolean allowInternetAccess,
                         boolean autoPause, Instant startedAt, Instant endAt, Instant endedAt, String trafficToken) {

    /** Where a sandbox is in its life. Only {@code RUNNING} sandboxes are visible through the API. */
    public enum Status {
        RUNNING, KILLED, EXPIRED, LOST, FAILED;

        public String db() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Status of(String s) {
            return valueOf(s.toUpperCase(java.util.Locale.ROOT));
        }
    }

    public SandboxRow withEndAt(Instant newEndAt) {
        return new SandboxRow(id, teamId, templateId, status, cpuCount, memoryMB, diskSizeMB, accessToken, metadata,
                allowInternetAccess, autoPause, startedAt, newEndAt, endedAt, trafficToken);
    }
}
