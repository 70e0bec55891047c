package dev.boxwood.server.router;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts proxied requests and tunnels in flight per sandbox, so one sandbox's visitors cannot take all of the
 * proxy's connections and threads.
 */
final class IngressSlots {
    private final int max;
    private final ConcurrentHashMap<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();

    IngressSlots(int max) {
        if (max < 1) throw new IllegalArgumentException("the per-sandbox ingress cap must be at least 1, not " + max);
        this.max = max;
    }

    boolean tryAcquire(String sandboxId) {
        boolean[] taken = new boolean[1];
        inFlight.compute(sandboxId, (id, n) -> {
            AtomicInteger count = n == null ? new AtomicInteger() : n;
            if (count.get() < max) {
                count.incrementAndGet();
                taken[0] = true;
            }
            return count;
        });
        return taken[0];
    }

    void release(String sandboxId) {
        // Entries of sandboxes with nothing in flight are dropped, so the map does not grow with every id ever seen.
        inFlight.computeIfPresent(sandboxId, (id, n) -> n.decrementAndGet() <= 0 ? null : n);
    }
}
