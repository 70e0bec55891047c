package dev.boxwood.sdk.commands;

import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Options of {@link Pty#create(PtyOptions)}.
 *
 * @param cols    terminal width
 * @param rows    terminal height
 * @param envs    extra environment variables ({@code TERM}, {@code LANG} and {@code LC_ALL} are set by default)
 * @param cwd     the working directory, or null for the user's home
 * @param user    the user to run the shell as, or null for the default user
 * @param timeout how long the terminal may live ({@link Duration#ZERO} = no limit); default 60 s as in E2B
 * @param onData  receives the terminal's output bytes
 */
public record PtyOptions(int cols, int rows, Map<String, String> envs, String cwd, String user, Duration timeout,
                         Consumer<byte[]> onData) {
    public PtyOptions {
        if (cols < 1 || rows < 1) {
            throw new IllegalArgumentException("cols and rows must be positive");
        }
        envs = Map.copyOf(envs);
        timeout = timeout == null ? CommandOptions.DEFAULT_TIMEOUT : timeout;
    }

    /** An 80x24 terminal with the default timeout. */
    public static PtyOptions of(int cols, int rows, Consumer<byte[]> onData) {
        return new PtyOptions(cols, rows, Map.of(), null, null, CommandOptions.DEFAULT_TIMEOUT, onData);
    }

    public PtyOptions withTimeout(Duration timeout) {
        return new PtyOptions(cols, rows, envs, cwd, user, timeout, onData);
    }

    public PtyOptions withCwd(String cwd) {
        return new PtyOptions(cols, rows, envs, cwd, user, timeout, onData);
    }

    public PtyOptions withUser(String user) {
        return new PtyOptions(cols, rows, envs, cwd, user, timeout, onData);
    }

    public PtyOptions withEnvs(Map<String, String> envs) {
        return new PtyOptions(cols, rows, envs, cwd, user, timeout, onData);
    }
}
