package dev.boxwood.server.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.network.NetworkAttachment;
import dev.boxwood.server.network.SandboxNetwork;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Sandboxes as OCI containers run by {@code crun}: create (namespaces, cgroups, seccomp set up, process waiting),
 * attach the network to the created namespace, start, then wait until the agent answers {@code GET /health}.
 *
 * <p>Per sandbox, {@code <dataDir>/sandboxes/<id>/} holds the bundle ({@code config.json}), the disk image and the
 * overlay, and {@code sandbox.properties} (spec and init token) so {@link #reattach} works after a server restart.
 * Container state lives under crun's own root {@code <runDir>/crun}, apart from any other crun user on the host.
 * Work for different sandboxes runs in parallel; only calls for the same id are serialised.
 */
public final class CrunRuntime implements SandboxRuntime {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(CrunRuntime.class);
    private static final Pattern ID = SandboxRecords.ID;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ROOT_UID = 100_000;

    /**
     * @param dataDir        Boxwood's data directory (templates and sandboxes)
     * @param runDir         runtime state, {@code /run/boxwood} in production
     * @param jdk            host JDK bound read-only at {@code /opt/boxwood/jdk}
     * @param agentJar       agent jar bound read-only at {@code /opt/boxwood/agent.jar}
     * @param command        process to run instead of tini + agent (tests before the agent exists), or null
     * @param pidsLimit      cgroup pids limit per sandbox
     * @param noNewPrivileges set no_new_privs on the sandbox's processes (then setuid binaries such as sudo
     *                       cannot raise privileges inside)
     * @param startTimeout   how long {@link #start} waits for the agent to answer
     */
    public record Config(Path dataDir, Path runDir, Path jdk, Path agentJar, List<String> command, int pidsLimit,
                         boolean noNewPrivileges, Duration startTimeout) {

        /**
         * Production defaults: data dir from {@code boxwood.dataDir}, agent jar from the checkout. System property
         * {@code boxwood.noNewPrivileges=false} lets setuid programs (sudo) work inside sandboxes; they then gain
         * root inside the sandbox only, which the API offers anyway.
         */
        public static Config defaults() {
            String home = System.getProperty("boxwood.home", System.getenv().getOrDefault("BOXWOOD_HOME", "."));
            boolean noNewPrivileges = Boolean.parseBoolean(System.getProperty("boxwood.noNewPrivileges", "true"));
            return new Config(Path.of(System.getProperty("boxwood.dataDir", "/var/lib/boxwood")),
                    Path.of("/run/boxwood"), Path.of(System.getProperty("java.home")),
                    Path.of(home).resolve("agent/target/boxwood-agent.jar"), null, 1024, noNewPrivileges,
                    Duration.ofSeconds(30));
        }

        public Config withCommand(List<String> replacement) {
            return new Config(dataDir, runDir, jdk, agentJar, replacement, pidsLimit, noNewPrivileges, startTimeout);
        }

        public Config withPidsLimit(int limit) {
            return new Config(dataDir, runDir, jdk, agentJar, command, limit, noNewPrivileges, startTimeout);
        }
    }

    private final Config config;
    private final SandboxNetwork network;
    private final Path crunRoot;
    private final HttpClient http;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final AgentStartupCache startupCache;
    private final java.util.Set<String> training = ConcurrentHashMap.newKeySet();

    public CrunRuntime(Config config) {
        this.config = config;
        this.network = new SandboxNetwork(config.runDir());
        this.crunRoot = config.runDir().resolve("crun");
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofMillis(500)).build();
        prepareHost();
        this.startupCache = new AgentStartupCache(this, config);
        if (config.command() == null) {
            startupCache.buildInBackground("base");
        }
    }

    /** The agent's ahead-of-time cache, built in the background after start-up. */
    public AgentStartupCache startupCache() {
        return startupCache;
    }

    public SandboxNetwork network() {
        return network;
    }

    @Override
    public void applyEgress(String sandboxId, dev.boxwood.server.network.EgressRules rules) {
        network.applyEgress(sandboxId, rules);
    }

    @Override
    public boolean controlsEgress() {
        return true;
    }

    private void prepareHost() {
        try {
            Files.createDirectories(crunRoot);
            Files.createDirectories(sandboxesDir());
            // crun sets up the root filesystem from inside the user namespace, as host uid 100000: it must be
            // able to traverse (not list) the way down to each sandbox's rootfs.
            Files.setAttribute(sandboxesDir(), "unix:mode", 0711);
        } catch (IOException e) {
            throw new RuntimeFailure("cannot create runtime directories: " + e.getMessage(), e);
        }
        Cgroups.prepareHost();
        network.prepareHost();
    }

    Path sandboxesDir() {
        return config.dataDir().resolve("sandboxes");
    }

    Path sandboxDir(String id) {
        return sandboxesDir().resolve(id);
    }

    static String cgroupPath(String id) {
        return "/boxwood/" + id;
    }

    @Override
    public RunningSandbox start(SandboxSpec spec) {
        String id = spec.sandboxId();
        if (id == null || !ID.matcher(id).matches()) {
            throw new RuntimeFailure("invalid sandbox id");
        }
        if (spec.template() == null || !spec.template().matches("[a-z0-9][a-z0-9._-]{0,62}")) {
            throw new RuntimeFailure("invalid template id '" + spec.template() + "'");
        }
        Path lower = config.dataDir().resolve("templates").resolve(spec.template()).resolve("rootfs");
        if (!Files.isDirectory(lower)) {
            throw new RuntimeFailure("template '" + spec.template() + "' is not built");
        }
        try {
            // The real path goes into the overlay mount, so a template rebuild can tell its old tree is in use.
            lower = lower.toRealPath();
        } catch (IOException e) {
            throw new RuntimeFailure("template '" + spec.template() + "' is not readable: " + e.getMessage(), e);
        }
        synchronized (lockFor(id)) {
            Path dir = sandboxDir(id);
            if (Files.exists(dir) || crunState(id).isPresent()) {
                throw new RuntimeFailure("sandbox " + id + " already exists");
            }
            try {
                return boot(spec, dir, lower, null);
            } catch (RuntimeException | IOException e) {
                RuntimeFailure failure = e instanceof RuntimeFailure f ? f
                        : new RuntimeFailure("cannot start sandbox " + id + ": " + e.getMessage(), e);
                try {
                    destroyLocked(id);
                } catch (RuntimeException cleanup) {
                    failure.addSuppressed(cleanup);
                }
                throw failure;
            }
        }
    }

    /** Creates the sandbox's directory, its record (spec and init token), and its disk with the overlay mounted. */
    static SandboxDisk prepareDisk(SandboxSpec spec, Path dir, Path lower, String initToken, String resolvConf)
            throws IOException {
        String id = spec.sandboxId();
        Files.createDirectories(dir);
        Files.setAttribute(dir, "unix:mode", 0711);
        Properties props = new Properties();
        props.setProperty("template", spec.template());
        props.setProperty("cpuCount", Integer.toString(spec.cpuCount()));
        props.setProperty("memoryMB", Integer.toString(spec.memoryMB()));
        props.setProperty("diskSizeMB", Integer.toString(spec.diskSizeMB()));
        props.setProperty("initToken", initToken);
        Path propsFile = dir.resolve("sandbox.properties");
        try (var out = Files.newOutputStream(propsFile)) {
            props.store(out, null);
        }
        Files.setAttribute(propsFile, "unix:mode", 0600);

        SandboxDisk disk = new SandboxDisk(dir);
        disk.create(lower, Math.max(64, spec.diskSizeMB()), ROOT_UID);
        disk.seed("etc/hostname", id + "\n", ROOT_UID, lower);
        disk.seed("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t"
                + id + "\n", ROOT_UID, lower);
        disk.seed("etc/resolv.conf", resolvConf, ROOT_UID, lower);
        disk.mountOverlay(lower);
        return disk;
    }

    /** The sandbox process's environment. */
    static Map<String, String> agentEnv(String initToken) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        env.put("HOME", "/root");
        env.put("LANG", "C.UTF-8");
        env.put("BOXWOOD_INIT_TOKEN", initToken);
        return env;
    }

    /** Boots; {@code training} non-null means an agent start-up training run writing into that host dir. */
    private RunningSandbox boot(SandboxSpec spec, Path dir, Path lower, Path training) throws IOException {
        String id = spec.sandboxId();
        long t0 = System.nanoTime();
        String initToken = HexFormat.of().formatHex(bytes(24));
        SandboxDisk disk = prepareDisk(spec, dir, lower, initToken, network.resolvConf());
        long tDisk = System.nanoTime();

        Map<String, String> env = agentEnv(initToken);
        Map<Path, String> binds = new LinkedHashMap<>();
        binds.put(config.jdk(), "/opt/boxwood/jdk");
        if (Files.isRegularFile(config.agentJar())) {
            binds.put(config.agentJar(), "/opt/boxwood/agent.jar");
        } else if (config.command() == null) {
            throw new RuntimeFailure("agent jar not found at " + config.agentJar() + " (build the agent module)");
        }
        Map<Path, String> writable = new LinkedHashMap<>();
        List<String> jvmCache = List.of();
        List<String> agentArgs = List.of();
        if (training != null) {
            writable.put(training, AgentStartupCache.TRAINING_DIR);
            jvmCache = List.of("-XX:AOTCacheOutput=" + AgentStartupCache.TRAINING_DIR + "/agent.aot");
            agentArgs = List.of("--train");
        } else if (config.command() == null) {
            Optional<Path> cache = startupCache.ready(spec.template());
            if (cache.isEmpty()) {
                startupCache.buildInBackground(spec.template()); // e.g. the template was built after start-up
            }
            if (cache.isPresent()) {
                binds.put(cache.get(), AgentStartupCache.CACHE_FILE);
                jvmCache = List.of("-XX:AOTCache=" + AgentStartupCache.CACHE_FILE);
            }
        }
        long memoryBytes = Math.max(64, spec.memoryMB()) * 1024L * 1024L;
        var spec0 = new OciSpec.Input(disk.rootfs(), id, processArgs(jvmCache, agentArgs), env, cgroupPath(id),
                Math.max(1, spec.cpuCount()), memoryBytes, config.pidsLimit(), config.noNewPrivileges(), binds,
                writable);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), OciSpec.build(spec0));

        // crun create returns once the init process exists; the container inherits crun's stdio, so that must be a
        // file (a pipe would keep our reader waiting for the sandbox's lifetime).
        ProcessBuilder create = new ProcessBuilder(crun("create", "--bundle", dir.toString(),
                "--pid-file", dir.resolve("pid").toString(), id))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(disk.log().toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        int exit = waitFor(create);
        if (exit != 0) {
            throw new RuntimeFailure("crun create failed: " + tail(disk.log()));
        }
        long tCreate = System.nanoTime();
        long pid = Long.parseLong(Files.readString(dir.resolve("pid")).strip());
        // The network is wired up while the agent's JVM starts (the agent only listens until the server has seen
        // it healthy and sent /init, and the firewall drops all the sandbox sends until the set-up is complete).
        SandboxNetwork.Attaching attaching = network.attachInBackground(id, pid);
        try {
            HostCommand.check(crun("start", id));
            long tStart = System.nanoTime();
            NetworkAttachment net = attaching.linked();
            long tNet = Math.max(tStart, System.nanoTime());
            RunningSandbox running = new RunningSandbox(id, net.sandboxAddress(), pid, initToken);
            if (training == null) {
                awaitHealthy(running, disk);
            }
            long tUp = System.nanoTime();
            attaching.completed();
            long tDone = System.nanoTime();
            if (training == null) {
                LOG.info("sandbox {} up in {} ms (disk {}, crun create {}, network {}, start to healthy {}); network"
                        + " set-up {} ms, overlapping the start", id, ms(tDone - t0), ms(tDisk - t0),
                        ms(tStart - tDisk), ms(tNet - tStart + tDone - tUp), ms(tUp - tNet),
                        ms(attaching.setUpNanos()));
            }
            return running; // a training run serves nobody: it exercises the agent and exits
        } catch (RuntimeException e) {
            attaching.settle(); // the caller's clean-up must not race the set-up
            throw e;
        }
    }

    private List<String> processArgs(List<String> jvmCache, List<String> agentArgs) {
        return config.command() != null ? config.command() : agentCommand(jvmCache, agentArgs);
    }

    /**
     * tini and the agent's JVM, with optional start-up cache flags and agent arguments. Memory: the AOT cache is mapped
     * at its own base address (ArchiveRelocationMode=0) so that its read-only part stays clean page cache shared by
     * every sandbox instead of ~20 MB relocated into private memory in each; one C1 thread and no perf-data file.
     */
    static List<String> agentCommand(List<String> jvmCache, List<String> agentArgs) {
        List<String> args = new ArrayList<>(List.of("/usr/bin/tini", "-s", "--", "/opt/boxwood/jdk/bin/java",
                "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:+UseSerialGC", "-Xms8m", "-Xmx64m", "-Xss512k",
                "-XX:MaxMetaspaceSize=64m", "-XX:ReservedCodeCacheSize=16m", "-XX:-UsePerfData",
                "-XX:TrimNativeHeapInterval=5000", "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0",
                "-Djava.net.preferIPv4Stack=true"));
        args.addAll(jvmCache);
        args.addAll(List.of("-jar", "/opt/boxwood/agent.jar"));
        args.addAll(agentArgs);
        return args;
    }

    /**
     * Runs the agent's training ({@code --train}) once in a throwaway sandbox with {@code -XX:AOTCacheOutput}, so
     * later sandboxes start it from an ahead-of-time cache (same paths, same JDK, same jar: the JVM checks all
     * three). Returns the cache file the JVM wrote into {@code trainingDir}, if it did.
     */
    Optional<Path> trainAgent(String template, Path trainingDir) {
        String id = "aot" + HexFormat.of().formatHex(bytes(8));
        Path lower = config.dataDir().resolve("templates").resolve(template).resolve("rootfs");
        if (config.command() != null || !Files.isDirectory(lower) || !Files.isRegularFile(config.agentJar())) {
            return Optional.empty();
        }
        training.add(id);
        // If the JVM exits mid-run (a test JVM finishing), the throwaway sandbox must not outlive it.
        Thread onExit = new Thread(() -> {
            try {
                destroyLocked(id);
            } catch (RuntimeException ignored) {
                // exiting anyway
            }
        });
        Runtime.getRuntime().addShutdownHook(onExit);
        synchronized (lockFor(id)) {
            try {
                // The agent's --train drives health, init, processes, files and transfers through a loopback agent,
                // then exits; the JVM writes the cache on the way out.
                RunningSandbox sandbox = boot(new SandboxSpec(id, template, 1, 512, 256), sandboxDir(id), lower,
                        trainingDir);
                // An interpreter template's training waits for its kernels and then the JVM writes the cache: on a
                // loaded host that takes minutes.
                long deadline = System.nanoTime() + Duration.ofMinutes(6).toNanos();
                while (ProcessHandle.of(sandbox.pid()).map(ProcessHandle::isAlive).orElse(false)
                        && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                Path cache = trainingDir.resolve("agent.aot");
                if (Files.isRegularFile(cache) && Files.size(cache) > 0) {
                    return Optional.of(cache);
                }
                LOG.warn("agent start-up cache for {} not written: {}", template,
                        tail(new SandboxDisk(sandboxDir(id)).log()));
                return Optional.empty();
            } catch (RuntimeException | IOException e) {
                LOG.warn("agent start-up cache not built: {}", e.getMessage());
                return Optional.empty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            } finally {
                training.remove(id);
                try {
                    destroyLocked(id);
                } catch (RuntimeException e) {
                    LOG.warn("cleaning up training sandbox {}: {}", id, e.getMessage());
                }
                locks.remove(id);
                try {
                    Runtime.getRuntime().removeShutdownHook(onExit);
                } catch (IllegalStateException exiting) {
                    // the hook is running or about to: it finds nothing left
                }
            }
        }
    }

    /** Waits until {@code GET /health} answers 2xx; fails early if the sandbox's init has exited. */
    private void awaitHealthy(RunningSandbox sandbox, SandboxDisk disk) {
        awaitHealthy(http, config.startTimeout(), sandbox, disk);
    }

    /**
     * Tries a bare TCP connect every few milliseconds (refused in the sandbox's kernel until the agent listens, which
     * costs the agent nothing), then asks {@code GET /health} once it accepts: a short, fixed interval instead of an
     * HTTP request with a growing back-off, which could add tens of milliseconds to every boot.
     */
    static void awaitHealthy(HttpClient http, Duration timeout, RunningSandbox sandbox, SandboxDisk disk) {
        long deadline = System.nanoTime() + timeout.toNanos();
        URI health = sandbox.agentUri().resolve("/health");
        HttpRequest request = HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(2)).GET().build();
        java.net.InetSocketAddress agent = new java.net.InetSocketAddress(sandbox.address(),
                dev.boxwood.protocol.Ports.AGENT);
        while (true) {
            try {
                if (listening(agent)) {
                    HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
                    if (response.statusCode() / 100 == 2) {
                        return;
                    }
                }
            } catch (IOException e) {
                // not answering yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RuntimeFailure("interrupted while waiting for sandbox " + sandbox.sandboxId());
            }
            if (!ProcessHandle.of(sandbox.pid()).map(ProcessHandle::isAlive).orElse(false)) {
                throw new RuntimeFailure("sandbox " + sandbox.sandboxId() + " exited during start: " + tail(disk.log()));
            }
            if (System.nanoTime() > deadline) {
                throw new RuntimeFailure("sandbox " + sandbox.sandboxId() + " did not become healthy within "
                        + timeout.toSeconds() + " s: " + tail(disk.log()));
            }
            try {
                Thread.sleep(4);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RuntimeFailure("interrupted while waiting for sandbox " + sandbox.sandboxId());
            }
        }
    }

    private static boolean listening(java.net.InetSocketAddress agent) {
        try (java.net.Socket probe = new java.net.Socket()) {
            probe.connect(agent, 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void destroy(String sandboxId) {
        if (sandboxId == null || !ID.matcher(sandboxId).matches()) {
            return;
        }
        synchronized (lockFor(sandboxId)) {
            destroyLocked(sandboxId);
        }
        locks.remove(sandboxId);
    }

    private void destroyLocked(String id) {
        HostCommand.run(crun("kill", "--all", id, "KILL"));
        // A v1-frozen task does not act on SIGKILL until thawed: a paused sandbox must die too.
        HostCommand.run(crun("resume", id));
        HostCommand.run(crun("delete", "--force", id));
        network.detach(id);
        List<Path> busy = Cgroups.remove(cgroupPath(id));
        new SandboxDisk(sandboxDir(id)).remove();
        if (!busy.isEmpty()) {
            throw new RuntimeFailure("sandbox " + id + ": cgroups still busy after kill: " + busy);
        }
    }

    /** Syscalls only (see {@link SandboxHalt}); when it cannot tell the sandbox stopped, a full destroy instead. */
    @Override
    public boolean halt(RunningSandbox sandbox) {
        if (SandboxHalt.halt(sandbox.sandboxId(), sandbox.pid()) != SandboxHalt.Outcome.UNKNOWN) return true;
        destroy(sandbox.sandboxId());
        return false;
    }

    @Override
    public Optional<RunningSandbox> reattach(String sandboxId) {
        if (sandboxId == null || !ID.matcher(sandboxId).matches()) {
            return Optional.empty();
        }
        return SandboxRecords.running(sandboxId, crunState(sandboxId), sandboxDir(sandboxId), network);
    }

    @Override
    public void pause(String sandboxId) {
        synchronized (lockFor(sandboxId)) {
            SandboxRecords.freeze(sandboxId, true, this::crun);
            awaitFreezer(sandboxId, true);
        }
    }

    @Override
    public void resume(String sandboxId) {
        synchronized (lockFor(sandboxId)) {
            awaitFreezer(sandboxId, false);
            SandboxRecords.freeze(sandboxId, false, this::crun);
        }
    }

    /**
     * Drives the v1 freezer to FROZEN or THAWED and waits until it is there. A cgroup stays FREEZING while a task is
     * in uninterruptible sleep (page reclaim of a large working set), and crun then reports the container as running:
     * a pause must not be recorded half done, and a resume must thaw such a cgroup although crun sees nothing to do.
     * A pause that cannot complete is undone.
     */
    private static void awaitFreezer(String id, boolean frozen) {
        Path state = Path.of("/sys/fs/cgroup/freezer" + cgroupPath(id), "freezer.state");
        if (!Files.exists(state)) {
            return; // no v1 freezer here: crun's word is all there is
        }
        String want = frozen ? "FROZEN" : "THAWED";
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        try {
            while (true) {
                String now = Files.readString(state).strip(); // reading re-checks a FREEZING cgroup
                if (now.equals(want)) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    if (frozen) {
                        Files.writeString(state, "THAWED");
                        throw new RuntimeFailure("sandbox " + id + " could not be frozen (" + now + "); it runs on");
                    }
                    throw new RuntimeFailure("sandbox " + id + " could not be thawed (" + now + ")");
                }
                Files.writeString(state, want);
                Thread.sleep(10);
            }
        } catch (IOException e) {
            throw new RuntimeFailure("sandbox " + id + ": freezer: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("interrupted while changing the freezer of sandbox " + id, e);
        }
    }

    @Override
    public List<String> leftovers() {
        // A start-up cache training that runs while a new server recovers is not a leftover of an earlier process.
        return SandboxRecords.leftovers(HostCommand.run(crun("list", "-q")), sandboxesDir(), network).stream()
                .filter(id -> !training.contains(id)).toList();
    }

    @Override
    public ResourceUsage usage(String sandboxId) {
        return usage(sandboxDir(sandboxId), sandboxId);
    }

    /** Usage from the sandbox's cgroups and disk, which every runtime here lays out the same way. */
    static ResourceUsage usage(Path sandboxDir, String sandboxId) {
        String cg = cgroupPath(sandboxId);
        Properties props = new Properties();
        try (var in = Files.newInputStream(sandboxDir.resolve("sandbox.properties"))) {
            props.load(in);
        } catch (IOException e) {
            throw new RuntimeFailure("no sandbox " + sandboxId);
        }
        long cpu = Math.max(0, Cgroups.readLong("cpuacct", cg, "cpuacct.usage"));
        long mem = Math.max(0, Cgroups.readLong("memory", cg, "memory.usage_in_bytes"));
        long limit = Math.max(0, Cgroups.readLong("memory", cg, "memory.limit_in_bytes"));
        long cache = Math.max(0, Cgroups.readStat("memory", cg, "memory.stat", "total_cache"));
        long[] disk = new SandboxDisk(sandboxDir).usage();
        return new ResourceUsage(cpu, Integer.parseInt(props.getProperty("cpuCount", "1")), mem, limit, cache,
                disk[0], disk[1]);
    }

    /** Runs a command inside a running sandbox with {@code crun exec} (tests and diagnostics, not the API path). */
    public HostCommand.Result exec(String sandboxId, List<String> command) {
        List<String> full = execPrefix(sandboxId);
        full.addAll(command);
        return HostCommand.runWithin(full, 2, java.util.concurrent.TimeUnit.MINUTES);
    }

    /** Same as {@link #exec} as another user (uid:gid inside the sandbox). */
    public HostCommand.Result execAs(String sandboxId, String user, List<String> command) {
        List<String> full = crun("exec", "--user", user);
        if (config.noNewPrivileges()) {
            full.add("--no-new-privs");
        }
        full.add(sandboxId);
        full.addAll(command);
        return HostCommand.runWithin(full, 2, java.util.concurrent.TimeUnit.MINUTES);
    }

    /** Exec'd processes get what the agent's children get: no_new_privs when the sandbox has it. */
    private List<String> execPrefix(String sandboxId) {
        List<String> full = crun("exec");
        if (config.noNewPrivileges()) {
            full.add("--no-new-privs");
        }
        full.add(sandboxId);
        return full;
    }

    Optional<JsonNode> crunState(String id) {
        HostCommand.Result state = HostCommand.run(crun("state", id));
        if (!state.ok()) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readTree(state.output()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private List<String> crun(String... args) {
        List<String> command = new ArrayList<>(List.of("crun", "--root", crunRoot.toString()));
        command.addAll(List.of(args));
        return command;
    }

    private Object lockFor(String id) {
        return locks.computeIfAbsent(id, k -> new Object());
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static int waitFor(ProcessBuilder builder) {
        try {
            return builder.start().waitFor();
        } catch (IOException e) {
            throw new RuntimeFailure("cannot run crun: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("interrupted while creating sandbox", e);
        }
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    static String tail(Path log) {
        try {
            String text = Files.readString(log, StandardCharsets.UTF_8).strip();
            return text.length() > 600 ? "..." + text.substring(text.length() - 600) : text;
        } catch (IOException e) {
            return "(no log)";
        }
    }
}
