package dev.boxwood.server.sandbox;

import dev.boxwood.server.runtime.SandboxRuntime;
import dev.boxwood.server.store.SandboxRow;
import java.util.Collection;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sandbox disks are sparse, and a create is refused only when its own disk, filled, would eat into the reserve of
 * the filesystem under them. So sandboxes already running can still fill it between them, and then the server's
 * database, the host and every sandbox would fail together. On each {@link #check} below the reserve, this ends the
 * running sandbox holding the most of its disk, as the kernel's OOM killer does for memory. It ends one at a time,
 * waiting for that sandbox's disk to be removed, until there is room again.
 *
 * <p>A sandbox's share is what its own filesystem reports used. Blocks it freed inside stay allocated in its image
 * until the sandbox ends, so this can under-count a sandbox that wrote and deleted; it ends someone all the same.
 */
final class DiskGuard {
    private static final Logger LOG = LoggerFactory.getLogger(DiskGuard.class);
    /** A sandbox holding less is not worth ending: the room is going somewhere else on the host. */
    static final long LEAST_WORTH_ENDING = 64L << 20;
    private static final long WARN_EVERY_NANOS = 60_000_000_000L;

    private final SandboxRuntime runtime;
    private final Supplier<Collection<LiveSandbox>> live;
    private final Predicate<String> tearingDown;
    private final BiConsumer<String, String> end;
    private String lastEnded;
    private long lastWarned = System.nanoTime() - WARN_EVERY_NANOS;

    /**
     * @param tearingDown whether an ended sandbox's host resources (its disk) are still being removed
     * @param end         ends a live sandbox, with the reason its record keeps
     */
    DiskGuard(SandboxRuntime runtime, Supplier<Collection<LiveSandbox>> live, Predicate<String> tearingDown,
              BiConsumer<String, String> end) {
        this.runtime = runtime;
        this.live = live;
        this.tearingDown = tearingDown;
        this.end = end;
    }

    /** One look at the room left; ends at most one sandbox. Not reentrant: the caller runs it on one thread. */
    void check() {
        long shortfall = runtime.diskShortfall();
        if (shortfall <= 0) return;
        // The last sandbox ended gives its room back only once its disk is deleted.
        if (lastEnded != null && tearingDown.test(lastEnded)) return;
        LiveSandbox victim = null;
        long most = 0;
        for (LiveSandbox s : live.get()) {
            if (s.row().status() != SandboxRow.Status.RUNNING) continue;
            long used;
            try {
                used = runtime.usage(s.row().id()).diskUsedBytes();
            } catch (RuntimeException e) {
                continue; // ended meanwhile
            }
            if (used > most) {
                most = used;
                victim = s;
            }
        }
        if (victim == null || most < LEAST_WORTH_ENDING) {
            if (System.nanoTime() - lastWarned >= WARN_EVERY_NANOS) {
                lastWarned = System.nanoTime();
                LOG.warn("the filesystem under the sandboxes is {} MB short of its reserve, and no running sandbox"
                        + " holds {} MB of it: something else on the host is filling it", shortfall >> 20,
                        LEAST_WORTH_ENDING >> 20);
            }
            return;
        }
        String id = victim.row().id();
        LOG.warn("the filesystem under the sandboxes is {} MB short of its reserve: ending sandbox {}, which holds the"
                + " most of it ({} MB)", shortfall >> 20, id, most >> 20);
        lastEnded = id;
        end.accept(id, "sandbox ended by the disk guard: the host's disk for sandboxes ran short of room, and this one"
                + " held the most of it (" + (most >> 20) + " MB)");
    }
}
