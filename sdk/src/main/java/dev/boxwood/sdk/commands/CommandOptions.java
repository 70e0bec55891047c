package dev.boxwood.sdk.commands;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Options of {@link Commands#run(String, CommandOptions)} and {@link Commands#runBackground}.
 *
 * <pre>{@code
 * CommandOptions opts = CommandOptions.builder()
 *         .cwd("/tmp").env("DEBUG", "1").timeout(Duration.ofMinutes(5))
 *         .onStdout(System.out::print).build();
 * }</pre>
 *
 * @param envs     extra environment variables for this command only
 * @param cwd      the working directory, or null for the user's home
 * @param user     the user to run as, or null for the sandbox's default user
 * @param timeout  how long the command may run before the agent kills it ({@link Duration#ZERO} = no limit);
 *                 default 60 s as in E2B
 * @param stdin    keep stdin open so {@link CommandHandle#sendStdin} works; default false (stdin is
 *                 {@code /dev/null})
 * @param onStdout called with each stdout chunk as it arrives, or null
 * @param onStderr called with each stderr chunk as it arrives, or null
 */
public record CommandOptions(Map<String, String> envs, String cwd, String user, Duration timeout, boolean stdin,
                             Consumer<String> onStdout, Consumer<String> onStderr) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    public CommandOptions {
        envs = Map.copyOf(envs);
        if (timeout == null) {
            timeout = DEFAULT_TIMEOUT;
        }
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative");
        }
    }

    public static CommandOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link CommandOptions}. */
    public static final class Builder {
        private final Map<String, String> envs = new LinkedHashMap<>();
        private String cwd;
        private String user;
        private Duration timeout = DEFAULT_TIMEOUT;
        private boolean stdin;
        private Consumer<String> onStdout;
        private Consumer<String> onStderr;

        public Builder env(String name, String value) {
            envs.put(name, value);
            return this;
        }

        public Builder envs(Map<String, String> envs) {
            this.envs.putAll(envs);
            return this;
        }

        public Builder cwd(String cwd) {
            this.cwd = cwd;
            return this;
        }

        public Builder user(String user) {
            this.user = user;
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public Builder stdin(boolean stdin) {
            this.stdin = stdin;
            return this;
        }

        public Builder onStdout(Consumer<String> onStdout) {
            this.onStdout = onStdout;
            return this;
        }

        public Builder onStderr(Consumer<String> onStderr) {
            this.onStderr = onStderr;
            return this;
        }

        public CommandOptions build() {
            return new CommandOptions(envs, cwd, user, timeout, stdin, onStdout, onStderr);
        }
    }
}
