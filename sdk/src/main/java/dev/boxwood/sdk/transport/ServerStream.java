package dev.boxwood.sdk.transport;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.sdk.SandboxException;
import java.io.IOException;
import java.io.InputStream;

/**
 * The response side of a server-streaming Connect call. {@link #next()} blocks for the next message; a clean end
 * returns null, an end-of-stream carrying an error throws it. Not thread-safe, except {@link #close()}, which may be
 * called from any thread to abandon the stream.
 */
public final class ServerStream implements AutoCloseable {
    private final InputStream body;
    private final String procedure;
    private volatile boolean closed;
    private boolean ended;

    ServerStream(InputStream body, String procedure) {
        this.body = body;
        this.procedure = procedure;
    }

    /** The next message, or null once the stream has ended successfully. */
    public JsonNode next() {
        if (ended) {
            return null;
        }
        Envelope envelope;
        try {
            envelope = Envelope.read(body);
        } catch (IOException e) {
            ended = true;
            if (closed) {
                return null;
            }
            throw new SandboxException(procedure + " stream broke: " + e.getMessage(), 0, "unavailable", e);
        }
        if (envelope == null) {
            ended = true;
            if (closed) {
                return null;
            }
            // The official clients insist on the end-of-stream frame: without it the outcome is unknown.
            throw new SandboxException(procedure + " stream ended without an end-of-stream message", 0, "unknown", null);
        }
        if ((envelope.flags() & Envelope.COMPRESSED) != 0) {
            ended = true;
            throw new SandboxException(procedure + ": compressed frames were not negotiated", 0, "internal", null);
        }
        if (envelope.endStream()) {
            ended = true;
            close();
            JsonNode end = Json.parseOrNull(envelope.payload());
            JsonNode error = end == null ? null : end.get("error");
            if (error != null && !error.isNull()) {
                String code = error.path("code").asText("unknown");
                throw Errors.fromConnect(code, Json.text(error, "message"), 200);
            }
            return null;
        }
        return Json.parse(envelope.payload());
    }

    /** The first message, which must exist; the stream is closed when it cannot be read. */
    public JsonNode first() {
        try {
            JsonNode message = next();
            if (message == null) {
                throw new SandboxException(procedure + " stream ended before its first message");
            }
            return message;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
        try {
            body.close();
        } catch (IOException ignored) {
            // Abandoning a stream: the connection is dropped either way.
        }
    }
}
