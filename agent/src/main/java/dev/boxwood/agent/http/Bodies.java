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

    public static byte[] readCapped(InputStream in, int limit) throws IOException {
        byte[] bytes = in.readNBytes(limit + 1);
        if (bytes.length > limit) throw new TooLarge(limit);
        return bytes;
    }
}
