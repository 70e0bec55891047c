package dev.boxwood.sdk.commands;

/**
 * How a command ended.
 *
 * @param exitCode its exit code
 * @param stdout   everything it wrote to stdout, decoded as UTF-8
 * @param stderr   everything it wrote to stderr, decoded as UTF-8
 * @param error    the agent's error message (e.g. how it was killed), or null
 */
public record CommandResult(int exitCode, String stdout, String stderr, String error) {
    public boolean succeeded() {
        return exitCode == 0;
    }
}
