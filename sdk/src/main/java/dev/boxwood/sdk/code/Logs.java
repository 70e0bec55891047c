package dev.boxwood.sdk.code;

import java.util.List;

/**
 * What an execution printed, chunk by chunk as it arrived.
 *
 * @param stdout the stdout chunks
 * @param stderr the stderr chunks
 */
public record Logs(List<String> stdout, List<String> stderr) {
    public Logs {
        stdout = List.copyOf(stdout);
        stderr = List.copyOf(stderr);
    }
}
