package dev.boxwood.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.loopback.LoopbackRuntime;
import dev.boxwood.server.loopback.TestServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API's token buckets: a key over its limit gets 429 with Retry-After and E2B's error body, other keys are not
 * affected, floods without a valid key are limited per client IP, and 0 turns limiting off. The rate is tiny (one
 * token per 1000 s) so that no refill can happen during the test, whatever the machine's load.
 */
class RateLimitTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int BURST = 5;

    static JsonNode tooMany(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
        assertThat(r.headers().firstValue("Retry-After")).hasValueSatisfying(v ->
                assertThat(Long.parseLong(v)).isPositive());
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("code").asInt()).isEqualTo(429);
        assertThat(body.get("message").asText()).contains("rate limit");
        return body;
    }

    @Test
    void aKeyOverItsBurstGets429AndOtherKeysDoNot(@TempDir Path dir) throws Exception {
        try (TestServer s = new TestServer(dir, new LoopbackRuntime(), c -> c.rateLimit(0.001, BURST))) {
            String a = s.newKey("flooder");
            String b = s.newKey("neighbour");
            for (int i = 0; i < BURST; i++) {
                assertThat(s.call("GET", "/v2/sandboxes", a, null).statusCode()).isEqualTo(200);
            }
            tooMany(s.call("GET", "/v2/sandboxes", a, null));
            // A rate-limited create does not start anything.
            tooMany(s.call("POST", "/v2/sandboxes", a, "{\"templateID\":\"base\"}"));
            assertThat(s.runtime.started).isEmpty();
            // The other team's key has its own bucket.
            assertThat(s.call("GET", "/v2/sandboxes", b, null).statusCode()).isEqualTo(200);
            // The health check is never limited (load balancers poll it).
            assertThat(s.call("GET", "/health", null, null).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void requestsWithoutAValidKeyAreLimitedPerClientIp(@TempDir Path dir) throws Exception {
        try (TestServer s = new TestServer(dir, new LoopbackRuntime(), c -> c.rateLimit(0.001, BURST))) {
            String valid = s.newKey("legit");
            for (int i = 0; i < BURST; i++) {
                // Missing and wrong keys share the caller's IP bucket: rotating guesses does not reset it.
                String guess = i % 2 == 0 ? null : "e2b_" + String.format("%040d", i);
                assertThat(s.call("GET", "/v2/sandboxes", guess, null).statusCode()).isEqualTo(401);
            }
            tooMany(s.call("GET", "/v2/sandboxes", null, null));
            tooMany(s.call("GET", "/v2/sandboxes", "e2b_" + "f".repeat(40), null));
            // A valid key from the same IP is charged to its own bucket, not the exhausted IP one.
            assertThat(s.call("GET", "/v2/sandboxes", valid, null).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void zeroTurnsLimitingOff(@TempDir Path dir) throws Exception {
        try (TestServer s = new TestServer(dir, new LoopbackRuntime(), c -> c.rateLimit(0, 1))) {
            String a = s.newKey("unlimited");
            for (int i = 0; i < 50; i++) {
                assertThat(s.call("GET", "/v2/sandboxes", a, null).statusCode()).isEqualTo(200);
                assertThat(s.call("GET", "/v2/sandboxes", null, null).statusCode()).isEqualTo(401);
            }
        }
    }

    @Test
    void theDefaultIsOnAndGenerous() {
        var config = dev.boxwood.server.Config.defaults();
        assertThat(config.rateLimit()).isPositive();
        assertThat(config.rateBurst()).isGreaterThanOrEqualTo(50);
    }
}
