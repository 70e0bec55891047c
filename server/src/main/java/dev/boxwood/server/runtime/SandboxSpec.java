package dev.boxwood.server.runtime;

/**
 * What to boot. Per-user details (env vars, access token, default user) are not here: the server hands them to the
 * agent's {@code POST /init} after boot, so that a pre-booted sandbox can be personalised when it is claimed.
 *
 * @param sandboxId  20 characters of [a-z0-9]
 * @param template   the template id whose root filesystem is the read-only lower layer
 * @param cpuCount   CPU quota in whole cores
 * @param memoryMB   memory limit (the cgroup's hard limit)
 * @param diskSizeMB size limit of the writable layer
 */
public record SandboxSpec(String sandboxId, String template, int cpuCount, int memoryMB, int diskSizeMB) {}
