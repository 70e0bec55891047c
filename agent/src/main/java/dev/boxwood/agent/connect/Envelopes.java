package dev.boxwood.agent.connect;

import java.io.IOException;
import java.io.InputStream;

/**
 * Connect's 5-byte envelope: one flag byte (0x01 compressed, 0x02 end of stream), a big-endian length, the message.
 */
public final class Envelopes {
    public static final int END_STREAM = 0x02;
    public static final int COMPRESSED = 0x01;

    private Envelopes() {}

    public static byte[] frame(int flags, byte[] payload) {
        byte[] out = new byte[5 + payload.length];
        out[0] = (byte) flags;
        int n = payload.length;
        out[1] = (byte) (n >>> 24);
        out[2] = (byte) (n >>> 16);
        out[3] = (byte) (n >>> 8);
        out[4] = (byte) n;
        System.arraycopy(payload, 0, out, 5, n);
        return out;
    }

    /**
     * Reads the single request envelope of a server-streaming call. Bad flags or a truncated frame are
     * invalid_argument; a frame larger than {@code limit} is resource_exhausted (read before any payload).
     */
    public static byte[] readRequest(InputStream in, int limit) throws IOException {
        byte[] header = in.readNBytes(5);
        if (header.length == 0) throw ConnectError.invalidArgument("missing request envelope");
        if (header.length < 5) throw ConnectError.invalidArgument("truncated envelope header");
        int flags = header[0] & 0xff;
        if ((flags & COMPRESSED) != 0) throw ConnectError.invalidArgument("compressed envelopes are not supported");
        if (flags != 0) throw ConnectError.invalidArgument("unexpected envelope flags 0x" + Integer.toHexString(flags));
        long length = ((header[1] & 0xffL) << 24) | ((header[2] & 0xff) << 16) | ((header[3] & 0xff) << 8)
                | (header[4] & 0xff);
        if (length > limit) {
            throw ConnectError.resourceExhausted("message of " + length + " bytes exceeds the limit of " + limit);
        }
        byte[] payload = in.readNBytes((int) length);
        if (payload.length < length) {
            throw ConnectError.invalidArgument("truncated envelope: expected " + length + " bytes, got "
                    + payload.length);
        }
        if (in.read() != -1) throw ConnectError.invalidArgument("more than one request message in a server stream");
        return payload;
    }
}
