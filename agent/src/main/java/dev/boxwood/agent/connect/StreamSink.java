package dev.boxwood.agent.connect;

import java.io.IOException;

/** Where a server-streaming RPC writes its messages; each is flushed to the client at once. */
public interface StreamSink<R> {
    /** Sends one message; IOException means the client is gone and the RPC should stop. */
    void send(R message) throws IOException;

    /**
     * Sends the RPC's last message: it may wait to go out with the end-of-stream envelope, in one write, since the
     * RPC returns right after it.
     */
    default void sendLast(R message) throws IOException {
        send(message);
    }

    /** False once a write failed: the client is gone. */
    boolean isOpen();
}
