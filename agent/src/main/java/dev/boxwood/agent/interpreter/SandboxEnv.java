package dev.boxwood.agent.interpreter;

import dev.boxwood.agent.Settings;
import dev.boxwood.agent.http.AgentHandler;
import java.util.Map;
import java.util.function.Function;

/**
 * The sandbox-wide env vars {@code /init} set, for a caller's {@code X-Access-Token}: what E2B's interpreter reads
 * from envd's {@code GET /envs} with the caller's token. Here the interpreter runs in the agent's JVM and reads the
 * agent's settings directly; an HTTP round trip to itself cost every execution about a millisecond. A caller without
 * the token gets the last values an authorised caller got (those are in the kernel already), as a refused
 * {@code /envs} left them.
 */
public final class SandboxEnv implements Function<String, Map<String, String>> {
    private final Settings settings;
    private volatile Map<String, String> last = Map.of();

    public SandboxEnv(Settings settings) {
        this.settings = settings;
    }

    @Override
    public Map<String, String> apply(String accessToken) {
        String token = settings.accessToken();
        if (token == null || AgentHandler.constantTimeEquals(token, accessToken)) last = settings.envVars();
        return last;
    }
}
