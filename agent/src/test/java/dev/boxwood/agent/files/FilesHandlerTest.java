package dev.boxwood.agent.files;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.agent.testing.ConnectClient;
import dev.boxwood.agent.testing.LiveAgentTest;
import dev.boxwood.agent.testing.TestAgent;
import dev.boxwood.protocol.envd.FileSignatures;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

class FilesHandlerTest extends LiveAgentTest {
    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static HttpRequest.Builder files(String query, boolean token) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.base() + "/files" + query));
        if (token) b.header("X-Access-Token", TestAgent.ACCESS_TOKEN);
        return b;
    }

    static HttpResponse<byte[]> send(HttpRequest.Builder b) throws Exception {
        return c.http().send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static JsonNode json(HttpResponse<byte[]> r) throws Exception {
        return ConnectClient.JSON.readTree(r.body());
    }

    static byte[] multipart(String boundary, String[][] parts) {
        StringBuilder sb = new StringBuilder();
        for (String[] p : parts) {
            sb.append("--").append(boundary).append("\r\n")
                    .append("Content-Disposition: form-data; name=\"").append(p[0]).append("\"; filename=\"")
                    .append(p[1]).append("\"\r\nContent-Type: application/octet-stream\r\n\r\n").append(p[2])
                    .append("\r\n");
        }
        sb.append("--").append(boundary).append("--\r\n");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static byte[] gzip(byte[] data) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    @Test
    void multipartUploadWritesEveryFilePartOwnedByTheUserWithParents() throws Exception {
        Path dir = TestAgent.scratch("files-multi");
        String rel = TestAgent.home().relativize(dir).toString();
        byte[] body = multipart("XyZ", new String[][] {
                {"file", rel + "/deep/a.txt", "alpha"},
                {"file", dir + "/b.txt", "beta"},
                {"other", rel + "/ignored.txt", "nope"}});
        HttpResponse<byte[]> r = send(files("", true).header("Content-Type", "multipart/form-data; boundary=XyZ")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
        assertThat(r.statusCode()).as(new String(r.body())).isEqualTo(200);
        JsonNode written = json(r);
        assertThat(written).hasSize(2);
        assertThat(written.get(0).path("path").asText()).isEqualTo(dir + "/deep/a.txt");
        assertThat(written.get(0).path("name").asText()).isEqualTo("a.txt");
        assertThat(written.get(0).path("type").asText()).isEqualTo("file");
        assertThat(Files.readString(dir.resolve("deep/a.txt"))).isEqualTo("alpha");
        assertThat(Files.readString(dir.resolve("b.txt"))).isEqualTo("beta");
        assertThat(Files.exists(dir.resolve("ignored.txt"))).isFalse();
        assertThat(Files.getOwner(dir.resolve("deep")).getName()).isEqualTo("user");
        assertThat(Files.getOwner(dir.resolve("deep/a.txt")).getName()).isEqualTo("user");

        // the same path twice in one request is refused
        byte[] twice = multipart("B", new String[][] {{"file", rel + "/x", "1"}, {"file", dir + "/x", "2"}});
        assertThat(send(files("", true).header("Content-Type", "multipart/form-data; boundary=B")
                .POST(HttpRequest.BodyPublishers.ofByteArray(twice))).statusCode()).isEqualTo(400);
    }

    @Test
    void singleMultipartUsesThePathQueryAndRoundTrips() throws Exception {
        Path dir = TestAgent.scratch("files-single");
        byte[] body = multipart("b1", new String[][] {{"file", "whatever-name", "hello world"}});
        String path = dir + "/hello.txt";
        HttpResponse<byte[]> up = send(files("?path=" + enc(path), true)
                .header("Content-Type", "multipart/form-data; boundary=b1")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
        assertThat(up.statusCode()).isEqualTo(200);
        assertThat(json(up).get(0).path("path").asText()).isEqualTo(path);
        HttpResponse<byte[]> down = send(files("?path=" + enc(path), true).GET());
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(new String(down.body(), StandardCharsets.UTF_8)).isEqualTo("hello world");
        assertThat(down.headers().firstValue("content-disposition")).contains("inline; filename=\"hello.txt\"");
        assertThat(down.headers().firstValue("content-type")).contains("text/plain");
    }

    @Test
    void octetStreamWithGzipBodyAndGzipResponse() throws Exception {
        Path dir = TestAgent.scratch("files-gzip");
        byte[] data = "compressible ".repeat(5000).getBytes(StandardCharsets.UTF_8);
        String path = dir + "/data.bin";
        HttpResponse<byte[]> up = send(files("?path=" + enc(path), true)
                .header("Content-Type", "application/octet-stream").header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(gzip(data))));
        assertThat(up.statusCode()).isEqualTo(200);
        assertThat(Files.readAllBytes(Path.of(path))).isEqualTo(data);

        HttpResponse<byte[]> down = send(files("?path=" + enc(path), true).header("Accept-Encoding", "gzip").GET());
        assertThat(down.headers().firstValue("content-encoding")).contains("gzip");
        assertThat(down.body().length).isLessThan(data.length);
        assertThat(new GZIPInputStream(new java.io.ByteArrayInputStream(down.body())).readAllBytes()).isEqualTo(data);

        HttpResponse<byte[]> plain = send(files("?path=" + enc(path), true).GET());
        assertThat(plain.headers().firstValue("content-encoding")).isEmpty();
        assertThat(plain.body()).isEqualTo(data);

        assertThat(send(files("?path=" + enc(path), true).header("Accept-Encoding", "identity;q=0").GET())
                .statusCode()).isEqualTo(406);
        assertThat(send(files("?path=" + enc(path), true).header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofByteArray("not gzip".getBytes()))).statusCode()).isEqualTo(400);
        assertThat(send(files("", true).header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(data))).statusCode()).as("path required").isEqualTo(400);
    }

    @Test
    void emptyFilesComeBackWithContentLengthZero() throws Exception {
        Path dir = TestAgent.scratch("files-empty");
        String path = dir + "/empty";
        assertThat(send(files("?path=" + enc(path), true).header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(200);
        HttpResponse<byte[]> down = send(files("?path=" + enc(path), true).GET());
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(down.headers().firstValue("content-length")).contains("0");
        assertThat(down.body()).isEmpty();
    }

    @Test
    void metadataHeadersBecomeXattrsAndAreReplacedOnEachUpload() throws Exception {
        Path dir = TestAgent.scratch("files-meta");
        String path = dir + "/m.txt";
        HttpResponse<byte[]> up = send(files("?path=" + enc(path), true)
                .header("Content-Type", "application/octet-stream")
                .header("X-Metadata-Owner", "Alice").header("X-Metadata-Purpose", "test data")
                .POST(HttpRequest.BodyPublishers.ofString("m")));
        assertThat(up.statusCode()).isEqualTo(200);
        assertThat(json(up).get(0).path("metadata").path("owner").asText()).isEqualTo("Alice");
        JsonNode entry = c.unary("filesystem.Filesystem/Stat", "{\"path\":\"" + path + "\"}").body().path("entry");
        assertThat(entry.path("metadata").path("owner").asText()).isEqualTo("Alice");
        assertThat(entry.path("metadata").path("purpose").asText()).isEqualTo("test data");

        send(files("?path=" + enc(path), true).header("Content-Type", "application/octet-stream")
                .header("X-Metadata-Only", "this").POST(HttpRequest.BodyPublishers.ofString("m2")));
        entry = c.unary("filesystem.Filesystem/Stat", "{\"path\":\"" + path + "\"}").body().path("entry");
        assertThat(entry.path("metadata").size()).isEqualTo(1);
        assertThat(entry.path("metadata").path("only").asText()).isEqualTo("this");

        assertThat(send(files("?path=" + enc(path), true).header("Content-Type", "application/octet-stream")
                .header("X-Metadata-Big", "v".repeat(5000)).POST(HttpRequest.BodyPublishers.ofString("m")))
                .statusCode()).isEqualTo(400);
        assertThat(send(files("?path=" + enc(path), true).header("Content-Type", "application/octet-stream")
                .header("X-Metadata-" + "k".repeat(250), "v").POST(HttpRequest.BodyPublishers.ofString("m")))
                .statusCode()).isEqualTo(400);
    }

    @Test
    void downloadErrorsUseTheRestErrorShape() throws Exception {
        Path dir = TestAgent.scratch("files-err");
        HttpResponse<byte[]> missing = send(files("?path=" + enc(dir + "/nope"), true).GET());
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(json(missing).path("code").asInt()).isEqualTo(404);
        assertThat(json(missing).path("message").asText()).contains("does not exist");
        HttpResponse<byte[]> isDir = send(files("?path=" + enc(dir.toString()), true).GET());
        assertThat(isDir.statusCode()).isEqualTo(400);
        assertThat(json(isDir).path("message").asText()).contains("is a directory");
        assertThat(send(files("?path=x&username=ghost", true).GET()).statusCode()).isEqualTo(401);
        HttpResponse<byte[]> noAuth = send(files("?path=" + enc(dir + "/nope"), false).GET());
        assertThat(noAuth.statusCode()).isEqualTo(401);
        assertThat(send(files("?path=" + enc(dir.toString()), true).header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofString("x"))).statusCode()).as("writing onto a directory")
                .isEqualTo(400);
        assertThat(send(files("?path=/root/forbidden.txt", true).header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofString("x"))).statusCode()).as("user may not write there")
                .isEqualTo(403);
        assertThat(Files.exists(Path.of("/root/forbidden.txt"))).isFalse();
    }

    @Test
    void signedUrlsWorkWithoutTheTokenUntilTheyExpire() throws Exception {
        Path dir = TestAgent.scratch("files-signed");
        String path = dir + "/s.txt";
        String token = TestAgent.ACCESS_TOKEN;
        String write = FileSignatures.sign(path, "write", null, token, null);
        HttpResponse<byte[]> up = send(files("?path=" + enc(path) + "&signature=" + enc(write), false)
                .header("Content-Type", "application/octet-stream").POST(HttpRequest.BodyPublishers.ofString("sig")));
        assertThat(up.statusCode()).as(new String(up.body())).isEqualTo(200);

        long future = Instant.now().getEpochSecond() + 600;
        String read = FileSignatures.sign(path, "read", "user", token, future);
        HttpResponse<byte[]> down = send(files("?path=" + enc(path) + "&username=user&signature=" + enc(read)
                + "&signature_expiration=" + future, false).GET());
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(new String(down.body())).isEqualTo("sig");

        // a read signature does not write, and a wrong one does not read
        assertThat(send(files("?path=" + enc(path) + "&signature=" + enc(write), false).GET()).statusCode())
                .isEqualTo(401);
        assertThat(send(files("?path=" + enc(path) + "&signature=v1_wrong", false).GET()).statusCode())
                .isEqualTo(401);

        long past = Instant.now().getEpochSecond() - 10;
        String expired = FileSignatures.sign(path, "read", null, token, past);
        HttpResponse<byte[]> old = send(files("?path=" + enc(path) + "&signature=" + enc(expired)
                + "&signature_expiration=" + past, false).GET());
        assertThat(old.statusCode()).isEqualTo(401);
        assertThat(new String(old.body(), StandardCharsets.UTF_8))
                .isEqualTo("{\"code\":401,\"message\":\"signature is already expired\"}");
    }

    @Test
    void aRefusedUploadStillGetsItsErrorResponse() throws Exception {
        Path dir = TestAgent.scratch("files-refused");
        byte[] body = new byte[4 << 20];
        for (int i = 0; i < 3; i++) {
            HttpResponse<byte[]> r = send(files("?path=" + enc(dir + "/r.bin") + "&signature=v1_wrong", false)
                    .header("Content-Type", "application/octet-stream")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
            assertThat(r.statusCode()).isEqualTo(401);
            assertThat(json(r).path("message").asText()).isEqualTo("invalid signature");
        }
        assertThat(Files.exists(dir.resolve("r.bin"))).isFalse();
    }

    @Test
    void largeStreamedUploadsArriveComplete() throws Exception {
        Path dir = TestAgent.scratch("files-large");
        String path = dir + "/large.bin";
        byte[] chunk = new byte[1 << 20];
        new java.util.Random(7).nextBytes(chunk);
        int chunks = 48;
        var publisher = HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.InputStream() {
            long left = (long) chunks * chunk.length;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left == 0) return -1;
                int n = (int) Math.min(len, left);
                int start = (int) (((long) chunks * chunk.length - left) % chunk.length);
                n = Math.min(n, chunk.length - start);
                System.arraycopy(chunk, start, b, off, n);
                left -= n;
                return n;
            }
        });
        assertThat(send(files("?path=" + enc(path), true).header("Content-Type", "application/octet-stream")
                .POST(publisher)).statusCode()).isEqualTo(200);
        assertThat(Files.size(Path.of(path))).isEqualTo((long) chunks * chunk.length);
    }

    @Test
    void largeMultipartPartsRoundTripByteExactPlainAndGzipped() throws Exception {
        Path dir = TestAgent.scratch("files-large-multipart");
        byte[] data = new byte[3 << 20]; // far over the 16 KiB kept in memory: the part is spooled
        new java.util.Random(11).nextBytes(data);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(("--LB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.write(data);
        body.write("\r\n--LB--\r\n".getBytes(StandardCharsets.UTF_8));
        for (boolean gzipped : new boolean[] {false, true}) {
            String path = dir + "/big-" + gzipped + ".bin";
            var request = files("?path=" + enc(path), true).header("Content-Type", "multipart/form-data; boundary=LB");
            if (gzipped) request.header("Content-Encoding", "gzip");
            byte[] sent = gzipped ? gzip(body.toByteArray()) : body.toByteArray();
            assertThat(send(request.POST(HttpRequest.BodyPublishers.ofByteArray(sent))).statusCode())
                    .as("gzip " + gzipped).isEqualTo(200);
            HttpResponse<byte[]> down = send(files("?path=" + enc(path), true).GET());
            assertThat(down.body()).as("gzip " + gzipped).isEqualTo(data);
        }
    }
}
