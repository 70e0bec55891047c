package dev.boxwood.sdk.code;

import java.util.List;

/**
 * The outcome of {@code runCode}: results, printed output, and the code's own error if it raised one (the SDK
 * does not throw for errors in the executed code).
 *
 * @param results        everything displayed, and the main result
 * @param logs           stdout and stderr
 * @param error          the code's error, or null
 * @param executionCount the kernel's execution counter after this run, or null
 */
public record Execution(List<Result> results, Logs logs, ExecutionError error, Integer executionCount) {
    public Execution {
        results = List.copyOf(results);
    }

    /** The text of the main result (the value of the last expression), or null. */
    public String text() {
        return results.stream().filter(Result::isMainResult).map(Result::text).findFirst().orElse(null);
    }
}
