package dev.boxwood.server.pool;

import java.util.ArrayDeque;

/**
 * Bounds how many sandboxes boot at the same time. A boot is mostly an agent JVM starting: on a small machine fifty of
 * them at once all miss their health deadline, while the same fifty one after another each come up in about a second.
 * Creates wait in one FIFO queue, pool refills in another; a free permit always goes to the oldest waiting create
 * first, so a create only ever waits behind refills already booting, never behind queued ones. Refills also never hold
 * every permit (when there are two or more), so one is always left for a create.
 *
 * <p>Waiting happens before the runtime is called at all, so the runtime's health deadline counts from when the boot
 * really starts, and a waiter holds nothing else (no database transaction, no sandbox lock).
 */
public final class BootGate {
    /** Who asks: a create (an API caller waiting) or a pool refill (nobody waiting). */
    public enum Priority { CREATE, REFILL }

    private final int permits;
    private final int refillPermits;
    private final ArrayDeque<Waiter> creates = new ArrayDeque<>();
    private final ArrayDeque<Waiter> refills = new ArrayDeque<>();
    private int inUse;
    private int refillsInUse;
    private int peak;

    public BootGate(int permits) {
        if (permits < 1) throw new IllegalArgumentException("at least one concurrent boot is needed, not " + permits);
        this.permits = permits;
        this.refillPermits = Math.max(1, permits - 1);
    }

    /**
     * The default bound: one boot per core, at least 2. Measured on 2 cores, a burst of 50 creates: bound 2 all done
     * in 51 s (p50 29 s), bound 4 in 81 s (p50 57 s) — more agent JVMs starting at once only share the same cores
     * and each takes longer.
     */
    public static int defaultPermits() {
        return Math.max(2, Runtime.getRuntime().availableProcessors());
    }

    /** One granted boot slot; closing it hands the slot to the next waiter. */
    public final class Permit implements AutoCloseable {
        private final Priority priority;
        private boolean closed;

        private Permit(Priority priority) {
            this.priority = priority;
        }

        @Override
        public void close() {
            synchronized (BootGate.this) {
                if (closed) return;
                closed = true;
                inUse--;
                if (priority == Priority.REFILL) refillsInUse--;
                grant();
                BootGate.this.notifyAll();
            }
        }
    }

    private static final class Waiter {
        final Priority priority;
        boolean granted;

        Waiter(Priority priority) {
            this.priority = priority;
        }
    }

    /** Waits (FIFO within the priority) for a boot slot. An interrupted waiter leaves the queue and takes nothing. */
    public synchronized Permit acquire(Priority priority) throws InterruptedException {
        Waiter me = new Waiter(priority);
        (priority == Priority.CREATE ? creates : refills).addLast(me);
        grant();
        try {
            while (!me.granted) wait();
        } catch (InterruptedException e) {
            if (me.granted) {
                new Permit(priority).close(); // granted just as we were interrupted: pass it on
            } else {
                (priority == Priority.CREATE ? creates : refills).remove(me);
                grant(); // a refill may now be allowed where this create stood first
                notifyAll();
            }
            throw e;
        }
        return new Permit(priority);
    }

    private void grant() {
        boolean any = false;
        while (inUse < permits) {
            Waiter next = creates.pollFirst();
            if (next == null && creates.isEmpty() && refillsInUse < refillPermits) next = refills.pollFirst();
            if (next == null) break;
            next.granted = true;
            inUse++;
            if (next.priority == Priority.REFILL) refillsInUse++;
            peak = Math.max(peak, inUse);
            any = true;
        }
        if (any) notifyAll();
    }

    public int permits() {
        return permits;
    }

    /** Boots holding a slot now. */
    public synchronized int booting() {
        return inUse;
    }

    /** Creates and refills waiting for a slot now. */
    public synchronized int waiting() {
        return creates.size() + refills.size();
    }

    /** Most slots ever held at once (diagnostics, tests). */
    public synchronized int peak() {
        return peak;
    }
}
