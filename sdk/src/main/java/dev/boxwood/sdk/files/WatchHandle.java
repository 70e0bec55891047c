package dev.boxwood.sdk.files;

import dev.boxwood.sdk.transport.ServerStream;

/** A running directory watch; {@link #stop()} ends it. */
public final class WatchHandle implements AutoCloseable {
    private final ServerStream stream;
    private final Thread pump;

    WatchHandle(ServerStream stream, Thread pump) {
        this.stream = stream;
        this.pump = pump;
    }

    /** Stops watching; no events are delivered after this returns. */
    public void stop() {
        stream.close();
        if (Thread.currentThread() != pump) {
            try {
                pump.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }
}
