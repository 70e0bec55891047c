package dev.boxwood.server.router;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.loopback.LoopbackRuntime;
import dev.boxwood.server.loopback.TestServer;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sandbox traffic reaches the right sandbox port by headers, by Host and by signature, streamed both ways. */
class RoutingTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String DOMAIN = "boxwood.test";
    @TempDir
    static Path dir;
    static TestServer s;
    static String key;
    static String a;
    static String b;

    @BeforeAll
    static void start() throws Exception {
        s = new TestServer(dir, new LoopbackRuntime(), c -> c.domain(DOMAIN));
        key = s.newKey("routing");
        a = JSON.readTree(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"}").body()).get("sandboxID").asText();
        b = JSON.readTree(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"}").body()).get("sandboxID").asText();
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    static String token(String id) {
        return s.runtime.boxes.get(id).accessToken;
    }

    @Test
    void headersRouteToTheSandboxWithHeadersQueryAndBodyIntact() {
        HttpResponse<String> r = s.call("POST", "/process.Process/List?x=1", null, "{\"hello\":1}",
                "E2b-Sandbox-Id", a, "E2b-Sandbox-Port", "49983", "X-Access-Token", token(a), "lang_version", "v20");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("sandbox=" + a, "method=POST", "path=/process.Process/List", "query=x=1",
                "token-ok=true", "lang_version=v20", "body={\"hello\":1}");
        // The agent's /health answers 204 through the router; the control plane's /health would be 200.
        assertThat(s.call("GET", "/health", null, null, "E2b-Sandbox-Id", b, "E2b-Sandbox-Port", "49983").statusCode()).isEqualTo(204);
    }

    @Test
    void privatePortsNeedTheTrafficToken() throws Exception {
        JsonNode created = JSON.readTree(s.call("POST", "/v2/sandboxes", key,
                "{\"templateID\":\"base\",\"network\":{\"allowPublicTraffic\":false,\"allowOut\":[]}}").body());
        String id = created.get("sandboxID").asText();
        String traffic = created.get("trafficAccessToken").asText();
        assertThat(traffic).isNotBlank().isNotEqualTo(created.get("envdAccessToken").asText());
        HttpResponse<String> denied = s.call("GET", "/", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "8080");
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(s.call("GET", "/", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "8080",
                "E2B-Traffic-Access-Token", "wrong").statusCode()).isEqualTo(403);
        // With the token the request goes through (and finds the port closed).
        HttpResponse<String> allowed = s.call("GET", "/", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "8080",
                "E2B-Traffic-Access-Token", traffic);
        assertThat(allowed.body()).contains("port is not open");
        // The agent's port has its own access token and needs no traffic token.
        assertThat(s.call("GET", "/health", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983").statusCode()).isEqualTo(204);
        assertThat(JSON.readTree(s.call("POST", "/v2/sandboxes/" + a + "/connect", key, "{}").body()).has("trafficAccessToken")).isFalse();
        assertThat(s.call("DELETE", "/sandboxes/" + id, key, null).statusCode()).isEqualTo(204);
    }

    @Test
    void oneHeaderAloneIs400() throws Exception {
        HttpResponse<String> r = s.call("GET", "/health", null, null, "E2b-Sandbox-Id", a);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).get("code").asInt()).isEqualTo(400);
        assertThat(s.call("GET", "/health", null, null, "E2b-Sandbox-Port", "49983").statusCode()).isEqualTo(400);
        assertThat(s.call("GET", "/health", null, null, "E2b-Sandbox-Id", a, "E2b-Sandbox-Port", "http").statusCode()).isEqualTo(400);
    }

    @Test
    void unknownSandboxAndClosedPortAre502WithE2bBodies() throws Exception {
        HttpResponse<String> unknown = s.call("GET", "/health", null, null, "E2b-Sandbox-Id", "nosuchsandbox0000000", "E2b-Sandbox-Port", "49983");
        assertThat(unknown.statusCode()).isEqualTo(502);
        assertThat(JSON.readTree(unknown.body())).isEqualTo(JSON.readTree(
                "{\"sandboxId\":\"nosuchsandbox0000000\",\"message\":\"The sandbox was not found\",\"code\":502}"));
        HttpResponse<String> closed = s.call("GET", "/", null, null, "E2b-Sandbox-Id", a, "E2b-Sandbox-Port", "8080");
        assertThat(closed.statusCode()).isEqualTo(502);
        assertThat(JSON.readTree(closed.body())).isEqualTo(JSON.readTree(
                "{\"sandboxId\":\"" + a + "\",\"message\":\"The sandbox is running but port is not open\",\"port\":8080,\"code\":502}"));
    }

    @Test
    void hostNameRoutesWhenItNamesTheServedDomain() throws Exception {
        assertThat(raw("49983-" + b + "." + DOMAIN, "/echo")).startsWith("HTTP/1.1 200").contains("sandbox=" + b);
        assertThat(raw("8080-" + b + "." + DOMAIN, "/echo")).startsWith("HTTP/1.1 502").contains("port is not open");
        assertThat(raw("49983-nosuchsandbox." + DOMAIN, "/echo")).startsWith("HTTP/1.1 502").contains("The sandbox was not found");
        // Another domain is not sandbox traffic: the control plane answers (and has no /echo).
        assertThat(raw("49983-" + b + ".elsewhere.test", "/echo")).startsWith("HTTP/1.1 404").contains("no such endpoint");
    }

    /** Sends a request with a chosen Host header, which java.net.http does not allow. */
    static String raw(String host, String path) throws Exception {
        try (Socket socket = new Socket(s.server.uri().getHost(), s.server.uri().getPort())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void signedFilesUrlsFindTheirSandboxWithoutHeaders() throws Exception {
        String exp = String.valueOf(Instant.now().plusSeconds(60).getEpochSecond());
        String sig = SandboxRouter.sign("/home/user/f.txt", "read", "", token(b), exp);
        HttpResponse<String> r = s.call("GET", "/files?path=" + URLEncoder.encode("/home/user/f.txt", StandardCharsets.UTF_8)
                + "&signature=" + enc(sig) + "&signature_expiration=" + exp, null, null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("sandbox=" + b, "path=/files");
        String writeSig = SandboxRouter.sign("up.bin", "write", "root", token(a), null);
        HttpResponse<String> w = s.call("POST", "/files?path=up.bin&username=root&signature=" + enc(writeSig), null, "data");
        assertThat(w.body()).contains("sandbox=" + a, "method=POST", "body=data");
        HttpResponse<String> bad = s.call("GET", "/files?path=x&signature=v1_forged", null, null);
        assertThat(bad.statusCode()).isEqualTo(401);
        assertThat(JSON.readTree(bad.body()).get("code").asInt()).isEqualTo(401);
        // A read signature does not authorise a write.
        String readSig = SandboxRouter.sign("up.bin", "read", "root", token(a), null);
        assertThat(s.call("POST", "/files?path=up.bin&username=root&signature=" + enc(readSig), null, "x").statusCode()).isEqualTo(401);
    }

    /** As the SDK's URLSearchParams does: base64 '+' and '/' must not arrive as a space and a separator. */
    static String enc(String v) {
        return URLEncoder.encode(v, StandardCharsets.UTF_8);
    }

    @Test
    void responsesStreamBeforeTheyEnd() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(s.uri("/stream"))
                .header("E2b-Sandbox-Id", a).header("E2b-Sandbox-Port", "49983").build();
        HttpResponse<java.io.InputStream> r = s.http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            // The sandbox holds back its second chunk until we have seen the first: a buffering proxy would hang here.
            String first = CompletableFuture.supplyAsync(() -> {
                try {
                    return reader.readLine();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).get(30, TimeUnit.SECONDS);
            assertThat(first).isEqualTo("first");
            s.runtime.boxes.get(a).streamGate.countDown();
            assertThat(reader.readLine()).isEqualTo("second");
        }
    }

    @Test
    void chunkedUploadsStreamThrough() throws Exception {
        byte[] big = "0123456789abcdef".repeat(256 * 1024).getBytes(StandardCharsets.US_ASCII); // 4 MiB
        HttpRequest request = HttpRequest.newBuilder(s.uri("/upload")).timeout(Duration.ofSeconds(60))
                .header("E2b-Sandbox-Id", b).header("E2b-Sandbox-Port", "49983")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build();
        HttpResponse<String> r = s.http.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("sandbox=" + b).hasSize(r.body().indexOf("body=") + 5 + big.length);
    }

    @Test
    void routerDecisions() {
        SandboxRouter router = new SandboxRouter("example.org", java.util.List::of);
        SandboxRouter.Query none = n -> null;
        assertThat(router.route(new SandboxRouter.Incoming("GET", "localhost", "/health", "abc", "49983", none)))
                .isEqualTo(new Route.Sandbox("abc", 49983));
        assertThat(router.route(new SandboxRouter.Incoming("GET", "49999-abc.example.org", "/execute", null, null, none)))
                .isEqualTo(new Route.Sandbox("abc", 49999));
        assertThat(router.route(new SandboxRouter.Incoming("GET", "api.example.org", "/v2/sandboxes", null, null, none)))
                .isInstanceOf(Route.ControlPlane.class);
        // Shaped like a sandbox host but with no valid port: refused, not handed to the control plane.
        assertThat(router.route(new SandboxRouter.Incoming("GET", "99999-abc.example.org", "/", null, null, none)))
                .isEqualTo(new Route.Invalid(400, "invalid port in the sandbox host '99999-abc.example.org'"));
        assertThat(router.route(new SandboxRouter.Incoming("GET", "0-abc.example.org", "/", null, null, none)))
                .isInstanceOf(Route.Invalid.class);
        // Another domain's host is not sandbox traffic.
        assertThat(router.route(new SandboxRouter.Incoming("GET", "8080-abc.other.org", "/", null, null, none)))
                .isInstanceOf(Route.ControlPlane.class);
        assertThat(router.route(new SandboxRouter.Incoming("GET", "localhost", "/", null, "0", none)))
                .isInstanceOf(Route.Invalid.class);
    }
}
