package dev.boxwood.sdk.commands;

import dev.boxwood.sdk.SandboxException;

/** A command exited with a non-zero code; {@link #result()} has its output. */
public class CommandExitException extends SandboxException {
    private final CommandResult result;

    public CommandExitException(CommandResult result) {
        super("command exited with code " + result.exitCode()
                + (result.error() != null && !result.error().isEmpty() ? " (" + result.error() + ")" : "")
                + (result.stderr().isEmpty() ? "" : ": " + tail(result.stderr())));
        this.result = result;
    }

    public CommandResult result() {
        return result;
    }

    public int exitCode() {
        return result.exitCode();
    }

    public String stdout() {
        return result.stdout();
    }

    public String stderr() {
        return result.stderr();
    }

    private static String tail(String s) {
        String t = s.strip();
        return t.length() > 500 ? "..." + t.substring(t.length() - 500) : t;
    }
}
