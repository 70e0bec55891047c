package dev.boxwood.agent.connect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.agent.testing.ConnectClient;
import dev.boxwood.agent.testing.ConnectClient.Frame;
import dev.boxwood.agent.testing.LiveAgentTest;
import dev.boxwood.agent.testing.TestAgent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Connect protocol itself: framing, errors, deadlines, keepalives, bad input. */
class ConnectProtocolTest extends LiveAgentTest {
    private static Frame onlyFrame(ConnectClient.Stream s) throws Exception {
        List<Frame> frames = s.rest();
        assertThat(frames).hasSize(1);
        assertThat(frames.getFirst().isEnd()).isTrue();
        return frames.getFirst();
    }

    @Test
    void unaryErrorsCarryTheCodeAndTheMappedStatus() throws Exception {
        ConnectClient.Reply r = c.unary("filesystem.Filesystem/Stat", "{\"path\":\"/definitely/missing\"}");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.code()).isEqualTo("not_found");
        assertThat(r.body().path("message").asText()).contains("/definitely/missing");
    }

    @Test
    void malformedJsonIsInvalidArgument() throws Exception {
        ConnectClient.Reply r = c.unary("filesystem.Filesystem/Stat", "{\"path\":");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.code()).isEqualTo("invalid_argument");
        ConnectClient.Reply wrongType = c.unary("filesystem.Filesystem/ListDir", "{\"path\":\"/\",\"depth\":{}}");
        assertThat(wrongType.code()).isEqualTo("invalid_argument");
    }

    @Test
    void snakeCaseFieldsAndUnknownFieldsAreAccepted() throws Exception {
        ConnectClient.Reply r = c.unary("filesystem.Filesystem/CreateWatcher",
                "{\"path\":\"/tmp\",\"include_entry\":true,\"some_future_field\":1}");
        assertThat(r.status()).isEqualTo(200);
        String id = r.body().path("watcherId").asText();
        assertThat(c.unary("filesystem.Filesystem/RemoveWatcher", "{\"watcher_id\":\"" + id + "\"}").status())
                .isEqualTo(200);
    }

    @Test
    void unknownMethodIsUnimplemented() throws Exception {
        ConnectClient.Reply r = c.unary("process.Process/Explode", "{}");
        assertThat(r.status()).isEqualTo(501);
        assertThat(r.code()).isEqualTo("unimplemented");
    }

    @Test
    void wrongContentTypeIsRejected() throws Exception {
        ConnectClient.Reply r = c.unaryRaw("process.Process/List", "application/proto", new byte[0]);
        assertThat(r.status()).isEqualTo(415);
        ConnectClient.Reply streamAsUnary = c.unary("process.Process/Start", "{}");
        assertThat(streamAsUnary.status()).isEqualTo(415);
    }

    @Test
    void truncatedEnvelopeIsInvalidArgument() throws Exception {
        byte[] full = ConnectClient.envelope(0, "{\"process\":{\"cmd\":\"/bin/true\"}}".getBytes());
        byte[] truncated = java.util.Arrays.copyOf(full, full.length - 4);
        try (var s = c.streamRaw("process.Process/Start", truncated)) {
            assertThat(s.status()).isEqualTo(200);
            assertThat(onlyFrame(s).json().path("error").path("code").asText()).isEqualTo("invalid_argument");
        }
        try (var s = c.streamRaw("process.Process/Start", new byte[] {0, 0})) {
            assertThat(onlyFrame(s).json().path("error").path("code").asText()).isEqualTo("invalid_argument");
        }
    }

    @Test
    void compressedOrFlaggedEnvelopesAreInvalidArgument() throws Exception {
        for (int flags : new int[] {1, 2, 0x80}) {
            byte[] body = ConnectClient.envelope(flags, "{}".getBytes());
            try (var s = c.streamRaw("process.Process/Start", body)) {
                assertThat(onlyFrame(s).json().path("error").path("code").asText()).as("flags " + flags)
                        .isEqualTo("invalid_argument");
            }
        }
    }

    @Test
    void oversizedEnvelopeIsResourceExhaustedWithoutReadingIt() throws Exception {
        byte[] header = ByteBuffer.allocate(5).put((byte) 0).putInt(Integer.MAX_VALUE).array();
        try (var s = c.streamRaw("process.Process/Start", header)) {
            assertThat(onlyFrame(s).json().path("error").path("code").asText()).isEqualTo("resource_exhausted");
        }
    }

    @Test
    void oversizedUnaryBodyIsResourceExhausted() throws Exception {
        byte[] big = new byte[ConnectRouter.MAX_MESSAGE + 10];
        java.util.Arrays.fill(big, (byte) ' ');
        ConnectClient.Reply r = c.unaryRaw("process.Process/List", "application/json", big);
        assertThat(r.code()).isEqualTo("resource_exhausted");
        assertThat(r.status()).isEqualTo(429);
    }

    @Test
    void invalidTimeoutHeaderIsInvalidArgument() throws Exception {
        try (var s = c.stream("process.Process/Start", "{\"process\":{\"cmd\":\"/bin/true\"}}",
                "Connect-Timeout-Ms", "soon")) {
            assertThat(onlyFrame(s).json().path("error").path("code").asText()).isEqualTo("invalid_argument");
        }
    }

    @Test
    void connectTimeoutIsTheProcessLifetime() throws Exception {
        String start = "{\"process\":{\"cmd\":\"/bin/sleep\",\"args\":[\"600\"]},\"stdin\":false}";
        int pid;
        try (var s = c.stream("process.Process/Start", start, "Connect-Timeout-Ms", "1500")) {
            pid = s.next().event().path("start").path("pid").asInt();
            List<Frame> rest = s.rest();
            Frame last = rest.getLast();
            assertThat(last.isEnd()).isTrue();
            assertThat(last.json().path("error").path("code").asText()).isEqualTo("deadline_exceeded");
        }
        // the process was killed: it leaves the table once reaped
        for (int i = 0; i < 100 && listed(pid); i++) Thread.sleep(100);
        assertThat(listed(pid)).isFalse();
        assertThat(java.nio.file.Files.exists(java.nio.file.Path.of("/proc/" + pid + "/cmdline"))
                && !new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/" + pid + "/cmdline")),
                StandardCharsets.UTF_8).contains("sleep")).isFalse();
    }

    @Test
    void theLifetimeHoldsAfterTheClientWentAway() throws Exception {
        String start = "{\"process\":{\"cmd\":\"/bin/sleep\",\"args\":[\"600\"]},\"stdin\":false}";
        int pid;
        try (var s = c.stream("process.Process/Start", start, "Connect-Timeout-Ms", "1500")) {
            pid = s.next().event().path("start").path("pid").asInt();
        }
        for (int i = 0; i < 300 && listed(pid); i++) Thread.sleep(100);
        assertThat(listed(pid)).as("killed at its deadline").isFalse();
    }

    private static boolean listed(int pid) throws Exception {
        return c.unary("process.Process/List", "{}").body().path("processes").findValuesAsText("pid")
                .contains(String.valueOf(pid));
    }

    @Test
    void idleStreamsGetKeepaliveEvents() throws Exception {
        String start = "{\"process\":{\"cmd\":\"/bin/sleep\",\"args\":[\"600\"]},\"stdin\":false}";
        try (var s = c.stream("process.Process/Start", start, "Keepalive-Ping-Interval", "1")) {
            int pid = s.next().event().path("start").path("pid").asInt();
            Frame ping = s.next();
            assertThat(ping.event().has("keepalive")).isTrue();
            assertThat(ping.event().path("keepalive").isObject()).isTrue();
            c.unary("process.Process/SendSignal", "{\"process\":{\"pid\":" + pid + "},\"signal\":\"SIGNAL_SIGKILL\"}");
            s.rest();
        }
    }

    @Test
    void getIsNotAllowed() throws Exception {
        var r = c.http().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(c.base() + "/process.Process/List"))
                .header("X-Access-Token", TestAgent.ACCESS_TOKEN).GET().build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(405);
    }

    @Test
    void streamInputIsUnimplemented() throws Exception {
        assertThat(c.unary("process.Process/StreamInput", "{}").code()).isEqualTo("unimplemented");
    }
}
