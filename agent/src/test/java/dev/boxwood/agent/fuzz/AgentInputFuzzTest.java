package dev.boxwood.agent.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.agent.testing.ConnectClient;
import dev.boxwood.agent.testing.TestAgent;
import dev.boxwood.protocol.envd.FileSignatures;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * A real agent (in this JVM, as root, like in a sandbox) fed hostile input: arbitrary paths (traversal, {@code ~},
 * NUL, long, odd Unicode) to the filesystem service and to {@code /files}, mangled multipart uploads, tampered
 * signed URLs, and garbage Connect bodies. Never a 500 or an internal error, never a signature that lets anything
 * else through. The agent runs on the host here, so every generated request is read-only except uploads, whose
 * target path is always a file in a scratch directory.
 */
class AgentInputFuzzTest {
    static TestAgent agent;
    static ConnectClient c;
    static Path scratch;
    static Path readable;

    @BeforeContainer
    static void start() throws Exception {
        agent = TestAgent.start();
        c = agent.client();
        scratch = TestAgent.scratch("fuzz");
        readable = scratch.resolve("readable.txt");
        Files.writeString(readable, "signed content");
        new ProcessBuilder("chown", TestAgent.USER + ":" + TestAgent.USER, readable.toString()).start().waitFor();
    }

    @AfterContainer
    static void stop() throws Exception {
        if (agent != null) agent.close();
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static String json(String s) throws Exception {
        return ConnectClient.JSON.writeValueAsString(s);
    }

    /** Paths made of the pieces traversal and parsing bugs like. */
    @Provide
    Arbitrary<String> paths() {
        Arbitrary<String> piece = Arbitraries.oneOf(
                Arbitraries.of("..", ".", "~", "", "/", "//", "etc", "passwd", "proc", "self", "root", "home", "user",
                        "%2e%2e", "..\\", "\u0000", "\n", "\u202e", "\uFFFF", "a b", ":", "*", "?", "#", "%00", "con",
                        "\ud83d\ude00", "..." , "~user", "~root"),
                Arbitraries.strings().ofMaxLength(12),
                Arbitraries.strings().withChars('a', '.', '/', '~').ofMaxLength(40),
                Arbitraries.just("x".repeat(300)));
        return piece.list().ofMaxSize(8).map(parts -> String.join("/", parts))
                .map(p -> p.length() > 5000 ? p.substring(0, 5000) : p);
    }

    @Property(tries = 200)
    void filesystemServiceAnswersArbitraryPathsWithoutInternalErrors(@ForAll("paths") String path) throws Exception {
        for (String method : List.of("Stat", "ListDir")) {
            String body = method.equals("ListDir") ? "{\"path\":" + json(path) + ",\"depth\":1}" : "{\"path\":" + json(path) + "}";
            ConnectClient.Reply r = c.unary("filesystem.Filesystem/" + method, body,
                    "Authorization", ConnectClient.basic(TestAgent.USER));
            assertThat(r.status()).as(method + " " + path + " -> " + r.raw()).isLessThan(500);
            if (r.status() != 200) {
                assertThat(r.code()).as(r.raw()).isNotNull().isNotEqualTo("internal").isNotEqualTo("unknown");
            }
        }
    }

    @Property(tries = 200)
    void filesDownloadAnswersArbitraryPathsWithoutServerErrors(@ForAll("paths") String path) throws Exception {
        HttpResponse<String> r = c.http().send(HttpRequest.newBuilder(URI.create(c.base() + "/files?path=" + enc(path)
                        + "&username=user")).header("X-Access-Token", TestAgent.ACCESS_TOKEN).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + " -> " + r.body()).isIn(200, 400, 403, 404);
    }

    /** Mangled multipart bodies: pieces of a valid one, dropped, doubled, truncated or with junk spliced in. */
    @Provide
    Arbitrary<byte[]> multipartBodies() {
        Arbitrary<String> piece = Arbitraries.oneOf(
                Arbitraries.of("--B\r\n", "--B--\r\n", "--B", "\r\n", "\r\n\r\n", "content",
                        "Content-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n",
                        "Content-Disposition: form-data; name=\"file\"\r\n",
                        "Content-Disposition: form-data; name=\"other\"; filename=\"../../x\"\r\n",
                        "Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%2e%2e%2fx\r\n",
                        "Content-Type: application/octet-stream\r\n", "Content-Disposition:\r\n", "\u0000", ";;;;",
                        "Content-Disposition: form-data; name=\"file\"; filename=\"" + "y".repeat(5000) + "\"\r\n"),
                Arbitraries.strings().ofMaxLength(30));
        return piece.list().ofMaxSize(14).map(parts -> String.join("", parts).getBytes(StandardCharsets.UTF_8));
    }

    @Property(tries = 150)
    void mangledMultipartUploadsAreRefusedOrWrittenWhereAsked(@ForAll("multipartBodies") byte[] body,
                                                              @ForAll("boundaries") String contentType) throws Exception {
        Path target = scratch.resolve("upload.bin");
        Set<Path> before = Set.copyOf(Files.list(scratch).toList());
        HttpResponse<String> r = c.http().send(HttpRequest.newBuilder(URI.create(c.base() + "/files?path="
                        + enc(target.toString()) + "&username=user")).header("X-Access-Token", TestAgent.ACCESS_TOKEN)
                .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isIn(200, 400, 413);
        // With a path in the URL, no part's own filename decides where anything goes.
        Set<Path> after = Set.copyOf(Files.list(scratch).toList());
        assertThat(after).isSubsetOf(union(before, target));
    }

    @Provide
    Arbitrary<String> boundaries() {
        return Arbitraries.of("multipart/form-data; boundary=B", "multipart/form-data; boundary=\"B\"",
                "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=" + "B".repeat(200),
                "multipart/form-data; boundary=B; boundary=C", "MULTIPART/FORM-DATA; BOUNDARY=B");
    }

    static Set<Path> union(Set<Path> a, Path b) {
        var s = new java.util.HashSet<>(a);
        s.add(b);
        return s;
    }

    /** One change to a valid signed download URL: which part, and what it becomes. */
    record Tamper(String part, String value) {}

    @Provide
    Arbitrary<Tamper> tampers() {
        Arbitrary<String> junk = Arbitraries.strings().ofMinLength(0).ofMaxLength(12);
        return Arbitraries.oneOf(
                junk.map(v -> new Tamper("path", readable + v)),
                Arbitraries.of(readable.toString() + "/", "/" + readable, readable.getParent() + "/./readable.txt",
                        readable.getParent() + "/../" + readable.getParent().getFileName() + "/readable.txt", "/etc/passwd",
                        "~/" + readable.getParent().getFileName() + "/readable.txt").map(v -> new Tamper("path", v)),
                Arbitraries.of("root", "", "nobody", "user ", "USER").map(v -> new Tamper("username", v)),
                Arbitraries.longs().between(-5, 100_000).map(d -> new Tamper("expiration", Long.toString(d))),
                Arbitraries.of("drop-expiration", "write-op").map(v -> new Tamper(v, "")),
                Combinators.combine(Arbitraries.integers().between(3, 45), Arbitraries.chars().alpha())
                        .as((i, ch) -> new Tamper("signature-char", i + ":" + ch)));
    }

    @Property(tries = 200)
    void aSignedUrlWorksOnlyForExactlyWhatWasSigned(@ForAll("tampers") Tamper t) throws Exception {
        long expiry = Instant.now().getEpochSecond() + 600;
        String path = readable.toString();
        String user = TestAgent.USER;
        String signature = FileSignatures.sign(path, FileSignatures.READ, user, TestAgent.ACCESS_TOKEN, expiry);
        assertThat(download(path, user, signature, Long.toString(expiry)).statusCode()).isEqualTo(200);

        String expiration = Long.toString(expiry);
        boolean changed = true;
        switch (t.part()) {
            case "path" -> { changed = !t.value().equals(path); path = t.value(); }
            case "username" -> { changed = !t.value().equals(user); user = t.value(); }
            case "expiration" -> { expiration = Long.toString(expiry + Long.parseLong(t.value()) - 50_000); changed = !expiration.equals(Long.toString(expiry)); }
            case "drop-expiration" -> expiration = null;
            case "write-op" -> {
                HttpResponse<String> w = c.http().send(HttpRequest.newBuilder(URI.create(c.base() + "/files?path="
                        + enc(path) + "&username=" + enc(user) + "&signature=" + enc(signature)
                        + "&signature_expiration=" + expiry)).POST(HttpRequest.BodyPublishers.ofString("overwritten"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(w.statusCode()).as(w.body()).isEqualTo(401);
                assertThat(Files.readString(readable)).isEqualTo("signed content");
                return;
            }
            case "signature-char" -> {
                int i = Integer.parseInt(t.value().split(":")[0]);
                char ch = t.value().split(":")[1].charAt(0);
                changed = signature.charAt(i) != ch;
                signature = signature.substring(0, i) + ch + signature.substring(i + 1);
            }
            default -> throw new IllegalStateException(t.part());
        }
        if (!changed) return;
        HttpResponse<String> r = download(path, user, signature, expiration);
        assertThat(r.statusCode()).as(t + " -> " + r.body()).isIn(400, 401);
        assertThat(r.body()).doesNotContain("signed content");
    }

    HttpResponse<String> download(String path, String user, String signature, String expiration) throws Exception {
        String url = c.base() + "/files?path=" + enc(path) + "&username=" + enc(user) + "&signature=" + enc(signature)
                + (expiration == null ? "" : "&signature_expiration=" + enc(expiration));
        return c.http().send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Regression (found by the properties above): an over-long name was an internal error / a 500. */
    @Example
    void overlongNamesAreTheClientsMistake() throws Exception {
        String longName = scratch.resolve("n".repeat(300)).toString();
        ConnectClient.Reply stat = c.unary("filesystem.Filesystem/Stat", "{\"path\":" + json(longName) + "}",
                "Authorization", ConnectClient.basic(TestAgent.USER));
        assertThat(stat.status()).as(stat.raw()).isEqualTo(400);
        assertThat(stat.code()).isEqualTo("invalid_argument");
        HttpResponse<String> up = c.http().send(HttpRequest.newBuilder(URI.create(c.base() + "/files?path="
                        + enc(longName) + "&username=user")).header("X-Access-Token", TestAgent.ACCESS_TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(up.statusCode()).as(up.body()).isEqualTo(400);
    }

    /** Garbage bodies and content types on a Connect route that starts nothing: Connect errors, never a 500. */
    @Property(tries = 150)
    void garbageConnectBodiesGetConnectErrors(@ForAll byte[] body,
                                              @ForAll("connectTypes") String type) throws Exception {
        ConnectClient.Reply r = c.unaryRaw("filesystem.Filesystem/Stat", type, body,
                "Authorization", ConnectClient.basic(TestAgent.USER));
        assertThat(r.status()).as(r.raw()).isLessThan(500);
        if (r.status() != 200) {
            JsonNode b = r.body();
            assertThat(b).as(r.raw()).isNotNull();
            assertThat(b.path("code").asText()).isNotIn("internal", "unknown");
        }
        HttpResponse<String> health = c.http().send(HttpRequest.newBuilder(URI.create(c.base() + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(204);
    }

    @Provide
    Arbitrary<String> connectTypes() {
        return Arbitraries.of("application/json", "application/proto", "application/connect+json", "text/plain",
                "application/json; charset=latin1", "");
    }
}
