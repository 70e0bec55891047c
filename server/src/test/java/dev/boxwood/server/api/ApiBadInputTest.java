package dev.boxwood.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.loopback.LoopbackRuntime;
import dev.boxwood.server.loopback.TestServer;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of bad request gets a 4xx with E2B's error body and leaves nothing behind. */
class ApiBadInputTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static TestServer s;
    static String key;

    @BeforeAll
    static void start() {
        s = new TestServer(dir, new LoopbackRuntime(), c -> c.maxLifetime(Duration.ofHours(1)));
        key = s.newKey("bad-input");
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    static JsonNode error(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("code").asInt()).isEqualTo(status);
        assertThat(body.get("message").asText()).isNotBlank();
        return body;
    }

    @Test
    void missingWrongAndRevokedKeysAre401() throws Exception {
        assertThat(error(s.call("GET", "/v2/sandboxes", null, null), 401).get("message").asText()).contains("X-API-Key");
        error(s.call("GET", "/v2/sandboxes", "e2b_" + "0".repeat(40), null), 401);
        error(s.call("GET", "/v2/sandboxes", "not-a-key", null), 401);
        error(s.call("POST", "/v2/sandboxes", "e2b_" + "1".repeat(40), "{\"templateID\":\"base\"}"), 401);
        String revoked = s.newKey("revoked-team");
        assertThat(s.call("GET", "/v2/sandboxes", revoked, null).statusCode()).isEqualTo(200);
        s.server.teams().revoke(revoked.substring(0, 16));
        error(s.call("GET", "/v2/sandboxes", revoked, null), 401);
        assertThat(s.runtime.started).isEmpty();
    }

    @Test
    void malformedBodiesAre400() throws Exception {
        assertThat(error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":"), 400).get("message").asText())
                .contains("malformed JSON");
        assertThat(error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"bogus\":1}"), 400)
                .get("message").asText()).contains("unknown field 'bogus'");
        assertThat(error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"timeout\":\"soon\"}"), 400)
                .get("message").asText()).contains("timeout");
        assertThat(error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"timeout\":1.5}"), 400)
                .get("message").asText()).contains("timeout");
        error(s.call("POST", "/v2/sandboxes", key, ""), 400);
        error(s.call("POST", "/v2/sandboxes", key, "[1,2]"), 400);
        error(s.call("POST", "/v2/sandboxes", key, "{}"), 400);
        error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"secure\":true}"), 400);
        error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"} trailing"), 400);
        assertThat(s.runtime.started).isEmpty();
    }

    @Test
    void unknownTemplateIs404() throws Exception {
        assertThat(error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"nope\"}"), 404).get("message").asText())
                .contains("nope");
        error(s.call("POST", "/sandboxes", key, "{\"templateID\":\"../../etc\"}"), 404);
        assertThat(s.runtime.started).isEmpty();
    }

    @Test
    void invalidTimeoutsAre400() throws Exception {
        assertThat(error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"timeout\":0}"), 400)
                .get("message").asText()).isEqualTo("Timeout must be greater than 0");
        error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"timeout\":-5}"), 400);
        error(s.call("POST", "/sandboxes", key, "{\"templateID\":\"base\",\"timeout\":3601}"), 400);
        error(s.call("POST", "/sandboxes/whatever/timeout", key, "{\"timeout\":0}"), 400);
        assertThat(s.runtime.started).isEmpty();
    }

    @Test
    void oversizedMetadataAndResourcesAre400() throws Exception {
        String big = "x".repeat(5000);
        assertThat(error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"metadata\":{\"k\":\"" + big + "\"}}"), 400)
                .get("message").asText()).contains("metadata");
        StringBuilder many = new StringBuilder("{\"templateID\":\"base\",\"metadata\":{");
        for (int i = 0; i < 100; i++) many.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
        error(s.call("POST", "/v2/sandboxes", key, many.append("}}").toString()), 400);
        error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"metadata\":{\"k\":5}}"), 400);
        error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"cpuCount\":64}"), 400);
        error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"resources\":{\"memoryMB\":999999}}"), 400);
        error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"envVars\":{\"1BAD\":\"x\"}}"), 400);
        error(s.call("POST", "/v2/sandboxes", key, "x".repeat(2 * 1024 * 1024)), 413);
        assertThat(s.runtime.started).isEmpty();
    }

    @Test
    void optionsThisServerCannotHonourAreRefusedNotIgnored() throws Exception {
        for (String extra : java.util.List.of("\"allow_internet_access\":false", "\"mcp\":{\"x\":{}}",
                "\"volumeMounts\":[{\"name\":\"v\",\"path\":\"/data\"}]",
                "\"network\":{\"denyOut\":[\"0.0.0.0/0\"]}", "\"network\":{\"egressProxy\":{\"address\":\"p:1\"}}",
                "\"iam\":{\"tokens\":{\"t\":{}}}")) {
            JsonNode body = error(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"," + extra + "}"), 400);
            assertThat(body.get("message").asText()).as(extra).contains("not supported");
        }
        assertThat(s.runtime.started).isEmpty();
    }

    @Test
    void badListQueriesAre400() throws Exception {
        error(s.call("GET", "/v2/sandboxes?limit=0", key, null), 400);
        error(s.call("GET", "/v2/sandboxes?limit=101", key, null), 400);
        error(s.call("GET", "/v2/sandboxes?limit=abc", key, null), 400);
        error(s.call("GET", "/v2/sandboxes?state=sleeping", key, null), 400);
        error(s.call("GET", "/v2/sandboxes?nextToken=%21%21", key, null), 400);
        error(s.call("GET", "/v2/sandboxes?order=sideways", key, null), 400);
    }

    @Test
    void unknownEndpointsAndMethodsGetJsonErrors() throws Exception {
        error(s.call("GET", "/nope", key, null), 404);
        error(s.call("PUT", "/v2/sandboxes", key, "{}"), 405);
        error(s.call("GET", "/sandboxes/abc/whatever", key, null), 404);
        error(s.call("DELETE", "/sandboxes/doesnotexist", key, null), 404);
        error(s.call("GET", "/sandboxes/doesnotexist", key, null), 404);
    }

    @Test
    void jettyLevelErrorsAreJsonToo() throws Exception {
        String oversized = raw("GET /v2/sandboxes HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "x".repeat(64 * 1024)
                + "\r\nConnection: close\r\n\r\n");
        assertThat(oversized).startsWith("HTTP/1.1 431").contains("\"code\":431");
        String badChunk = raw("POST /v2/sandboxes HTTP/1.1\r\nHost: localhost\r\nX-API-Key: " + key
                + "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n");
        assertThat(badChunk).startsWith("HTTP/1.1 400").contains("\"code\":400");
    }

    static String raw(String request) throws Exception {
        try (java.net.Socket socket = new java.net.Socket(s.server.uri().getHost(), s.server.uri().getPort())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void chunkedBodiesAndUnderscoreHeadersAreAccepted() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(s.uri("/v2/sandboxes"))
                .header("X-API-Key", key)
                .header("Content-Type", "application/json")
                .header("lang_version", "v20.0.0")
                .header("sdk_runtime", "node")
                // An InputStream body has no known length, so it goes chunked, as Node's fetch sends it.
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(
                        "{\"templateID\":\"base\",\"timeout\":60}".getBytes(StandardCharsets.UTF_8))))
                .build();
        HttpResponse<String> r = s.http.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String id = JSON.readTree(r.body()).get("sandboxID").asText();
        assertThat(s.call("DELETE", "/sandboxes/" + id, key, null).statusCode()).isEqualTo(204);
        s.runtime.started.clear();
    }

    @Test
    void runtimeFailureIs500AndCleansUp() throws Exception {
        LoopbackRuntime runtime = new LoopbackRuntime();
        runtime.failStartWith = "no space left for the writable layer";
        try (TestServer failing = new TestServer(dir.resolve("failing"), runtime, c -> {})) {
            String k = failing.newKey("t");
            JsonNode body = error(failing.call("POST", "/v2/sandboxes", k, "{\"templateID\":\"base\"}"), 500);
            assertThat(body.get("message").asText()).contains("no space left for the writable layer");
            assertThat(runtime.started).hasSize(1);
            assertThat(runtime.destroyed).containsExactlyElementsOf(runtime.started);
            assertThat(runtime.boxes).isEmpty();
            assertThat(JSON.readTree(failing.call("GET", "/v2/sandboxes", k, null).body())).isEmpty();
        }
    }
}
