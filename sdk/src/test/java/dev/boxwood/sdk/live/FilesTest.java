package dev.boxwood.sdk.live;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxwood.sdk.InvalidArgumentException;
import dev.boxwood.sdk.NotFoundException;
import dev.boxwood.sdk.SandboxException;
import dev.boxwood.sdk.files.EntryInfo;
import dev.boxwood.sdk.files.FileType;
import dev.boxwood.sdk.files.FilesystemEvent;
import dev.boxwood.sdk.files.WatchHandle;
import dev.boxwood.sdk.files.WatchOptions;
import dev.boxwood.sdk.files.WriteEntry;
import dev.boxwood.sdk.files.WriteInfo;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The filesystem API against a real sandbox: one sandbox for the whole class, each test in its own directory. */
@Tag("sandbox")
class FilesTest extends SandboxPerClass {
    @Test
    void writeAndReadTextBytesAndStreams() throws Exception {
        WriteInfo info = sandbox.files().write("rw/hello.txt", "héllo\n");
        assertThat(info.path()).isEqualTo("/home/user/rw/hello.txt");
        assertThat(info.name()).isEqualTo("hello.txt");
        assertThat(sandbox.files().read("/home/user/rw/hello.txt")).isEqualTo("héllo\n");

        byte[] bytes = {0, 1, 2, (byte) 0xff, 10, 13};
        sandbox.files().write("/home/user/rw/bin", bytes);
        assertThat(sandbox.files().readBytes("rw/bin")).containsExactly(bytes);

        sandbox.files().write("/home/user/rw/stream", new ByteArrayInputStream("from a stream".getBytes()));
        try (InputStream in = sandbox.files().readStream("/home/user/rw/stream")) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("from a stream");
        }

        sandbox.files().write("/home/user/rw/tagged.txt", new ByteArrayInputStream("t".getBytes()),
                java.util.Map.of("Owner", "alice", "stage", "draft"));
        assertThat(sandbox.files().getInfo("/home/user/rw/tagged.txt").metadata())
                .containsEntry("owner", "alice").containsEntry("stage", "draft");

        sandbox.files().write("/home/user/rw/empty", new byte[0]);
        assertThat(sandbox.files().read("/home/user/rw/empty")).isEmpty();

        // Files belong to the default user; as("root") writes root's files.
        assertThat(sandbox.files().getInfo("/home/user/rw/hello.txt").owner()).isEqualTo("user");
        sandbox.files().as("root").write("/root/secret.txt", "root only");
        assertThat(sandbox.files().as("root").getInfo("/root/secret.txt").owner()).isEqualTo("root");
        assertThat(sandbox.commands().run("stat -c %U /root/secret.txt",
                dev.boxwood.sdk.commands.CommandOptions.builder().user("root").build()).stdout()).isEqualTo("root\n");
    }

    @Test
    void fiftyMegabytesRoundTrip() throws Exception {
        long size = 50L * 1024 * 1024;
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        InputStream source = new DigestInputStream(new PseudoRandomStream(size, 42), sent);
        sandbox.files().write("/home/user/big/blob.bin", source);

        MessageDigest received = MessageDigest.getInstance("SHA-256");
        long count = 0;
        try (InputStream in = sandbox.files().readStream("/home/user/big/blob.bin")) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                received.update(buf, 0, n);
                count += n;
            }
        }
        byte[] sentDigest = sent.digest();
        assertThat(count).isEqualTo(size);
        assertThat(received.digest()).isEqualTo(sentDigest);
        assertThat(sandbox.files().getInfo("/home/user/big/blob.bin").size()).isEqualTo(size);
        // The sandbox sees the same bytes.
        String sum = sandbox.commands().run("sha256sum /home/user/big/blob.bin | cut -d' ' -f1").stdout().strip();
        assertThat(sum).isEqualTo(java.util.HexFormat.of().formatHex(sentDigest));
        sandbox.files().remove("/home/user/big");
    }

    @Test
    void writeManyFilesInOneRequest() {
        List<WriteInfo> written = sandbox.files().write(List.of(
                WriteEntry.of("/home/user/many/a.txt", "A"),
                WriteEntry.of("many/sub/b.txt", "B".getBytes()),
                WriteEntry.of("/home/user/many/c.txt", new ByteArrayInputStream("C".getBytes()))));
        assertThat(written).extracting(WriteInfo::path).containsExactlyInAnyOrder(
                "/home/user/many/a.txt", "/home/user/many/sub/b.txt", "/home/user/many/c.txt");
        assertThat(sandbox.files().read("/home/user/many/sub/b.txt")).isEqualTo("B");
        assertThat(sandbox.files().read("/home/user/many/c.txt")).isEqualTo("C");
    }

    @Test
    void listStatMakeDirRenameRemove() {
        assertThat(sandbox.files().makeDir("/home/user/tree/deep/er")).isTrue();
        assertThat(sandbox.files().makeDir("/home/user/tree/deep/er")).isFalse();
        sandbox.files().write("/home/user/tree/one.txt", "1");
        sandbox.files().write("/home/user/tree/deep/two.txt", "22");

        assertThat(sandbox.files().list("/home/user/tree")).extracting(EntryInfo::name)
                .containsExactlyInAnyOrder("one.txt", "deep");
        assertThat(sandbox.files().list("/home/user/tree", 3)).extracting(EntryInfo::path)
                .contains("/home/user/tree/deep/two.txt", "/home/user/tree/deep/er");

        EntryInfo two = sandbox.files().getInfo("/home/user/tree/deep/two.txt");
        assertThat(two.type()).isEqualTo(FileType.FILE);
        assertThat(two.size()).isEqualTo(2);
        assertThat(two.permissions()).startsWith("-rw");
        assertThat(two.modifiedTime()).isNotNull();
        assertThat(sandbox.files().getInfo("/home/user/tree/deep").type()).isEqualTo(FileType.DIRECTORY);

        EntryInfo moved = sandbox.files().rename("/home/user/tree/one.txt", "/home/user/tree/deep/uno.txt");
        assertThat(moved.path()).isEqualTo("/home/user/tree/deep/uno.txt");
        assertThat(sandbox.files().exists("/home/user/tree/one.txt")).isFalse();
        assertThat(sandbox.files().read("/home/user/tree/deep/uno.txt")).isEqualTo("1");

        sandbox.files().remove("/home/user/tree");
        assertThat(sandbox.files().exists("/home/user/tree")).isFalse();
    }

    @Test
    void missingAndWrongPathsRaiseTypedErrors() {
        assertThatThrownBy(() -> sandbox.files().read("/home/user/nope.txt")).isInstanceOf(NotFoundException.class)
                .hasMessageContaining("nope.txt");
        assertThatThrownBy(() -> sandbox.files().getInfo("/nope/at/all")).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> sandbox.files().list("/nope/at/all")).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> sandbox.files().read("/home/user")).isInstanceOf(InvalidArgumentException.class);
        sandbox.files().write("/home/user/plain.txt", "x");
        assertThatThrownBy(() -> sandbox.files().list("/home/user/plain.txt")).isInstanceOf(InvalidArgumentException.class);
        assertThatThrownBy(() -> sandbox.files().makeDir("/home/user/plain.txt")).isInstanceOf(SandboxException.class);
        // Regular users cannot write where they have no permission.
        assertThatThrownBy(() -> sandbox.files().write("/root/not-mine.txt", "x")).isInstanceOf(SandboxException.class);
    }

    @Test
    void watchDirReportsChangesUntilStopped() throws Exception {
        sandbox.files().makeDir("/home/user/watched");
        LinkedBlockingQueue<FilesystemEvent> events = new LinkedBlockingQueue<>();
        LinkedBlockingQueue<String> exits = new LinkedBlockingQueue<>();
        WatchHandle watch = sandbox.files().watchDir("/home/user/watched",
                WatchOptions.defaults().withTimeout(Duration.ZERO).withOnExit(e -> exits.add(String.valueOf(e))),
                events::add);
        sandbox.files().write("/home/user/watched/new.txt", "content");
        FilesystemEvent first = events.poll(30, TimeUnit.SECONDS);
        assertThat(first).isNotNull();
        assertThat(first.name()).isEqualTo("new.txt");
        assertThat(first.type()).isIn(FilesystemEvent.EventType.CREATE, FilesystemEvent.EventType.WRITE);
        watch.stop();
        assertThat(exits.poll(30, TimeUnit.SECONDS)).isEqualTo("null");

        assertThatThrownBy(() -> sandbox.files().watchDir("/home/user/no-such-dir", e -> { }))
                .isInstanceOf(NotFoundException.class);
    }

    @Test
    void signedUrlsWorkWithoutHeaders() throws Exception {
        sandbox.files().write("/home/user/shared/report.txt", "signed content");
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            String download = sandbox.files().downloadUrl("/home/user/shared/report.txt");
            assertThat(download).contains("signature=v1_");
            HttpResponse<String> got = http.send(HttpRequest.newBuilder(URI.create(download)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(got.statusCode()).isEqualTo(200);
            assertThat(got.body()).isEqualTo("signed content");

            String expired = sandbox.files().downloadUrl("/home/user/shared/report.txt", Duration.ofSeconds(-60));
            HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create(expired)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(401);
            assertThat(refused.body()).contains("signature is already expired");

            String upload = sandbox.files().uploadUrl("/home/user/shared/upload.txt", Duration.ofMinutes(5));
            String boundary = "b0undary";
            String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.txt\"\r\n"
                    + "Content-Type: application/octet-stream\r\n\r\nuploaded by URL\r\n--" + boundary + "--\r\n";
            HttpResponse<String> put = http.send(HttpRequest.newBuilder(URI.create(upload))
                    .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(put.statusCode()).isEqualTo(200);
            assertThat(sandbox.files().read("/home/user/shared/upload.txt")).isEqualTo("uploaded by URL");
        }
    }

    /** Deterministic incompressible bytes, generated on the fly so 50 MB never sits in memory. */
    static final class PseudoRandomStream extends InputStream {
        private final Random random;
        private long left;

        PseudoRandomStream(long size, long seed) {
            this.left = size;
            this.random = new Random(seed);
        }

        @Override
        public int read() {
            if (left <= 0) {
                return -1;
            }
            left--;
            return random.nextInt(256);
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (left <= 0) {
                return -1;
            }
            int n = (int) Math.min(len, left);
            byte[] chunk = new byte[n];
            random.nextBytes(chunk);
            System.arraycopy(chunk, 0, b, off, n);
            left -= n;
            return n;
        }
    }
}
