package dev.boxwood.agent.connect;

import java.io.IOException;

/** Where a server-streaming RPC writes its messages; each is flushed to the client at once. */
public interface StreamSink<R> {
    /** Sends one message; IOException means the client is gone and the RPC should stop. */
    void send(R message) throws IOException;

    /** False once a write failed: the client is gone. */
    boolean isOpen();
}
