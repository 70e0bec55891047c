package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.BoxwoodServer;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;

/**
 * What a test over real Boxwood servers with real crun sandboxes starts from: a {@link RealServer} of its own per
 * test (skipped where sandboxes cannot run), removed afterwards, and the API calls every such test makes.
 */
@Tag("sandbox")
abstract class RealServerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String DOMAIN = "boxwood.test";
    RealServer real;

    @BeforeEach
    void startRealServer() {
        RealServer.assumeSandboxesWork();
        real = newRealServer();
    }

    /** The test's server directories and runtime (crun unless a subclass runs another). */
    RealServer newRealServer() {
        return new RealServer();
    }

    @AfterEach
    void cleanUpRealServer() {
        if (real != null) real.cleanUp();
    }

    /** Polls {@code condition} until it holds; fails after two minutes (a loaded machine is slow, not broken). */
    static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        java.time.Instant deadline = java.time.Instant.now().plusSeconds(120);
        while (!condition.getAsBoolean()) {
            if (java.time.Instant.now().isAfter(deadline)) throw new AssertionError("gave up waiting: " + what);
            Thread.sleep(50);
        }
    }

    /** The response's JSON body (null when empty), once its status is {@code status}. */
    static JsonNode json(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        return r.body().isEmpty() ? null : JSON.readTree(r.body());
    }

    /** Creates a sandbox with the request body {@code body}; its id. */
    String create(BoxwoodServer server, String key, String body) throws Exception {
        return json(real.call(server, "POST", "/v2/sandboxes", key, body), 201).get("sandboxID").asText();
    }

    /** Creates a sandbox of the template (or snapshot) with nothing else asked for; its id. */
    String createFrom(BoxwoodServer server, String key, String template) throws Exception {
        return create(server, key, "{\"templateID\":\"" + template + "\"}");
    }

    /** The sandbox's agent access token. */
    String token(BoxwoodServer server, String key, String id) throws Exception {
        return json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200).get("envdAccessToken").asText();
    }

    /** A request to the sandbox's agent through the server's router. */
    HttpResponse<String> agent(BoxwoodServer server, String id, String method, String path, String token, String body) {
        return real.call(server, method, path, null, body, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983",
                "X-Access-Token", token, "Content-Type", "application/octet-stream");
    }
}
