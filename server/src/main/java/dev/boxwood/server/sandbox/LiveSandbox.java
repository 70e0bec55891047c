package dev.boxwood.server.sandbox;

import dev.boxwood.server.runtime.ResourceUsage;
import dev.boxwood.server.runtime.RunningSandbox;
import dev.boxwood.server.store.SandboxRow;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ScheduledFuture;

/** A sandbox this server process currently runs: its row, where it is, its expiry timer and recent metrics. */
public final class LiveSandbox {
    private static final int MAX_SAMPLES = 720;

    private final RunningSandbox running;
    private volatile SandboxRow row;
    private ScheduledFuture<?> expiry;
    private final Deque<Metric> metrics = new ArrayDeque<>();
    private ResourceUsage lastUsage;
    private long lastUsageNanos;

    LiveSandbox(SandboxRow row, RunningSandbox running) {
        this.row = row;
        this.running = running;
    }

    public SandboxRow row() {
        return row;
    }

    public RunningSandbox running() {
        return running;
    }

    void row(SandboxRow row) {
        this.row = row;
    }

    private volatile Instant resumedAt;

    /** When the sandbox was last resumed (its lifetime cap counts from there), else {@code otherwise}. */
    Instant lifetimeStart(Instant otherwise) {
        Instant r = resumedAt;
        return r == null ? otherwise : r;
    }

    void resumed(Instant at) {
        resumedAt = at;
    }

    synchronized void replaceExpiry(ScheduledFuture<?> next) {
        if (expiry != null) expiry.cancel(false);
        expiry = next;
    }

    synchronized void cancelExpiry() {
        replaceExpiry(null);
    }

    /** Adds a sample; CPU percentage comes from the CPU time used since the previous sample. */
    synchronized Metric record(ResourceUsage usage, Instant at, long nanoTime) {
        double pct;
        int cpus = Math.max(1, usage.cpuCount());
        if (lastUsage == null) {
            long wall = Math.max(1, at.toEpochMilli() - row.startedAt().toEpochMilli()) * 1_000_000L;
            pct = 100.0 * usage.cpuUsageNanos() / wall / cpus;
        } else {
            long wall = Math.max(1, nanoTime - lastUsageNanos);
            pct = 100.0 * Math.max(0, usage.cpuUsageNanos() - lastUsage.cpuUsageNanos()) / wall / cpus;
        }
        pct = Math.min(100.0, Math.max(0.0, Math.round(pct * 100) / 100.0));
        lastUsage = usage;
        lastUsageNanos = nanoTime;
        Metric m = new Metric(at, usage.cpuCount(), pct, usage.memUsedBytes(), usage.memTotalBytes(),
                usage.memCacheBytes(), usage.diskUsedBytes(), usage.diskTotalBytes());
        metrics.addLast(m);
        while (metrics.size() > MAX_SAMPLES) metrics.removeFirst();
        return m;
    }

    synchronized List<Metric> metrics() {
        return new ArrayList<>(metrics);
    }
}
