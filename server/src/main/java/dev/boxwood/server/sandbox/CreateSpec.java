package dev.boxwood.server.sandbox;

import java.time.Duration;
import java.util.Map;

/**
 * What a client asked for, already parsed from either API version. Null resource fields mean "the default";
 * {@code privateTraffic} (E2B's {@code network.allowPublicTraffic=false}) puts a token on the sandbox's other ports.
 * {@code autoPause}: paused rather than killed at its timeout; {@code autoResume}: traffic resumes it when paused.
 */
public record CreateSpec(String templateId, Duration timeout, Map<String, String> envVars, Map<String, String> metadata,
                         Integer cpuCount, Integer memoryMB, Integer diskSizeMB, Boolean allowInternetAccess,
                         boolean autoPause, boolean privateTraffic, boolean autoResume) {

    /** Without auto-resume. */
    public CreateSpec(String templateId, Duration timeout, Map<String, String> envVars, Map<String, String> metadata,
                      Integer cpuCount, Integer memoryMB, Integer diskSizeMB, Boolean allowInternetAccess,
                      boolean autoPause, boolean privateTraffic) {
        this(templateId, timeout, envVars, metadata, cpuCount, memoryMB, diskSizeMB, allowInternetAccess, autoPause,
                privateTraffic, false);
    }
}
