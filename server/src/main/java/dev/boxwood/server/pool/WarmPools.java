package dev.boxwood.server.pool;

import dev.boxwood.server.runtime.RunningSandbox;
import dev.boxwood.server.runtime.SandboxRuntime;
import dev.boxwood.server.runtime.SandboxSpec;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sandboxes booted ahead per template, agent up and already given its access token (a fresh secret no client has
 * seen), so that a claim needs no round trip into the sandbox unless the create brings env vars. A pooled sandbox
 * belongs to no team and has no row in the store
 * until it is claimed: it is never listed, never counted, never routed, and a restarted server's recovery destroys
 * it as a leftover with no row. Each one is handed out at most once (one atomic poll of a deque).
 *
 * <p>Refills run in the background on virtual threads, at most {@code bootConcurrency} boots at a time across all
 * pools, and each takes a slot of the server's {@link BootGate} at refill priority: a cold create waiting for a slot
 * goes first, so refills never queue ahead of creates; a claim never waits for a refill.
 *
 * <p>A pooled sandbox boots and waits at a low CPU weight ({@link #WAITING_WEIGHT}) and gets the normal one at its
 * claim, so that warming sandboxes yield the cores to running ones; and a refill starts only once claims have paused
 * for {@link #PACE}, so that its host-side set-up (overlay, crun, network: the server's own processes) does not share
 * the cores with the responses of a run of claims.
 */
public final class WarmPools implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WarmPools.class);
    private static final Duration MAX_BACKOFF = Duration.ofMinutes(1);
    static final Duration CHECK_EVERY = Duration.ofSeconds(10);
    /**
     * cpu.shares while booting and waiting: a quarter of a running sandbox's. At 16, boots next to a few busy sandboxes
     * (load 20 on 2 cores) got under 1 % of a core and missed their 30 s health deadline. Idle scheduling (SCHED_IDLE,
     * to yield to the server too) was tried and dropped: at that load pooled boots took 18-36 s instead of about 3.
     */
    static final int WAITING_WEIGHT = 256;
    /** cpu.shares from the claim on: what a cold-booted sandbox has. */
    static final int CLAIMED_WEIGHT = SandboxRuntime.NORMAL_CPU_WEIGHT;
    static final Duration PACE = Duration.ofMillis(200);
    private static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(5);
    private final HttpClient health = HttpClient.newBuilder().connectTimeout(HEALTH_TIMEOUT)
            .version(HttpClient.Version.HTTP_1_1).build();

    private final SandboxRuntime runtime;
    private final Supplier<String> ids;
    private final Consumer<RunningSandbox> readiness;
    private final Function<RunningSandbox, String> personalise;
    private final int cpus;
    private final int memoryMB;
    private final int diskMB;
    private final Semaphore boots;
    private final BootGate gate;
    private final Map<String, Pool> pools = new LinkedHashMap<>();
    private final Set<Thread> workers = ConcurrentHashMap.newKeySet();
    private volatile boolean started;
    private volatile boolean closed;
    private volatile long lastClaim = System.nanoTime() - PACE.toNanos();

    /**
     * @param sizes           target size per (canonical) template name
     * @param cpus            resources every pooled sandbox is booted with; only creates asking for exactly these
     * @param readiness       waits for what a template needs beyond a healthy agent (e.g. the interpreter's port);
     *                        throws to reject the sandbox
     * @param bootConcurrency most boots in flight across all pools
     */
    public WarmPools(SandboxRuntime runtime, Map<String, Integer> sizes, int cpus, int memoryMB, int diskMB,
                     Supplier<String> ids, Consumer<RunningSandbox> readiness, int bootConcurrency) {
        this(runtime, sizes, cpus, memoryMB, diskMB, ids, readiness, bootConcurrency, new BootGate(Math.max(1, bootConcurrency)),
                s -> null);
    }

    /**
     * As above, sharing the server's bound on concurrent boots with cold creates.
     *
     * @param personalise gives a ready sandbox its access token ahead of the claim and returns it; null when it did not
     */
    public WarmPools(SandboxRuntime runtime, Map<String, Integer> sizes, int cpus, int memoryMB, int diskMB,
                     Supplier<String> ids, Consumer<RunningSandbox> readiness, int bootConcurrency, BootGate gate,
                     Function<RunningSandbox, String> personalise) {
        this.gate = gate;
        this.personalise = personalise;
        this.runtime = runtime;
        this.ids = ids;
        this.readiness = readiness;
        this.cpus = cpus;
        this.memoryMB = memoryMB;
        this.diskMB = diskMB;
        this.boots = new Semaphore(Math.max(1, bootConcurrency), true);
        sizes.forEach((template, size) -> {
            if (size > 0) pools.put(template, new Pool(template, size));
        });
    }

    /** Starts filling every pool; call after restart recovery, which would take in-flight boots for leftovers. */
    public void start() {
        started = true;
        pools.values().forEach(this::refill);
        if (!pools.isEmpty()) {
            Thread checker = Thread.ofVirtual().name("boxwood-pool-check").unstarted(this::checkIdle);
            workers.add(checker);
            checker.start();
        }
    }

    /**
     * A claim does not talk to the sandbox any more, so a pooled agent that stopped answering while it waited would be
     * handed out; every {@link #CHECK_EVERY} each waiting one is asked for {@code GET /health}, and one that does not
     * answer is taken out of its pool (unless a claim got it first), destroyed and replaced.
     */
    private void checkIdle() {
        try {
            while (!closed) {
                long until = System.nanoTime() + CHECK_EVERY.toNanos();
                while (!closed && System.nanoTime() < until) Thread.sleep(200);
                for (Pool pool : pools.values()) {
                    for (Pooled p : List.copyOf(pool.ready)) {
                        if (closed || healthy(p.sandbox()) || !pool.ready.remove(p)) continue;
                        String id = p.sandbox().sandboxId();
                        LOG.warn("pooled sandbox {} stopped answering while it waited; destroying it", id);
                        destroy(id);
                        refill(pool);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            workers.remove(Thread.currentThread());
        }
    }

    private boolean healthy(RunningSandbox sandbox) throws InterruptedException {
        try {
            HttpRequest request = HttpRequest.newBuilder(sandbox.agentUri().resolve("/health")).timeout(HEALTH_TIMEOUT).GET().build();
            return health.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() / 100 == 2;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Hands out a ready sandbox of {@code template} booted with exactly these resources, or nothing (the caller then
     * boots one cold). Never waits; always tops the pool back up in the background.
     */
    public Optional<Pooled> claim(String template, int cpus, int memoryMB, int diskMB) {
        Pool pool = pools.get(template);
        if (pool == null || closed || cpus != this.cpus || memoryMB != this.memoryMB || diskMB != this.diskMB) {
            return Optional.empty();
        }
        Pooled sandbox;
        // A pooled sandbox whose agent died while it waited (tini exits with it) is dropped, not handed out; so is one
        // that cannot get its normal CPU weight back (it would run at a quarter of what a cold one gets).
        while ((sandbox = pool.ready.pollFirst()) != null && !(sandbox.alive() && restoreWeight(sandbox))) {
            String dead = sandbox.sandbox().sandboxId();
            LOG.warn("pooled sandbox {} died while it waited, or lost its cgroup; destroying it", dead);
            Thread.ofVirtual().name("boxwood-pool-drop-" + dead).start(() -> destroy(dead));
        }
        lastClaim = System.nanoTime();
        refill(pool);
        if (sandbox != null) LOG.info("sandbox {} claimed from the {} pool", sandbox.sandbox().sandboxId(), template);
        return Optional.ofNullable(sandbox);
    }

    private boolean restoreWeight(Pooled sandbox) {
        try {
            runtime.cpuWeight(sandbox.sandbox().sandboxId(), CLAIMED_WEIGHT);
            return true;
        } catch (RuntimeException e) {
            LOG.warn("pooled sandbox {}: {}", sandbox.sandbox().sandboxId(), e.getMessage());
            return false;
        }
    }

    /** Ready sandboxes per template. */
    public Map<String, Integer> available() {
        Map<String, Integer> out = new LinkedHashMap<>();
        pools.forEach((t, p) -> out.put(t, p.ready.size()));
        return out;
    }

    /** Ids of the ready, unclaimed sandboxes (tests, diagnostics). */
    public List<String> pooledIds() {
        List<String> ids = new ArrayList<>();
        pools.values().forEach(p -> p.ready.forEach(s -> ids.add(s.sandbox().sandboxId())));
        return ids;
    }

    public Map<String, Integer> targets() {
        Map<String, Integer> out = new LinkedHashMap<>();
        pools.forEach((t, p) -> out.put(t, p.target));
        return out;
    }

    private void refill(Pool pool) {
        while (started && !closed) {
            int booting = pool.booting.get();
            if (pool.ready.size() + booting >= pool.target) return;
            if (!pool.booting.compareAndSet(booting, booting + 1)) continue;
            Thread worker = Thread.ofVirtual().name("boxwood-pool-" + pool.template).unstarted(() -> boot(pool));
            workers.add(worker);
            worker.start();
        }
    }

    private void boot(Pool pool) {
        boolean ok = false;
        try {
            awaitClaimsPaused();
            boots.acquire();
            try (BootGate.Permit slot = gate.acquire(BootGate.Priority.REFILL)) {
                if (closed) return;
                String id = ids.get();
                RunningSandbox sandbox;
                String accessToken;
                try {
                    runtime.cpuWeight(id, WAITING_WEIGHT);
                    sandbox = runtime.start(new SandboxSpec(id, pool.template, cpus, memoryMB, diskMB));
                    readiness.accept(sandbox);
                    accessToken = personalise.apply(sandbox);
                } catch (RuntimeException e) {
                    LOG.warn("pooled sandbox {} for template {} failed to boot: {}", id, pool.template, e.toString());
                    destroy(id);
                    return;
                }
                if (closed) {
                    destroy(id);
                    return;
                }
                pool.ready.addLast(new Pooled(sandbox, accessToken));
                ok = true;
                pool.failures.set(0);
                LOG.info("sandbox {} booted into the {} pool ({} ready)", id, pool.template, pool.ready.size());
            } finally {
                boots.release();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (!ok && !closed) backOff(pool);
            pool.booting.decrementAndGet();
            workers.remove(Thread.currentThread());
            if (!closed) refill(pool);
        }
    }

    private void awaitClaimsPaused() throws InterruptedException {
        long wait;
        while (!closed && (wait = lastClaim + PACE.toNanos() - System.nanoTime()) > 0) {
            Thread.sleep(Duration.ofNanos(Math.min(wait, PACE.toNanos())));
        }
    }

    /** A template that cannot boot (not built, broken) is retried ever more slowly instead of in a tight loop. */
    private void backOff(Pool pool) {
        int failures = pool.failures.incrementAndGet();
        long millis = Math.min(MAX_BACKOFF.toMillis(), 500L << Math.min(10, failures));
        try {
            long until = System.nanoTime() + millis * 1_000_000;
            while (!closed && System.nanoTime() < until) Thread.sleep(Math.min(200, millis));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void destroy(String id) {
        try {
            runtime.destroy(id);
        } catch (RuntimeException e) {
            LOG.error("could not destroy pooled sandbox {}", id, e);
        }
    }

    /** Stops refilling, waits for boots in flight and destroys every unclaimed sandbox. */
    @Override
    public void close() {
        closed = true;
        for (Thread worker : List.copyOf(workers)) {
            try {
                worker.join(Duration.ofMinutes(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (Pool pool : pools.values()) {
            for (Pooled s; (s = pool.ready.pollFirst()) != null; ) destroy(s.sandbox().sandboxId());
        }
    }

    /**
     * A ready sandbox as a claim receives it.
     *
     * @param accessToken the token its agent already holds (given by {@code personalise}), or null when it holds none
     */
    public record Pooled(RunningSandbox sandbox, String accessToken) {
        boolean alive() {
            return ProcessHandle.of(sandbox.pid()).map(ProcessHandle::isAlive).orElse(false);
        }
    }

    private static final class Pool {
        final String template;
        final int target;
        final ConcurrentLinkedDeque<Pooled> ready = new ConcurrentLinkedDeque<>();
        final AtomicInteger booting = new AtomicInteger();
        final AtomicInteger failures = new AtomicInteger();

        Pool(String template, int target) {
            this.template = template;
            this.target = target;
        }
    }
}
