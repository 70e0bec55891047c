package dev.boxwood.server.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.loopback.LoopbackRuntime;
import dev.boxwood.server.loopback.TestServer;
import dev.boxwood.server.router.SandboxRouter;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Signed {@code /files} URLs through the server, without routing headers: the router finds the sandbox whose
 * access token made the signature. A URL signed for sandbox A reaches A and only A; the same URL with any one part
 * changed (path, user, expiry, method, signature) reaches no sandbox at all.
 */
class SignedRoutingFuzzTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static TestServer s;
    static String a;
    static String tokenA;

    @BeforeContainer
    static void start() throws Exception {
        s = new TestServer(Files.createTempDirectory("boxwood-sigfuzz-"), new LoopbackRuntime(), c -> c.rateLimit(0, 1));
        String key = s.newKey("signed");
        JsonNode made = JSON.readTree(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"}").body());
        a = made.get("sandboxID").asText();
        tokenA = made.get("envdAccessToken").asText();
        // A second sandbox, so "reaches only A" means something.
        assertThat(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"}").statusCode()).isEqualTo(201);
    }

    @AfterContainer
    static void stop() {
        if (s != null) s.close();
    }

    record Tamper(String part, String value) {}

    @Provide
    Arbitrary<Tamper> tampers() {
        Arbitrary<String> junk = Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(8);
        return Arbitraries.oneOf(
                junk.map(v -> new Tamper("path", "/home/user/f.txt" + v)),
                Arbitraries.of("/home/user/../user/f.txt", "/home/user//f.txt", "f.txt", "~/f.txt", "/etc/shadow")
                        .map(v -> new Tamper("path", v)),
                Arbitraries.of("root", "", "USER").map(v -> new Tamper("username", v)),
                Arbitraries.longs().between(1, 100_000).map(d -> new Tamper("expiration", Long.toString(d))),
                Arbitraries.of("drop-expiration", "post").map(v -> new Tamper(v, "")),
                Arbitraries.integers().between(3, 45).map(i -> new Tamper("signature", Integer.toString(i))));
    }

    @Property(tries = 150)
    void aSignedUrlReachesItsOwnSandboxAndATamperedOneNone(@ForAll("tampers") Tamper t) {
        long expiry = Instant.now().getEpochSecond() + 600;
        String path = "/home/user/f.txt";
        String user = "user";
        String signature = SandboxRouter.sign(path, "read", user, tokenA, Long.toString(expiry));
        HttpResponse<String> ok = s.call("GET", url(path, user, signature, Long.toString(expiry)), null, null);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).contains("sandbox=" + a + "\n");

        String method = "GET";
        String expiration = Long.toString(expiry);
        switch (t.part()) {
            case "path" -> path = t.value();
            case "username" -> user = t.value();
            case "expiration" -> expiration = Long.toString(expiry + Long.parseLong(t.value()));
            case "drop-expiration" -> expiration = null;
            case "post" -> method = "POST";
            case "signature" -> {
                int i = Integer.parseInt(t.value());
                char c = signature.charAt(i) == 'A' ? 'B' : 'A';
                signature = signature.substring(0, i) + c + signature.substring(i + 1);
            }
            default -> throw new IllegalStateException(t.part());
        }
        HttpResponse<String> r = s.call(method, url(path, user, signature, expiration), null, null);
        assertThat(r.statusCode()).as(t + " -> " + r.body()).isEqualTo(401);
        assertThat(r.body()).doesNotContain("sandbox=");
    }

    static String url(String path, String user, String signature, String expiration) {
        return "/files?path=" + enc(path) + "&username=" + enc(user) + "&signature=" + enc(signature)
                + (expiration == null ? "" : "&signature_expiration=" + expiration);
    }

    static String enc(String v) {
        return URLEncoder.encode(v, StandardCharsets.UTF_8);
    }
}
