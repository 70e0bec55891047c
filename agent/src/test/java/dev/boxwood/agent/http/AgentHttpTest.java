package dev.boxwood.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.agent.testing.ConnectClient;
import dev.boxwood.agent.testing.TestAgent;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** /health, /init and the access-token gate, /envs, /metrics. */
class AgentHttpTest {
    private static HttpResponse<String> send(ConnectClient c, HttpRequest.Builder b) throws Exception {
        return c.http().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest.Builder req(ConnectClient c, String path) {
        return HttpRequest.newBuilder(URI.create(c.base() + path));
    }

    @Test
    void initNeedsTheInitTokenAndThenEverythingButHealthNeedsTheAccessToken() throws Exception {
        try (TestAgent agent = TestAgent.startUninitialised()) {
            ConnectClient c = agent.client();
            assertThat(send(c, req(c, "/health")).statusCode()).isEqualTo(204);
            // before /init there is no token to check (envd behaves the same)
            assertThat(c.unary("process.Process/List", "{}").status()).isEqualTo(200);

            String body = "{\"accessToken\":\"secret-a\",\"envVars\":{\"K\":\"V\"},\"defaultUser\":\"user\"}";
            assertThat(send(c, req(c, "/init").POST(HttpRequest.BodyPublishers.ofString(body))).statusCode())
                    .isEqualTo(401);
            var wrong = send(c, req(c, "/init").header("X-Boxwood-Init-Token", "nope")
                    .POST(HttpRequest.BodyPublishers.ofString(body)));
            assertThat(wrong.statusCode()).isEqualTo(401);
            assertThat(ConnectClient.JSON.readTree(wrong.body()).path("code").asInt()).isEqualTo(401);
            assertThat(send(c, req(c, "/init").header("X-Boxwood-Init-Token", TestAgent.INIT_TOKEN)
                    .POST(HttpRequest.BodyPublishers.ofString("{not json"))).statusCode()).isEqualTo(400);
            assertThat(send(c, req(c, "/init").header("X-Boxwood-Init-Token", TestAgent.INIT_TOKEN)
                    .POST(HttpRequest.BodyPublishers.ofString(body))).statusCode()).isEqualTo(204);

            assertThat(send(c, req(c, "/health")).statusCode()).isEqualTo(204);
            ConnectClient.Reply denied = c.unary("process.Process/List", "{}");
            assertThat(denied.status()).isEqualTo(401);
            assertThat(denied.raw()).isEqualTo("{\"code\":401,\"message\":\"unauthorized access, please provide a "
                    + "valid access token or method signing if supported\"}");
            assertThat(send(c, req(c, "/envs")).statusCode()).isEqualTo(401);
            assertThat(send(c, req(c, "/envs").header("X-Access-Token", "secret-b")).statusCode()).isEqualTo(401);

            var envs = send(c, req(c, "/envs").header("X-Access-Token", "secret-a"));
            assertThat(envs.statusCode()).isEqualTo(200);
            assertThat(ConnectClient.JSON.readTree(envs.body()).path("K").asText()).isEqualTo("V");
            c.accessToken("secret-a");
            assertThat(c.unary("process.Process/List", "{}").status()).isEqualTo(200);
        }
    }

    @Test
    void metricsReportCpuMemoryAndDisk() throws Exception {
        try (TestAgent agent = TestAgent.start()) {
            ConnectClient c = agent.client();
            var r = send(c, req(c, "/metrics").header("X-Access-Token", TestAgent.ACCESS_TOKEN));
            assertThat(r.statusCode()).isEqualTo(200);
            var m = ConnectClient.JSON.readTree(r.body());
            assertThat(m.path("cpu_count").asInt()).isPositive();
            assertThat(m.path("mem_total").asLong()).isPositive();
            assertThat(m.path("mem_used").asLong()).isPositive().isLessThanOrEqualTo(m.path("mem_total").asLong());
            assertThat(m.path("disk_total").asLong()).isPositive();
            assertThat(m.path("disk_used").asLong()).isPositive().isLessThanOrEqualTo(m.path("disk_total").asLong());
            assertThat(m.path("ts").asLong()).isPositive();
            assertThat(m.has("cpu_used_pct")).isTrue();
        }
    }

    @Test
    void unknownPathsAnswerWithTheErrorShape() throws Exception {
        try (TestAgent agent = TestAgent.start()) {
            ConnectClient c = agent.client();
            var r = send(c, req(c, "/nothing/here").header("X-Access-Token", TestAgent.ACCESS_TOKEN));
            assertThat(r.statusCode()).isEqualTo(404);
            assertThat(ConnectClient.JSON.readTree(r.body()).path("code").asInt()).isEqualTo(404);
            var preflight = send(c, req(c, "/files").method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                    .header("Origin", "http://example.test").header("Access-Control-Request-Method", "POST"));
            assertThat(preflight.statusCode()).isEqualTo(204);
            assertThat(preflight.headers().firstValue("access-control-allow-origin")).contains("*");
        }
    }
}
