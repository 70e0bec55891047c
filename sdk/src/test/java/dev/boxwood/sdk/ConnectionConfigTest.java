package dev.boxwood.sdk;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConnectionConfigTest {
    @Test
    void defaultsPointAtE2bCloudWithItsSharedAgentHost() {
        ConnectionConfig c = ConnectionConfig.builder(Map.of()).build();
        assertThat(c.apiUrl()).isEqualTo("https://api.e2b.app");
        assertThat(c.envdUrl("abc", null)).isEqualTo("https://sandbox.e2b.app");
        assertThat(c.directUrl("abc", 49999, null)).isEqualTo("https://49999-abc.e2b.app");
        assertThat(c.host("abc", 8080, null)).isEqualTo("8080-abc.e2b.app");
        assertThat(c.apiKey()).isNull();
        assertThat(c.debug()).isFalse();
        assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void otherDomainsUsePerSandboxHostsAndTheSandboxDomainWins() {
        ConnectionConfig c = ConnectionConfig.builder(Map.of("E2B_DOMAIN", "boxwood.test")).build();
        assertThat(c.apiUrl()).isEqualTo("https://api.boxwood.test");
        assertThat(c.envdUrl("abc", null)).isEqualTo("https://49983-abc.boxwood.test");
        assertThat(c.envdUrl("abc", "other.test")).isEqualTo("https://49983-abc.other.test");
        assertThat(c.host("abc", 3000, "other.test")).isEqualTo("3000-abc.other.test");
    }

    @Test
    void sandboxUrlServesEveryPortButNotGetHost() {
        ConnectionConfig c = ConnectionConfig.builder(Map.of(
                "E2B_API_URL", "http://127.0.0.1:3000/",
                "E2B_SANDBOX_URL", "http://127.0.0.1:3000",
                "E2B_DOMAIN", "local.test",
                "E2B_API_KEY", "e2b_00")).build();
        assertThat(c.apiUrl()).isEqualTo("http://127.0.0.1:3000");
        assertThat(c.envdUrl("abc", null)).isEqualTo("http://127.0.0.1:3000");
        assertThat(c.directUrl("abc", 49999, null)).isEqualTo("http://127.0.0.1:3000");
        assertThat(c.host("abc", 49999, null)).isEqualTo("49999-abc.local.test");
        assertThat(c.apiKey()).isEqualTo("e2b_00");
    }

    @Test
    void debugModeTalksToLocalhost() {
        ConnectionConfig c = ConnectionConfig.builder(Map.of("E2B_DEBUG", "TRUE")).build();
        assertThat(c.debug()).isTrue();
        assertThat(c.apiUrl()).isEqualTo("http://localhost:3000");
        assertThat(c.envdUrl("x", null)).isEqualTo("http://localhost:49983");
        assertThat(c.directUrl("x", 49999, null)).isEqualTo("http://localhost:49999");
        assertThat(c.host("x", 8000, null)).isEqualTo("localhost:8000");
    }

    @Test
    void valuesSetInCodeWinOverTheEnvironment() {
        ConnectionConfig c = ConnectionConfig.builder(Map.of("E2B_API_KEY", "e2b_env", "E2B_DEBUG", "true",
                        "E2B_API_URL", "http://env:1"))
                .apiKey("e2b_code").debug(false).apiUrl("http://code:2").build();
        assertThat(c.apiKey()).isEqualTo("e2b_code");
        assertThat(c.debug()).isFalse();
        assertThat(c.apiUrl()).isEqualTo("http://code:2");
        assertThat(c.toBuilder().build().apiUrl()).isEqualTo("http://code:2");
    }

    @Test
    void toStringDoesNotLeakTheKey() {
        ConnectionConfig c = ConnectionConfig.builder(Map.of()).apiKey("e2b_secretsecret").build();
        assertThat(c.toString()).doesNotContain("secret").contains("apiKey=set");
    }

    @Test
    void debugSandboxNeedsNoControlPlane() {
        ConnectionConfig c = ConnectionConfig.builder(Map.of("E2B_DEBUG", "true")).build();
        Sandbox sandbox = Sandbox.builder().config(c).create();
        assertThat(sandbox.sandboxId()).isEqualTo(Sandbox.DEBUG_SANDBOX_ID);
        assertThat(sandbox.getHost(49999)).isEqualTo("localhost:49999");
        assertThat(sandbox.kill()).isTrue();
        assertThat(sandbox.getMetrics()).isEmpty();
    }

    @Test
    void createBodyUsesTheWireNames() {
        var body = Sandbox.builder().template("code-interpreter").timeout(Duration.ofMillis(1500))
                .env("A", "1").metadata("k", "v").allowInternetAccess(false).body();
        assertThat(body.toString()).isEqualTo("{\"templateID\":\"code-interpreter\",\"timeout\":2,"
                + "\"metadata\":{\"k\":\"v\"},\"envVars\":{\"A\":\"1\"},\"allow_internet_access\":false}");
    }
}
