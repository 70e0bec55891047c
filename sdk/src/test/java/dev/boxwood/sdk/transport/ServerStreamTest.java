package dev.boxwood.sdk.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxwood.sdk.NotFoundException;
import dev.boxwood.sdk.SandboxException;
import dev.boxwood.sdk.TimeoutException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ServerStreamTest {
    private static byte[] frame(int flags, String json) {
        return new Envelope(flags, json.getBytes(StandardCharsets.UTF_8)).encode();
    }

    private static ServerStream stream(byte[]... frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] f : frames) {
            out.writeBytes(f);
        }
        return new ServerStream(new ByteArrayInputStream(out.toByteArray()), "test.Service/Method");
    }

    @Test
    void envelopeIsFlagsThenBigEndianLengthThenPayload() {
        byte[] encoded = frame(0, "{}");
        assertThat(encoded).containsExactly(0, 0, 0, 0, 2, '{', '}');
        byte[] end = frame(Envelope.END_STREAM, "{\"a\":1}");
        assertThat(Arrays.copyOf(end, 5)).containsExactly(2, 0, 0, 0, 7);
    }

    @Test
    void envelopeReadsBackAndRejectsTruncation() throws Exception {
        byte[] encoded = frame(0, "{\"x\":\"" + "y".repeat(300) + "\"}");
        Envelope read = Envelope.read(new ByteArrayInputStream(encoded));
        assertThat(read.flags()).isZero();
        assertThat(new String(read.payload(), StandardCharsets.UTF_8)).startsWith("{\"x\":\"yyy").hasSize(308);
        assertThat(Envelope.read(new ByteArrayInputStream(new byte[0]))).isNull();
        assertThatThrownBy(() -> Envelope.read(new ByteArrayInputStream(Arrays.copyOf(encoded, 100))))
                .isInstanceOf(EOFException.class);
        assertThatThrownBy(() -> Envelope.read(new ByteArrayInputStream(new byte[] {0, 0, 1})))
                .isInstanceOf(EOFException.class);
    }

    @Test
    void messagesThenCleanEnd() {
        ServerStream s = stream(frame(0, "{\"event\":{\"start\":{\"pid\":7}}}"), frame(0, "{\"n\":2}"),
                frame(Envelope.END_STREAM, "{}"));
        assertThat(s.first().path("event").path("start").path("pid").asInt()).isEqualTo(7);
        assertThat(s.next().path("n").asInt()).isEqualTo(2);
        assertThat(s.next()).isNull();
        assertThat(s.next()).isNull();
    }

    @Test
    void endStreamErrorIsMappedWithTheServersMessage() {
        ServerStream s = stream(frame(Envelope.END_STREAM,
                "{\"error\":{\"code\":\"not_found\",\"message\":\"path '/nope' does not exist\"},\"metadata\":{}}"));
        assertThatThrownBy(s::next).isInstanceOf(NotFoundException.class)
                .hasMessage("path '/nope' does not exist")
                .extracting(e -> ((SandboxException) e).code()).isEqualTo("not_found");
    }

    @Test
    void deadlineExceededIsATimeout() {
        ServerStream s = stream(frame(0, "{}"), frame(Envelope.END_STREAM,
                "{\"error\":{\"code\":\"deadline_exceeded\",\"message\":\"deadline exceeded\"}}"));
        assertThat(s.next()).isNotNull();
        assertThatThrownBy(s::next).isInstanceOf(TimeoutException.class).hasMessageContaining("deadline exceeded");
    }

    @Test
    void streamWithoutEndMessageIsAnError() {
        ServerStream s = stream(frame(0, "{}"));
        assertThat(s.next()).isNotNull();
        assertThatThrownBy(s::next).isInstanceOf(SandboxException.class).hasMessageContaining("end-of-stream");
    }

    @Test
    void compressedFramesAreRefused() {
        ServerStream s = stream(frame(Envelope.COMPRESSED, "{}"));
        assertThatThrownBy(s::next).hasMessageContaining("compressed");
    }

    @Test
    void emptyStreamHasNoFirstMessage() {
        ServerStream s = stream(frame(Envelope.END_STREAM, "{}"));
        assertThatThrownBy(s::first).isInstanceOf(SandboxException.class);
        assertThat(s.isClosed()).isTrue();
    }
}
