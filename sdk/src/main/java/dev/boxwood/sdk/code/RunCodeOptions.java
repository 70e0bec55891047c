package dev.boxwood.sdk.code;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Options of {@code runCode}. Give a language or a context, not both; with neither the code runs in the default
 * Python context.
 *
 * <pre>{@code
 * RunCodeOptions opts = RunCodeOptions.builder().language("python").onStdout(System.out::print).build();
 * }</pre>
 *
 * @param language       the language, run in that language's default context; or null
 * @param context        the context to run in; or null
 * @param envs           environment variables for this execution only
 * @param timeout        how long to wait for the execution ({@link Duration#ZERO} = no limit); default 60 s.
 *                       When it passes the SDK disconnects and the interpreter interrupts the code
 * @param requestTimeout how long to wait for the interpreter to answer at all; null = the connection's
 * @param onStdout       called with each stdout chunk
 * @param onStderr       called with each stderr chunk
 * @param onResult       called with each result
 * @param onError        called with the code's error
 */
public record RunCodeOptions(String language, CodeContext context, Map<String, String> envs, Duration timeout,
                             Duration requestTimeout, Consumer<String> onStdout, Consumer<String> onStderr,
                             Consumer<Result> onResult, Consumer<ExecutionError> onError) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    public RunCodeOptions {
        if (language != null && context != null) {
            throw new IllegalArgumentException("give a language or a context, not both");
        }
        envs = Map.copyOf(envs);
        timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
    }

    public static RunCodeOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link RunCodeOptions}. */
    public static final class Builder {
        private String language;
        private CodeContext context;
        private final Map<String, String> envs = new LinkedHashMap<>();
        private Duration timeout = DEFAULT_TIMEOUT;
        private Duration requestTimeout;
        private Consumer<String> onStdout;
        private Consumer<String> onStderr;
        private Consumer<Result> onResult;
        private Consumer<ExecutionError> onError;

        public Builder language(String language) {
            this.language = language;
            return this;
        }

        public Builder context(CodeContext context) {
            this.context = context;
            return this;
        }

        public Builder env(String name, String value) {
            envs.put(name, value);
            return this;
        }

        public Builder envs(Map<String, String> envs) {
            this.envs.putAll(envs);
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public Builder requestTimeout(Duration requestTimeout) {
            this.requestTimeout = requestTimeout;
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

        public Builder onResult(Consumer<Result> onResult) {
            this.onResult = onResult;
            return this;
        }

        public Builder onError(Consumer<ExecutionError> onError) {
            this.onError = onError;
            return this;
        }

        public RunCodeOptions build() {
            return new RunCodeOptions(language, context, envs, timeout, requestTimeout, onStdout, onStderr, onResult,
                    onError);
        }
    }
}
