package dev.boxwood.sdk.transport;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * One frame of a Connect streaming body: a flags byte, a 4-byte big-endian length, then the message.
 *
 * @param flags   {@link #END_STREAM} marks the final frame, whose payload is the end-of-stream JSON
 * @param payload the message bytes (JSON with the codec the SDK uses)
 */
public record Envelope(int flags, byte[] payload) {
    public static final int COMPRESSED = 0x01;
    public static final int END_STREAM = 0x02;
    /** A frame this large is a protocol error rather than a message (the agent's messages are small). */
    public static final int MAX_PAYLOAD = 64 * 1024 * 1024;

    public boolean endStream() {
        return (flags & END_STREAM) != 0;
    }

    public byte[] encode() {
        return ByteBuffer.allocate(5 + payload.length).put((byte) flags).putInt(payload.length).put(payload).array();
    }

    /** Reads the next frame, or returns null when the stream ends cleanly between frames. */
    public static Envelope read(InputStream in) throws IOException {
        int flags = in.read();
        if (flags < 0) {
            return null;
        }
        byte[] header = in.readNBytes(4);
        if (header.length < 4) {
            throw new EOFException("stream ended inside an envelope header");
        }
        int length = ByteBuffer.wrap(header).getInt();
        if (length < 0 || length > MAX_PAYLOAD) {
            throw new IOException("envelope of " + Integer.toUnsignedString(length) + " bytes exceeds the limit");
        }
        byte[] payload = in.readNBytes(length);
        if (payload.length < length) {
            throw new EOFException("stream ended inside an envelope (" + payload.length + " of " + length + " bytes)");
        }
        return new Envelope(flags, payload);
    }
}
