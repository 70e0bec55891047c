package dev.boxwood.agent.interpreter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.agent.Agent;
import dev.boxwood.agent.Settings;
import dev.boxwood.agent.users.Accounts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The interpreter sees the env vars a real agent's /init set, only with the access token, and later changes too. */
class SandboxEnvTest {
    @Test
    void readsEnvVarsSetAtInitOnlyWithTheAccessToken() throws Exception {
        Accounts accounts = new Accounts();
        Settings settings = Agent.initialSettings(accounts);
        SandboxEnv env = new SandboxEnv(settings);
        try (Agent agent = Agent.start("127.0.0.1", 0, "init-secret", accounts, settings, null)) {
            assertThat(init(agent, "{\"accessToken\":\"access-1\",\"envVars\":{\"FROM_INIT\":\"yes\"}}"))
                    .isEqualTo(204);

            assertThat(env.apply("wrong-token")).isEmpty();
            assertThat(env.apply("access-1")).containsEntry("FROM_INIT", "yes");
            // An unauthorised caller afterwards gets the last values the interpreter was allowed to see.
            assertThat(env.apply(null)).isEqualTo(Map.of("FROM_INIT", "yes"));

            // A later /init (a connect or resume that adds env vars) shows at the next execution.
            assertThat(init(agent, "{\"envVars\":{\"LATER\":\"1\"}}")).isEqualTo(204);
            assertThat(env.apply("access-1")).isEqualTo(Map.of("FROM_INIT", "yes", "LATER", "1"));
            assertThat(env.apply("access-2")).isEqualTo(Map.of("FROM_INIT", "yes", "LATER", "1"));
            assertThat(init(agent, "{\"accessToken\":\"access-2\",\"envVars\":{\"NEWEST\":\"2\"}}")).isEqualTo(204);
            assertThat(env.apply("access-1")).doesNotContainKey("NEWEST");
            assertThat(env.apply("access-2")).containsEntry("NEWEST", "2");
        }
    }

    @Test
    void beforeAnyTokenIsSetEveryCallerSeesTheEnvVars() {
        Settings settings = new Settings("root");
        settings.apply(new dev.boxwood.protocol.envd.InitRequest(null, Map.of("EARLY", "1"), null, null));
        assertThat(new SandboxEnv(settings).apply(null)).isEqualTo(Map.of("EARLY", "1"));
    }

    private static int init(Agent agent, String body) throws Exception {
        HttpResponse<String> init = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + agent.port() + "/init"))
                .header("X-Boxwood-Init-Token", "init-secret")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(), HttpResponse.BodyHandlers.ofString());
        return init.statusCode();
    }
}
