package dev.boxwood.agent.interpreter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.agent.Agent;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The interpreter reads sandbox-wide env vars from a real agent's /envs, with the caller's access token. */
class SandboxEnvTest {
    @Test
    void readsEnvVarsSetAtInitOnlyWithTheAccessToken() throws Exception {
        try (Agent agent = Agent.start("127.0.0.1", 0, "init-secret")) {
            HttpResponse<String> init = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + agent.port() + "/init"))
                    .header("X-Boxwood-Init-Token", "init-secret")
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"accessToken\":\"access-1\",\"envVars\":{\"FROM_INIT\":\"yes\"}}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(init.statusCode()).as(init.body()).isEqualTo(204);

            SandboxEnv env = new SandboxEnv(agent.port());
            assertThat(env.apply("wrong-token")).isEmpty();
            assertThat(env.apply("access-1")).containsEntry("FROM_INIT", "yes");
            // An unauthorised caller afterwards gets the last values the interpreter was allowed to see.
            assertThat(env.apply(null)).isEqualTo(Map.of("FROM_INIT", "yes"));
        }
    }
}
