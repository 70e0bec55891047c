package dev.boxwood.server.sandbox;

import dev.boxwood.server.Config;
import dev.boxwood.server.runtime.RunningSandbox;
import dev.boxwood.server.runtime.RuntimeFailure;
import dev.boxwood.server.runtime.SandboxRuntime;
import dev.boxwood.server.runtime.SandboxSpec;
import dev.boxwood.server.store.SandboxEvent;
import dev.boxwood.server.store.SandboxRow;
import dev.boxwood.server.store.SandboxStore;
import dev.boxwood.server.store.Team;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates, times out, kills and recovers sandboxes. Each live sandbox is an entry of a concurrent map; creates run
 * in parallel on their callers' (virtual) threads and take no shared lock. Expiry is one scheduler thread that only
 * hands due sandboxes to virtual threads.
 */
public final class SandboxManager implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SandboxManager.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
    public static final Pattern ID_PATTERN = Pattern.compile("[a-z0-9]{1,64}");

    static final int MAX_METADATA_ENTRIES = 64;
    static final int MAX_METADATA_KEY = 256;
    static final int MAX_METADATA_VALUE = 4096;
    static final int MAX_METADATA_TOTAL = 16 * 1024;
    static final int MAX_ENV_TOTAL = 64 * 1024;
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private final Config config;
    private final SandboxRuntime runtime;
    private final SandboxStore store;
    private final Templates templates;
    private final AgentClient agent;
    private final Map<String, LiveSandbox> live = new ConcurrentHashMap<>();
    /** Creates under way per team, not yet in {@link #live}: counted against the team's limit. */
    private final Map<String, Integer> admitted = new java.util.HashMap<>();
    private final ScheduledThreadPoolExecutor scheduler;
    private volatile dev.boxwood.server.pool.WarmPools pools;
    private final dev.boxwood.server.pool.BootGate boots;

    public SandboxManager(Config config, SandboxRuntime runtime, SandboxStore store, Templates templates, AgentClient agent) {
        this.config = config;
        this.runtime = runtime;
        this.store = store;
        this.templates = templates;
        this.agent = agent;
        this.boots = new dev.boxwood.server.pool.BootGate(config.maxConcurrentBoots());
        this.scheduler = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "boxwood-lifecycle");
            t.setDaemon(true);
            return t;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        long every = Math.max(200, config.metricsInterval().toMillis());
        scheduler.scheduleWithFixedDelay(() -> Thread.ofVirtual().name("boxwood-metrics").start(this::sampleAll),
                every, every, TimeUnit.MILLISECONDS);
        DiskGuard guard = new DiskGuard(runtime, live::values, teardowns::containsKey,
                (id, why) -> end(id, SandboxRow.Status.KILLED, why));
        java.util.concurrent.atomic.AtomicBoolean guarding = new java.util.concurrent.atomic.AtomicBoolean();
        // Every second: a sandbox writing fast crosses the reserve (at least 1 GiB) in about that time.
        scheduler.scheduleWithFixedDelay(() -> {
            if (guarding.compareAndSet(false, true)) Thread.ofVirtual().name("boxwood-disk-guard").start(() -> {
                try {
                    guard.check();
                } finally {
                    guarding.set(false);
                }
            });
        }, 1, 1, TimeUnit.SECONDS);
    }

    private static String ms(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.1f", nanos / 1e6);
    }

    public static String newSandboxId() {
        char[] id = new char[20];
        for (int i = 0; i < id.length; i++) id[i] = ID_ALPHABET[RANDOM.nextInt(ID_ALPHABET.length)];
        return new String(id);
    }

    // ---- create -------------------------------------------------------------------------------------------------

    /** Boots, initialises and records a sandbox; on any failure nothing is left behind. */
    public SandboxRow create(Team team, CreateSpec spec) {
        return create(team, spec, dev.boxwood.server.network.EgressRules.parse(spec.allowInternetAccess(), null, null));
    }

    /** As {@link #create(Team, CreateSpec)}, with outbound rules in place before the agent takes its first request. */
    public SandboxRow create(Team team, CreateSpec spec, dev.boxwood.server.network.EgressRules egress) {
        if (egress.restricted() && !runtime.controlsEgress()) {
            // refused, not ignored: a sandbox asked to be offline must not quietly be online
            throw SandboxError.badRequest("outbound network rules (allow_internet_access=false, network.denyOut) are"
                    + " not supported by this server's runtime");
        }
        long t0 = System.nanoTime();
        validate(spec);
        int cpus = resource(spec.cpuCount(), config.defaultCpuCount(), config.maxCpuCount(), "cpuCount");
        int memory = resource(spec.memoryMB(), config.defaultMemoryMB(), config.maxMemoryMB(), "memoryMB");
        int disk = resource(spec.diskSizeMB(), config.defaultDiskMB(), config.maxDiskMB(), "diskSizeMB");
        admit(team);
        try {
            return create(team, spec, egress, t0, cpus, memory, disk);
        } finally {
            release(team);
        }
    }

    /**
     * Counts a create against its team's limit, or refuses it: the team's running sandboxes and its creates under way
     * together stay within {@code maxSandboxesPerTeam}, so one team cannot take the whole host.
     */
    private void admit(Team team) {
        int max = config.maxSandboxesPerTeam();
        if (max <= 0) return;
        synchronized (admitted) {
            long running = live.values().stream().filter(s -> s.row().teamId().equals(team.id())
                    && s.row().status() == SandboxRow.Status.RUNNING).count();
            int underWay = admitted.getOrDefault(team.id(), 0);
            if (running + underWay >= max) {
                throw new SandboxError(SandboxError.Kind.LIMITED, "team '" + team.name() + "' has reached its limit of "
                        + max + " running sandboxes (" + running + " running, " + underWay + " starting);"
                        + " kill one first");
            }
            admitted.merge(team.id(), 1, Integer::sum);
        }
    }

    private void release(Team team) {
        if (config.maxSandboxesPerTeam() <= 0) return;
        synchronized (admitted) {
            admitted.computeIfPresent(team.id(), (id, n) -> n > 1 ? n - 1 : null);
        }
    }

    private SandboxRow create(Team team, CreateSpec spec, dev.boxwood.server.network.EgressRules egress, long t0,
                              int cpus, int memory, int disk) {
        String accessToken = newAccessToken();
        dev.boxwood.server.pool.WarmPools.Pooled claimed = claimPooled(spec, cpus, memory, disk, egress, accessToken);
        RunningSandbox running = claimed == null ? null : claimed.sandbox();
        if (claimed != null) accessToken = claimed.accessToken();
        boolean initialised = running != null;
        String id = running != null ? running.sandboxId() : newSandboxId();
        if (running == null) try (var permit = acquireBoot()) {
            running = runtime.start(new SandboxSpec(id, spec.templateId(), cpus, memory, disk));
        } catch (dev.boxwood.server.runtime.NoRoomForSandbox e) {
            throw new SandboxError(SandboxError.Kind.UNAVAILABLE, e.getMessage(), e); // nothing was made
        } catch (RuntimeFailure e) {
            cleanUpFailed(id, e);
            throw new SandboxError(SandboxError.Kind.FAILED, "failed to start sandbox: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            cleanUpFailed(id, e);
            throw new SandboxError(SandboxError.Kind.FAILED, "failed to start sandbox: internal error", e);
        }
        if (!initialised) try {
            initialise(id, running, egress, accessToken, spec.envVars());
        } catch (RuntimeException e) {
            cleanUpFailed(id, e);
            throw e instanceof SandboxError se ? se
                    : new SandboxError(SandboxError.Kind.FAILED, "failed to initialise sandbox", e);
        }
        long tBooted = System.nanoTime();
        Instant now = Instant.now();
        SandboxRow row = new SandboxRow(id, team.id(), spec.templateId(), SandboxRow.Status.RUNNING, cpus, memory, disk,
                accessToken, spec.metadata() == null ? Map.of() : Map.copyOf(spec.metadata()),
                spec.allowInternetAccess(), spec.autoPause(), now, now.plus(spec.timeout()), null,
                spec.privateTraffic() ? "bxt_" + dev.boxwood.server.auth.ApiKeys.randomHex(24) : null,
                spec.autoResume(), spec.timeout());
        LiveSandbox sandbox = new LiveSandbox(row, running);
        try {
            store.insertCreated(row, egress, "sandbox created from template '" + spec.templateId() + "' with " + cpus
                    + " CPU, " + memory + " MiB memory, " + disk + " MiB disk; timeout " + spec.timeout().toSeconds() + " s"
                    + (claimed != null ? " (from the warm pool)" : ""));
            live.put(id, sandbox);
        } catch (RuntimeException e) {
            live.remove(id);
            cleanUpFailed(id, e);
            throw new SandboxError(SandboxError.Kind.FAILED, "failed to record sandbox", e);
        }
        long tRecorded = System.nanoTime();
        scheduleExpiry(sandbox);
        Thread.ofVirtual().name("boxwood-metrics-" + id).start(() -> sample(sandbox));
        // bench/claim.py reads the breakdown of pooled creates
        LOG.info("sandbox {} created for team {} from template {} in {} ms ({}; boot or claim {} ms, record {} ms)", id,
                team.name(), spec.templateId(), ms(System.nanoTime() - t0), claimed != null ? "claimed" : "cold",
                ms(tBooted - t0), ms(tRecorded - tBooted));
        return row;
    }

    /**
     * A warm sandbox of the request's template and resources, personalised here to end up exactly like a cold one,
     * with the access token it holds (returned); null when there is no pool or it is empty. Requests with network
     * restrictions always boot cold. The pool booted it with the open rules and gave its agent a fresh token already,
     * so a create with neither other rules nor env vars takes no round trip into the sandbox.
     */
    private dev.boxwood.server.pool.WarmPools.Pooled claimPooled(CreateSpec spec, int cpus, int memory, int disk,
                                                                 dev.boxwood.server.network.EgressRules egress,
                                                                 String accessToken) {
        dev.boxwood.server.pool.WarmPools warm = pools;
        if (warm == null || Boolean.FALSE.equals(spec.allowInternetAccess())) return null;
        var pooled = warm.claim(templates.resolve(spec.templateId()), cpus, memory, disk).orElse(null);
        if (pooled == null) return null;
        RunningSandbox sandbox = pooled.sandbox();
        String token = pooled.accessToken() != null ? pooled.accessToken() : accessToken;
        try {
            if (!egress.equals(dev.boxwood.server.network.EgressRules.OPEN)) runtime.applyEgress(sandbox.sandboxId(), egress);
            boolean envVars = spec.envVars() != null && !spec.envVars().isEmpty();
            if (pooled.accessToken() == null || envVars) agent.init(sandbox, token, spec.envVars());
            return new dev.boxwood.server.pool.WarmPools.Pooled(sandbox, token);
        } catch (RuntimeException e) {
            // A pooled sandbox that cannot be personalised is nobody's yet: drop it and boot one cold instead of
            // failing the create.
            cleanUpFailed(sandbox.sandboxId(), e);
            return null;
        }
    }

    /**
     * Gives a pooled sandbox that passed its readiness check a fresh access token (and the default user and workdir)
     * ahead of its claim, runs a few commands and (where there is one) silent cells of the code interpreter in it
     * ({@link AgentClient#warmUp}, {@link AgentClient#warmUpInterpreter}), and returns the token; only the claim's
     * create response ever shows it to a client.
     */
    public String personaliseAhead(RunningSandbox sandbox) {
        String token = newAccessToken();
        agent.init(sandbox, token, Map.of());
        agent.warmUp(sandbox, token);
        agent.warmUpInterpreter(sandbox, token);
        return token;
    }

    private static String newAccessToken() {
        return "bxa_" + dev.boxwood.server.auth.ApiKeys.randomHex(24);
    }

    /** Waits for one of the bounded boot slots (creates go before pool refills); nothing is booted yet. */
    private dev.boxwood.server.pool.BootGate.Permit acquireBoot() {
        try {
            return boots.acquire(dev.boxwood.server.pool.BootGate.Priority.CREATE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxError(SandboxError.Kind.FAILED, "interrupted while waiting for a boot slot", e);
        }
    }

    /** The bound on concurrent boots, shared with the warm pools' refills. */
    public dev.boxwood.server.pool.BootGate boots() {
        return boots;
    }

    /** Warm pools create claims from first (set once by the server before it listens). */
    public void pools(dev.boxwood.server.pool.WarmPools pools) {
        this.pools = pools;
    }

    /**
     * The host's side of a new sandbox (its egress rules, DNS forwarder and proxy) and the agent's {@code /init}, side
     * by side: they touch different things, and both are done before the sandbox is handed out (a cold create waited
     * for one, then the other: 25-45 ms of nftables and sockets, then 7-17 ms of /init). The rules are waited for even
     * after a failed /init (join ignores interrupts), so the clean-up that follows never races them.
     */
    private void initialise(String id, RunningSandbox running, dev.boxwood.server.network.EgressRules egress,
                            String accessToken, Map<String, String> envVars) {
        var host = java.util.concurrent.CompletableFuture.runAsync(() -> runtime.applyEgress(id, egress),
                task -> Thread.ofVirtual().name("egress-" + id).start(task));
        RuntimeException failure = null;
        try {
            agent.init(running, accessToken, envVars);
        } catch (RuntimeException e) {
            failure = e;
        }
        try {
            host.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (failure == null) {
                failure = e.getCause() instanceof RuntimeException r ? r
                        : new RuntimeFailure("cannot apply the sandbox's egress rules: " + e.getCause(), e.getCause());
            }
        }
        if (failure != null) throw failure;
    }

    private void cleanUpFailed(String id, Exception cause) {
        LOG.warn("sandbox {} failed during creation: {}", id, cause.toString());
        try {
            runtime.destroy(id);
        } catch (RuntimeException e) {
            LOG.error("could not clean up half-created sandbox {}", id, e);
        }
    }

    private void validate(CreateSpec spec) {
        if (spec.templateId() == null || spec.templateId().isBlank()) throw SandboxError.badRequest("templateID is required");
        if (!templates.exists(spec.templateId())) {
            throw new SandboxError(SandboxError.Kind.NOT_FOUND, "template '" + spec.templateId() + "' not found");
        }
        checkTimeout(spec.timeout());
        Map<String, String> md = spec.metadata() == null ? Map.of() : spec.metadata();
        if (md.size() > MAX_METADATA_ENTRIES) {
            throw SandboxError.badRequest("metadata has " + md.size() + " entries; at most " + MAX_METADATA_ENTRIES + " are allowed");
        }
        int total = 0;
        for (var e : md.entrySet()) {
            if (e.getValue() == null) throw SandboxError.badRequest("metadata value of '" + e.getKey() + "' must be a string");
            int k = e.getKey().getBytes(StandardCharsets.UTF_8).length;
            int v = e.getValue().getBytes(StandardCharsets.UTF_8).length;
            if (k == 0 || k > MAX_METADATA_KEY) throw SandboxError.badRequest("metadata keys must be 1-" + MAX_METADATA_KEY + " bytes");
            if (v > MAX_METADATA_VALUE) {
                throw SandboxError.badRequest("metadata value of '" + e.getKey() + "' is " + v + " bytes; at most "
                        + MAX_METADATA_VALUE + " are allowed");
            }
            total += k + v;
        }
        if (total > MAX_METADATA_TOTAL) {
            throw SandboxError.badRequest("metadata is " + total + " bytes; at most " + MAX_METADATA_TOTAL + " are allowed");
        }
        int envTotal = 0;
        for (var e : (spec.envVars() == null ? Map.<String, String>of() : spec.envVars()).entrySet()) {
            if (!ENV_NAME.matcher(e.getKey()).matches()) throw SandboxError.badRequest("invalid env var name '" + e.getKey() + "'");
            if (e.getValue() == null) throw SandboxError.badRequest("env var '" + e.getKey() + "' must be a string");
            envTotal += e.getKey().length() + e.getValue().length();
        }
        if (envTotal > MAX_ENV_TOTAL) throw SandboxError.badRequest("envVars exceed " + MAX_ENV_TOTAL + " bytes");
    }

    private void checkTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw SandboxError.badRequest("Timeout must be greater than 0");
        }
        if (timeout.compareTo(config.maxLifetime()) > 0) {
            throw SandboxError.badRequest("Timeout cannot be greater than " + config.maxLifetime().toSeconds() + " seconds");
        }
    }

    private static int resource(Integer asked, int dflt, int max, String name) {
        if (asked == null) return Math.min(dflt, max);
        if (asked < 1) throw SandboxError.badRequest(name + " must be at least 1");
        if (asked > max) throw SandboxError.badRequest(name + " " + asked + " exceeds this server's maximum of " + max);
        return asked;
    }

    // ---- queries ------------------------------------------------------------------------------------------------

    /** The team's live sandbox; another team's sandbox is reported as not found. */
    public LiveSandbox get(Team team, String id) {
        LiveSandbox s = id == null ? null : live.get(id);
        if (s == null || !s.row().teamId().equals(team.id())) throw SandboxError.notFound(id);
        return s;
    }

    public List<SandboxRow> list(Team team) {
        return live.values().stream().map(LiveSandbox::row).filter(r -> r.teamId().equals(team.id()))
                .sorted(java.util.Comparator.comparing(SandboxRow::startedAt).thenComparing(SandboxRow::id).reversed())
                .toList();
    }

    /**
     * A live sandbox by id, for routing (the agent checks the access token itself). A paused sandbox is resumed
     * first when it has auto-resume, and is otherwise not routable (its frozen agent would never answer).
     */
    public Optional<LiveSandbox> route(String id) {
        LiveSandbox s = id == null ? null : live.get(id);
        if (s == null || s.row().status() != SandboxRow.Status.PAUSED) return Optional.ofNullable(s);
        if (!s.row().autoResume()) return Optional.empty();
        try {
            resumeLive(s, s.row().timeout(), "sandbox resumed by traffic (auto-resume)");
            return Optional.of(s);
        } catch (SandboxError e) {
            LOG.warn("auto-resume of sandbox {} failed: {}", id, e.getMessage());
            return Optional.empty();
        }
    }

    public Collection<LiveSandbox> allLive() {
        return List.copyOf(live.values());
    }

    /**
     * Log lines of a sandbox of the team, running or ended: its lifecycle events and, while it runs, the output of
     * its agent (which has no timestamps of its own, so it is dated at the sandbox's start).
     */
    public List<SandboxEvent> logs(Team team, String id, Instant from, int limit) {
        SandboxRow row = store.find(id).filter(r -> r.teamId().equals(team.id())).orElseThrow(() -> SandboxError.notFound(id));
        List<SandboxEvent> events = new java.util.ArrayList<>(store.events(row.id(), from, limit));
        if (live.containsKey(id) && !row.startedAt().isBefore(from)) {
            for (String line : agentOutput(id)) events.add(new SandboxEvent(row.startedAt(), "info", "agent: " + line));
            events.sort(java.util.Comparator.comparing(SandboxEvent::at));
        }
        return events.size() > limit ? events.subList(0, limit) : events;
    }

    private static final int MAX_AGENT_LOG = 256 * 1024;

    /** The last part of the agent's stdout/stderr, which the crun runtime keeps inside the sandbox's disk. */
    private List<String> agentOutput(String id) {
        java.nio.file.Path log = new dev.boxwood.server.runtime.SandboxDisk(config.dataDir().resolve("sandboxes").resolve(id)).log();
        try (var file = java.nio.channels.FileChannel.open(log)) {
            long size = file.size();
            long start = Math.max(0, size - MAX_AGENT_LOG);
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) (size - start));
            file.read(buf, start);
            String text = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
            List<String> lines = new java.util.ArrayList<>(text.lines().toList());
            if (start > 0 && !lines.isEmpty()) lines.removeFirst(); // cut mid-line
            return lines;
        } catch (java.io.IOException | RuntimeException e) {
            return List.of();
        }
    }

    public List<Metric> metrics(Team team, String id, Instant from, Instant to) {
        LiveSandbox s = get(team, id);
        List<Metric> all = s.metrics();
        if (all.isEmpty()) {
            sample(s);
            all = s.metrics();
        }
        return all.stream().filter(m -> from == null || !m.at().isBefore(from)).filter(m -> to == null || !m.at().isAfter(to)).toList();
    }

    // ---- timeouts -----------------------------------------------------------------------------------------------

    /** Sets the sandbox to end {@code timeout} from now, within its maximum lifetime. */
    public SandboxRow setTimeout(Team team, String id, Duration timeout) {
        checkTimeout(timeout);
        LiveSandbox s = get(team, id);
        return extendTo(s, Instant.now().plus(timeout), true);
    }

    /** E2B's connect: the sandbox keeps running at least {@code timeout} more; it is never shortened. */
    public SandboxRow connect(Team team, String id, Duration timeout) {
        return connectOrResume(team, id, timeout).row();
    }

    /** What a connect did: {@code resumed} when the sandbox was paused (E2B answers 201 then, else 200). */
    public record Connected(SandboxRow row, boolean resumed) {}

    /** E2B's connect: a paused sandbox is resumed with {@code timeout}; a running one is extended to it. */
    public Connected connectOrResume(Team team, String id, Duration timeout) {
        checkTimeout(timeout);
        LiveSandbox s = get(team, id);
        synchronized (s) {
            if (s.row().status() == SandboxRow.Status.PAUSED) {
                return new Connected(resumeLive(s, timeout, "sandbox resumed by connect"), true);
            }
            return new Connected(extendTo(s, Instant.now().plus(timeout), false), false);
        }
    }

    // ---- pause and resume ---------------------------------------------------------------------------------------

    /**
     * Freezes the sandbox: processes stop where they are, memory and files stay. Its timeout clock stops; it is
     * removed if still paused after the retention. 409 when already paused.
     */
    public SandboxRow pause(Team team, String id) {
        LiveSandbox s = get(team, id);
        synchronized (s) {
            if (live.get(id) != s) throw SandboxError.notFound(id);
            if (s.row().status() == SandboxRow.Status.PAUSED) {
                throw new SandboxError(SandboxError.Kind.CONFLICT, "sandbox '" + id + "' is already paused");
            }
            return pauseLive(s, "sandbox paused through the API");
        }
    }

    /** E2B's v1 resume: a paused sandbox runs again for {@code timeout}; 409 when it is not paused. */
    public SandboxRow resume(Team team, String id, Duration timeout) {
        checkTimeout(timeout);
        LiveSandbox s = get(team, id);
        synchronized (s) {
            if (s.row().status() != SandboxRow.Status.PAUSED) {
                throw new SandboxError(SandboxError.Kind.CONFLICT, "sandbox '" + id + "' is already running");
            }
            return resumeLive(s, timeout, "sandbox resumed through the API");
        }
    }

    /** Sets or clears auto-pause and auto-resume of a live sandbox. */
    public SandboxRow lifecycle(Team team, String id, boolean autoPause, boolean autoResume) {
        LiveSandbox s = get(team, id);
        synchronized (s) {
            store.updateLifecycle(id, autoPause, autoResume);
            s.row(s.row().withLifecycle(autoPause, autoResume));
            return s.row();
        }
    }

    /** Runs {@code work} while no pause, resume, timeout or kill of the sandbox can interleave (snapshots). */
    public <T> T exclusive(Team team, String id, java.util.function.Function<LiveSandbox, T> work) {
        LiveSandbox s = get(team, id);
        synchronized (s) {
            if (live.get(id) != s) throw SandboxError.notFound(id);
            return work.apply(s);
        }
    }

    /**
     * Told of every sandbox about to be paused, while nothing else can touch it: the router drops its idle keep-alive
     * connections into it, so that a checkpoint's restore does not have to bring them back.
     */
    private final List<Consumer<LiveSandbox>> beforePause = new CopyOnWriteArrayList<>();

    public void beforePause(Consumer<LiveSandbox> step) {
        beforePause.add(step);
    }

    private SandboxRow pauseLive(LiveSandbox s, String why) {
        String id = s.row().id();
        for (var step : beforePause) {
            try {
                step.accept(s);
            } catch (RuntimeException e) {
                LOG.warn("sandbox {}: before its pause: {}", id, e.toString());
            }
        }
        try {
            runtime.pause(id);
        } catch (RuntimeFailure e) {
            throw new SandboxError(SandboxError.Kind.FAILED, "cannot pause sandbox '" + id + "': " + e.getMessage(), e);
        }
        Instant until = Instant.now().plus(config.pausedRetention());
        store.updateState(id, SandboxRow.Status.PAUSED, until);
        s.row(s.row().withState(SandboxRow.Status.PAUSED, until));
        scheduleExpiry(s);
        store.addEvent(id, "info", why + "; kept paused until " + until);
        LOG.info("sandbox {} paused", id);
        return s.row();
    }

    private SandboxRow resumeLive(LiveSandbox s, Duration timeout, String why) {
        synchronized (s) {
            String id = s.row().id();
            if (live.get(id) != s) throw SandboxError.notFound(id);
            if (s.row().status() != SandboxRow.Status.PAUSED) return s.row(); // resumed meanwhile
            try {
                runtime.resume(id);
            } catch (RuntimeFailure e) {
                throw new SandboxError(SandboxError.Kind.FAILED, "cannot resume sandbox '" + id + "': " + e.getMessage(), e);
            }
            // The paused time does not count towards the maximum lifetime: it runs from the resume.
            Instant now = Instant.now();
            Instant end = now.plus(timeout.compareTo(config.maxLifetime()) > 0 ? config.maxLifetime() : timeout);
            store.updateState(id, SandboxRow.Status.RUNNING, end);
            s.row(s.row().withState(SandboxRow.Status.RUNNING, end));
            s.resumed(now);
            scheduleExpiry(s);
            store.addEvent(id, "info", why);
            LOG.info("sandbox {} resumed", id);
            return s.row();
        }
    }

    private SandboxRow extendTo(LiveSandbox s, Instant wanted, boolean mayShorten) {
        synchronized (s) {
            SandboxRow row = s.row();
            if (row.status() == SandboxRow.Status.PAUSED) {
                throw new SandboxError(SandboxError.Kind.CONFLICT, "sandbox '" + row.id() + "' is paused; resume it first");
            }
            Instant cap = s.lifetimeStart(row.startedAt()).plus(config.maxLifetime());
            Instant end = wanted.isAfter(cap) ? cap : wanted;
            if (!mayShorten && !end.isAfter(row.endAt())) return row;
            SandboxRow updated = row.withEndAt(end);
            store.updateEndAt(row.id(), end);
            s.row(updated);
            scheduleExpiry(s);
            return updated;
        }
    }

    private void scheduleExpiry(LiveSandbox s) {
        long delay = Math.max(0, s.row().endAt().toEpochMilli() - System.currentTimeMillis());
        String id = s.row().id();
        s.replaceExpiry(scheduler.schedule(() -> Thread.ofVirtual().name("boxwood-expire-" + id).start(() -> expire(s)),
                delay, TimeUnit.MILLISECONDS));
    }

    private void expire(LiveSandbox s) {
        synchronized (s) {
            if (live.get(s.row().id()) != s) return;
            if (s.row().endAt().isAfter(Instant.now())) {
                scheduleExpiry(s); // extended after this run was scheduled
                return;
            }
            if (s.row().status() == SandboxRow.Status.PAUSED) {
                end(s.row().id(), SandboxRow.Status.EXPIRED, "paused sandbox removed: its retention of "
                        + config.pausedRetention().toSeconds() + " s ended");
                return;
            }
            if (s.row().autoPause()) {
                try {
                    pauseLive(s, "sandbox timed out and was paused (auto-pause)");
                    return;
                } catch (SandboxError e) {
                    LOG.error("auto-pause of sandbox {} failed; killing it", s.row().id(), e);
                }
            }
            end(s.row().id(), SandboxRow.Status.EXPIRED, "sandbox timed out");
        }
    }

    // ---- network ------------------------------------------------------------------------------------------------

    /** Replaces a live sandbox's outbound rules; new connections see them, established ones are kept. */
    public void updateNetwork(Team team, String id, dev.boxwood.server.network.EgressRules rules) {
        LiveSandbox s = get(team, id);
        synchronized (s) {
            if (live.get(id) != s) throw SandboxError.notFound(id);
            try {
                runtime.applyEgress(id, rules);
            } catch (RuntimeFailure e) {
                throw new SandboxError(SandboxError.Kind.FAILED, "cannot update the network of sandbox '" + id + "': "
                        + e.getMessage(), e);
            }
            store.saveEgress(id, rules);
            store.addEvent(id, "info", "network rules updated: internet " + (rules.internet() ? "on" : "off")
                    + ", allowOut " + rules.allowOut() + ", denyOut " + rules.denyOut());
        }
    }

    /** A restarted server serves DNS and domain rules again and re-asserts the stored address rules. */
    private void reapplyEgress(SandboxRow row) {
        try {
            runtime.applyEgress(row.id(), store.egress(row.id()).orElseGet(
                    () -> dev.boxwood.server.network.EgressRules.parse(row.allowInternetAccess(), null, null)));
        } catch (RuntimeException e) {
            LOG.error("cannot re-apply the network rules of sandbox {}", row.id(), e);
            store.addEvent(row.id(), "error", "network rules could not be re-applied after a restart: " + e.getMessage());
        }
    }

    // ---- kill ---------------------------------------------------------------------------------------------------

    /**
     * Told of every sandbox that ended (killed, timed out, retention over) once its processes are gone and, where its
     * teardown went on in the background, once that is done too (its overlay no longer holds a snapshot's layers).
     */
    private volatile java.util.function.Consumer<SandboxRow> ended = row -> {};

    public void whenEnded(java.util.function.Consumer<SandboxRow> listener) {
        ended = listener;
    }

    public void kill(Team team, String id) {
        get(team, id);
        if (!end(id, SandboxRow.Status.KILLED, "sandbox killed through the API")) throw SandboxError.notFound(id);
    }

    /** Ends a live sandbox exactly once: unroutable first, then destroyed, then recorded. */
    private boolean end(String id, SandboxRow.Status status, String why) {
        LiveSandbox s = live.get(id);
        if (s == null) return false;
        synchronized (s) { // after any pause or resume in progress
            if (!live.remove(id, s)) return false;
            endLocked(s, id, status, why);
        }
        Thread teardown = teardowns.get(id);
        if (teardown == null) {
            ended.accept(s.row());
        } else {
            Thread.ofVirtual().name("boxwood-ended-" + id).start(() -> {
                try {
                    teardown.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                ended.accept(s.row());
            });
        }
        return true;
    }

    /**
     * Nothing of the sandbox runs when this returns (its processes are dead, or frozen if it was paused); the rest of
     * the teardown (OCI state, mounts, network, cgroups, files) goes on in the background, tracked in
     * {@link #teardowns}. A server that stops before one finishes leaves traces that the next start removes.
     */
    private void endLocked(LiveSandbox s, String id, SandboxRow.Status status, String why) {
        long t0 = System.nanoTime();
        s.cancelExpiry();
        boolean rest;
        try {
            rest = runtime.halt(s.running());
        } catch (RuntimeException e) {
            LOG.error("destroying sandbox {} failed; it will be retried on the next start", id, e);
            store.markEnded(id, status, Instant.now());
            store.addEvent(id, "error", why + "; cleanup failed: " + e.getMessage());
            return;
        }
        long tHalted = System.nanoTime();
        store.markEnded(id, status, Instant.now());
        store.addEvent(id, "info", why);
        LOG.info("sandbox {} ended: {} (halt {} ms, record {} ms)", id, why, ms(tHalted - t0), ms(System.nanoTime() - tHalted));
        if (rest) teardown(id);
    }

    /** Sandboxes whose host resources are still being removed after they ended. */
    private final Map<String, Thread> teardowns = new ConcurrentHashMap<>();

    private void teardown(String id) {
        Thread t = Thread.ofVirtual().name("boxwood-teardown-" + id).unstarted(() -> {
            try {
                runtime.destroy(id);
            } catch (RuntimeException e) {
                LOG.error("removing what is left of sandbox {} failed; it will be retried on the next start", id, e);
                store.addEvent(id, "error", "cleanup failed: " + e.getMessage());
            } finally {
                teardowns.remove(id);
            }
        });
        teardowns.put(id, t);
        t.start();
    }

    /** Waits until the background teardowns of ended sandboxes have finished; false when some still run. */
    public boolean awaitTeardowns(Duration atMost) {
        long until = System.nanoTime() + atMost.toNanos();
        for (Thread t : List.copyOf(teardowns.values())) {
            long left = until - System.nanoTime();
            try {
                if (left <= 0 || !t.join(Duration.ofNanos(left))) return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return teardowns.isEmpty();
    }

    // ---- restart recovery ---------------------------------------------------------------------------------------

    /**
     * Takes back the sandboxes an earlier server process left running and removes everything else the runtime has
     * traces of. Every sandbox row that was running ends up either live again or ended with a log line saying why.
     */
    public void recover() {
        for (SandboxRow row : store.running()) {
            Optional<RunningSandbox> running;
            try {
                running = runtime.reattach(row.id());
            } catch (RuntimeException e) {
                LOG.warn("cannot reattach sandbox {}: {}", row.id(), e.toString());
                running = Optional.empty();
            }
            if (running.isEmpty()) {
                destroyQuietly(row.id());
                store.markEnded(row.id(), SandboxRow.Status.LOST, Instant.now());
                store.addEvent(row.id(), "error", "sandbox lost: it was no longer running when the server restarted");
                LOG.warn("sandbox {} was lost while the server was down", row.id());
                continue;
            }
            LiveSandbox s = new LiveSandbox(row, running.get());
            live.put(row.id(), s);
            try {
                // The row says what the sandbox is: a crash between freezing and recording is undone here.
                if (row.status() == SandboxRow.Status.PAUSED) runtime.pause(row.id());
                else runtime.resume(row.id());
            } catch (RuntimeFailure e) {
                LOG.warn("sandbox {}: cannot restore its {} state: {}", row.id(), row.status().db(), e.getMessage());
            }
            if (row.status() == SandboxRow.Status.PAUSED || row.autoPause()) {
                store.addEvent(row.id(), "info", "sandbox reattached " + row.status().db() + " after a server restart");
                scheduleExpiry(s); // retention or auto-pause, as if the server had not stopped
                continue;
            }
            if (!row.endAt().isAfter(Instant.now())) {
                end(row.id(), SandboxRow.Status.EXPIRED, "sandbox timed out while the server was down");
                continue;
            }
            store.addEvent(row.id(), "info", "sandbox reattached after a server restart");
            reapplyEgress(row);
            scheduleExpiry(s);
            LOG.info("sandbox {} reattached", row.id());
        }
        List<String> leftovers;
        try {
            leftovers = runtime.leftovers();
        } catch (RuntimeException e) {
            LOG.error("cannot list the runtime's leftover sandboxes", e);
            return;
        }
        for (String id : leftovers) {
            if (live.containsKey(id)) continue;
            boolean recorded = store.find(id).isPresent();
            // Some traces (cgroups, veths) are host-wide: only remove sandboxes this data dir knows of, so that a
            // second server on the host (tests, a developer's own) keeps its sandboxes.
            if (!recorded && !Files.exists(config.dataDir().resolve("sandboxes").resolve(id))) {
                LOG.info("leaving sandbox {} alone: it belongs to another data directory", id);
                continue;
            }
            destroyQuietly(id);
            if (recorded) store.addEvent(id, "info", "leftover traces removed at server start");
            LOG.info("removed leftover sandbox {}", id);
        }
    }

    private void destroyQuietly(String id) {
        try {
            runtime.destroy(id);
        } catch (RuntimeException e) {
            LOG.error("could not destroy sandbox {}", id, e);
        }
    }

    // ---- metrics ------------------------------------------------------------------------------------------------

    private final java.util.concurrent.atomic.AtomicBoolean sampling = new java.util.concurrent.atomic.AtomicBoolean();

    /** One round over all live sandboxes; a round still running (slow disks) makes the next one skip. */
    private void sampleAll() {
        if (!sampling.compareAndSet(false, true)) return;
        try {
            for (LiveSandbox s : live.values()) sample(s);
        } finally {
            sampling.set(false);
        }
    }

    private void sample(LiveSandbox s) {
        if (!live.containsKey(s.row().id())) return;
        try {
            s.record(runtime.usage(s.row().id()), Instant.now(), System.nanoTime());
        } catch (RuntimeException e) {
            LOG.debug("no metrics for sandbox {}: {}", s.row().id(), e.toString());
        }
    }

    /**
     * Stops timers and lets teardowns in progress finish (bounded); running sandboxes are left running for the next
     * server process to reattach.
     */
    @Override
    public void close() {
        scheduler.shutdownNow();
        if (!awaitTeardowns(Duration.ofSeconds(60))) LOG.warn("sandbox teardowns still running at shutdown: {}", teardowns.keySet());
    }
}
