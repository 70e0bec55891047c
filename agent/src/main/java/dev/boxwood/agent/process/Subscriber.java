package dev.boxwood.agent.process;

import dev.boxwood.protocol.envd.process.ProcessEvent;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One client's view of a process's output: a small bounded queue. A full queue blocks the output pump, which stops
 * reading the pipe, which blocks the child: back-pressure instead of unbounded buffering.
 */
final class Subscriber {
    /** With 32 KiB chunks, at most 2 MiB queued per client. */
    private static final int CAPACITY = 64;

    private final BlockingQueue<ProcessEvent> queue = new ArrayBlockingQueue<>(CAPACITY);
    private volatile boolean closed;

    /** Blocks while the queue is full; gives up once the subscriber is closed. */
    void deliver(ProcessEvent event) throws InterruptedException {
        while (!closed) {
            if (queue.offer(event, 200, TimeUnit.MILLISECONDS)) return;
        }
    }

    ProcessEvent poll(long timeoutNanos) throws InterruptedException {
        return queue.poll(timeoutNanos, TimeUnit.NANOSECONDS);
    }

    void close() {
        closed = true;
        queue.clear();
    }

    boolean isClosed() {
        return closed;
    }
}
