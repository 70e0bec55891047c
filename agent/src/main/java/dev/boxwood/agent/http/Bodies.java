package dev.boxwood.agent.http;

import java.io.IOException;
import java.io.InputStream;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;

/** Reads request bodies with a hard cap, so a huge body cannot exhaust the agent's heap. */
public final class Bodies {
    private Bodies() {}

    /** Thrown when a body exceeds its cap. */
    public static final class TooLarge extends IOException {
        public TooLarge(long limit) {
            super("request body exceeds " + limit + " bytes");
        }
    }

    public static byte[] read(Request request, int limit) throws IOException {
        long declared = request.getLength();
        if (declared > limit) throw new TooLarge(limit);
        try (InputStream in = Content.Source.asInputStream(request)) {
            return readCapped(in, limit);
        }
    }

    /** Largest unread body {@link #discard} swallows before giving up on the connection. */
    public static final long DISCARD_LIMIT = 8 << 20;

    /**
     * Reads and drops what is left of a refused request's body, up to {@link #DISCARD_LIMIT}, so the client (still
     * sending) sees the error response rather than a connection reset. Beyond the limit the connection is let go.
     */
    public static void discard(Request request) {
        if (request.getLength() == 0) return;
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] sink = new byte[16 * 1024];
            long total = 0;
            int n;
            while (total < DISCARD_LIMIT && (n = in.read(sink)) >= 0) total += n;
        } catch (IOException | RuntimeException ignored) {
            // the body was already read, or the client is gone: nothing to drain
        }
    }

    public static byte[] readCapped(InputStream in, int limit) throws IOException {
        byte[] bytes = in.readNBytes(limit + 1);
        if (bytes.length > limit) throw new TooLarge(limit);
        return bytes;
    }
}
