package dev.boxwood.server.store;

import java.time.Instant;
import java.util.Map;

/**
 * A sandbox as the database records it. {@code accessToken} is the agent's token and {@code trafficToken} (null
 * unless public traffic is off) guards its other ports: never log either.
 */
public record SandboxRow(String id, String teamId, String templateId, Status status, int cpuCount, int memoryMB,
                         int diskSizeMB, String accessToken, Map<String, String> metadata, Boolean allowInternetAccess,
                         boolean autoPause, Instant startedAt, Instant endAt, Instant endedAt, String trafficToken,
                         boolean autoResume, java.time.Duration timeout) {

    /** A row without lifecycle options: no auto-resume, its timeout is what it was given at start. */
    public SandboxRow(String id, String teamId, String templateId, Status status, int cpuCount, int memoryMB,
                      int diskSizeMB, String accessToken, Map<String, String> metadata, Boolean allowInternetAccess,
                      boolean autoPause, Instant startedAt, Instant endAt, Instant endedAt, String trafficToken) {
        this(id, teamId, templateId, status, cpuCount, memoryMB, diskSizeMB, accessToken, metadata,
                allowInternetAccess, autoPause, startedAt, endAt, endedAt, trafficToken, false,
                java.time.Duration.between(startedAt, endAt));
    }

    /**
     * Where a sandbox is in its life. {@code RUNNING} and {@code PAUSED} sandboxes are visible through the API; a
     * paused one is frozen and its {@code endAt} is the end of its retention.
     */
    public enum Status {
        RUNNING, PAUSED, KILLED, EXPIRED, LOST, FAILED;

        public String db() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Status of(String s) {
            return valueOf(s.toUpperCase(java.util.Locale.ROOT));
        }
    }

    public SandboxRow withEndAt(Instant newEndAt) {
        return new SandboxRow(id, teamId, templateId, status, cpuCount, memoryMB, diskSizeMB, accessToken, metadata,
                allowInternetAccess, autoPause, startedAt, newEndAt, endedAt, trafficToken, autoResume, timeout);
    }

    public SandboxRow withState(Status newStatus, Instant newEndAt) {
        return new SandboxRow(id, teamId, templateId, newStatus, cpuCount, memoryMB, diskSizeMB, accessToken, metadata,
                allowInternetAccess, autoPause, startedAt, newEndAt, endedAt, trafficToken, autoResume, timeout);
    }

    public SandboxRow withLifecycle(boolean newAutoPause, boolean newAutoResume) {
        return new SandboxRow(id, teamId, templateId, status, cpuCount, memoryMB, diskSizeMB, accessToken, metadata,
                allowInternetAccess, newAutoPause, startedAt, endAt, endedAt, trafficToken, newAutoResume, timeout);
    }

    /** Visible through the API: running or paused. */
    public boolean live() {
        return status == Status.RUNNING || status == Status.PAUSED;
    }
}
