package dev.boxwood.server.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * Sandboxes as OCI containers: one bundle layout, overlay disk, cgroup limits and veth + nft network, whichever OCI
 * binary runs them. A boot prepares the disk and the bundle's {@code config.json}, runs {@code <binary> create}, then
 * {@code start}, and waits until the agent answers {@code GET /health}. Each subclass says only what its binary does
 * differently: its command line, how it adapts the spec, when the network is attached, how it stops, pauses and
 * execs.
 *
 * <p>Per sandbox, {@code <dataDir>/sandboxes/<id>/} holds the bundle ({@code config.json}), the disk image and the
 * overlay, and {@code sandbox.properties} (spec and init token) so {@link #reattach} works after a server restart.
 * Container state lives under the binary's own root {@code <runDir>/<binary>}, apart from any other user of it on
 * the host. Work for different sandboxes runs in parallel; only calls for the same id are serialised.
 */
public abstract sealed class OciRuntime implements SandboxRuntime permits CrunRuntime, RunscRuntime, RuncRuntime {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OciRuntime.class);
    static final Pattern ID = SandboxRecords.ID;
    static final ObjectMapper JSON = new ObjectMapper();
    static final int ROOT_UID = 100_000;

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

    final Config config;
    final SandboxNetwork network;
    /** The binary's name: its command, its state root's name and what messages call it. */
    final String binary;
    /** The binary's {@code --root}, {@code <runDir>/<binary>}. */
    final Path root;
    final HttpClient http;
    final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    /** The filesystem holding the sandboxes' disks, found once: finding it reads the whole mount table. */
    private final java.nio.file.FileStore sandboxesStore;

    OciRuntime(Config config, String binary) {
        this.config = config;
        this.binary = binary;
        this.network = new SandboxNetwork(config.runDir());
        this.root = config.runDir().resolve(binary);
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofMillis(500)).build();
        try {
            Files.createDirectories(root);
            Files.createDirectories(sandboxesDir());
            // The binary sets up the root filesystem from inside the user namespace, as host uid 100000: it must be
            // able to traverse (not list) the way down to each sandbox's rootfs.
            Files.setAttribute(sandboxesDir(), "unix:mode", 0711);
            sandboxesStore = Files.getFileStore(sandboxesDir());
        } catch (IOException e) {
            throw new RuntimeFailure("cannot create runtime directories: " + e.getMessage(), e);
        }
        // runc names a v1 hierarchy after its mount point's basename: hugetlb must be at /sys/fs/cgroup/hugetlb,
        // which is where this puts it.
        Cgroups.prepareHost();
        Cgroups.capSandboxPids();
        Cgroups.capSandboxMemory();
        network.prepareHost();
    }

    /** The binary's command line for {@code args}, with its global flags. */
    abstract List<String> oci(String... args);

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

    Path sandboxesDir() {
        return config.dataDir().resolve("sandboxes");
    }

    Path sandboxDir(String id) {
        return sandboxesDir().resolve(id);
    }

    static String cgroupPath(String id) {
        return "/" + Cgroups.PARENT + "/" + id;
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
        checkRoomForDisk(sandboxesStore, Math.max(64, spec.diskSizeMB()));
        synchronized (lockFor(id)) {
            Path dir = sandboxDir(id);
            if (Files.exists(dir) || containerLeft(id)) {
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

    /**
     * Whether the binary still has a container of that id although its directory is gone, which {@link #start}
     * refuses. Only crun is asked: runsc and runc fail their {@code create} on it instead.
     */
    boolean containerLeft(String id) {
        return false;
    }

    /**
     * Refuses a sandbox whose disk, were it filled, would leave the filesystem holding the sandboxes less than its
     * reserve ({@link #diskReserve}): the disks are sparse, so they take room only as they fill, and without this a
     * host already short of room would take new sandboxes until their writes, the server's database and everything
     * else on that filesystem failed together. Sandboxes already running can still fill their disks past the
     * reserve between them (their sizes together may pass the host's room): the server's disk guard then ends
     * the one holding the most.
     */
    static void checkRoomForDisk(java.nio.file.FileStore store, long diskMB) {
        long usable;
        long total;
        try {
            usable = store.getUsableSpace();
            total = store.getTotalSpace();
        } catch (IOException e) {
            throw new RuntimeFailure("cannot tell the free space for sandboxes: " + e.getMessage(), e);
        }
        long reserve = diskReserve(total);
        if (usable - (diskMB << 20) < reserve) {
            throw new NoRoomForSandbox("no room for a sandbox with a " + diskMB + " MB disk: the host has "
                    + (usable >> 20) + " MB free and keeps " + (reserve >> 20) + " MB for itself");
        }
    }

    /** Running sandboxes can fill their disks past the reserve between them: what is missing of it, if anything. */
    @Override
    public long diskShortfall() {
        try {
            return Math.max(0, diskReserve(sandboxesStore.getTotalSpace()) - sandboxesStore.getUsableSpace());
        } catch (IOException e) {
            return 0; // the next look may tell; a create meanwhile fails its own check loudly
        }
    }

    /** What the host keeps free of sandbox disks: a twentieth of the filesystem, at least 1 GiB and at most 10. */
    static long diskReserve(long totalBytes) {
        return Math.clamp(totalBytes / 20, 1L << 30, 10L << 30);
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
        disk.seed(INIT_TOKEN_FILE.substring(1), initToken, 0400, ROOT_UID, lower);
        disk.mountOverlay(lower);
        return disk;
    }

    /**
     * The sandbox process's environment. The init token is not in it but in a root-only file that the agent reads and
     * removes as it starts: an environment stays readable in {@code /proc/<pid>/environ} for as long as the process
     * runs, to whomever the kernel allows, and gVisor's kernel lets the sandbox's unprivileged user read init's.
     */
    static Map<String, String> agentEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        env.put("HOME", "/root");
        env.put("LANG", "C.UTF-8");
        env.put("BOXWOOD_INIT_TOKEN_FILE", INIT_TOKEN_FILE);
        return env;
    }

    /** Where, inside the sandbox, the agent finds its init token at start (mode 0400, root's). */
    static final String INIT_TOKEN_FILE = "/etc/boxwood/init-token";

    /**
     * Boots: disk, network (now or from {@link #launch}), bundle, {@code create}, then {@link #launch}.
     * {@code training} non-null means an agent start-up training run writing into that host dir (crun only).
     */
    RunningSandbox boot(SandboxSpec spec, Path dir, Path lower, Path training) throws IOException {
        String id = spec.sandboxId();
        long t0 = System.nanoTime();
        String initToken = HexFormat.of().formatHex(bytes(24));
        SandboxDisk disk = prepareDisk(spec, dir, lower, initToken, network.resolvConf());
        long tDisk = System.nanoTime();
        NetworkAttachment wired = wireBeforeCreate(id, disk);

        Map<Path, String> binds = new LinkedHashMap<>();
        binds.put(config.jdk(), "/opt/boxwood/jdk");
        if (Files.isRegularFile(config.agentJar())) {
            binds.put(config.agentJar(), "/opt/boxwood/agent.jar");
        } else if (config.command() == null) {
            throw new RuntimeFailure("agent jar not found at " + config.agentJar() + " (build the agent module)");
        }
        Map<Path, String> writable = new LinkedHashMap<>();
        List<String> args = process(spec, disk, training, binds, writable);
        long memoryBytes = Math.max(64, spec.memoryMB()) * 1024L * 1024L;
        var input = new OciSpec.Input(disk.rootfs(), id, args, agentEnv(), cgroupPath(id),
                Math.max(1, spec.cpuCount()), memoryBytes, config.pidsLimit(), config.noNewPrivileges(), binds,
                writable);
        ObjectNode oci = OciSpec.build(input);
        adaptSpec(oci, id, wired);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), oci);
        long tPrepared = System.nanoTime();

        // create returns once the init process exists; the container inherits the binary's stdio, so that must be a
        // file (a pipe would keep our reader waiting for the sandbox's lifetime): the console log.
        List<String> make = new ArrayList<>(createVerb());
        make.addAll(List.of("--bundle", dir.toString(), "--pid-file", dir.resolve("pid").toString(), id));
        if (runLogged(disk, make.toArray(String[]::new)) != 0) {
            throw new RuntimeFailure(binary + " " + make.getFirst() + " failed: " + tail(disk.log()));
        }
        return launch(new Created(id, dir, disk, initToken, wired, training, t0, tDisk, tPrepared));
    }

    /**
     * The binary's command that makes the container: {@code create}, and {@link #launch} starts it once the network
     * is wired; a runtime that wires the network while the sandbox starts makes and starts it in one go instead.
     */
    List<String> createVerb() {
        return List.of("create");
    }

    /** A sandbox past {@code create}, with when its boot began, its disk was ready and its bundle written. */
    record Created(String id, Path dir, SandboxDisk disk, String initToken, NetworkAttachment wired, Path training,
                   long t0, long tDisk, long tPrepared) {

        long pid() throws IOException {
            return Long.parseLong(Files.readString(dir.resolve("pid")).strip());
        }
    }

    /**
     * The network made before {@code create} (runsc and runc join a namespace that exists and is wired), or null
     * when {@link #launch} attaches it to the namespace the binary created (crun).
     */
    NetworkAttachment wireBeforeCreate(String id, SandboxDisk disk) throws IOException {
        return null;
    }

    /** The sandbox's process; may add binds and writable binds. Plain tini + agent, or the configured command. */
    List<String> process(SandboxSpec spec, SandboxDisk disk, Path training, Map<Path, String> binds,
                         Map<Path, String> writable) {
        return config.command() != null ? config.command() : agentCommand(List.of(), List.of());
    }

    /** Changes the spec {@link OciSpec} built for what this binary needs; {@code wired} as from wireBeforeCreate. */
    void adaptSpec(ObjectNode oci, String id, NetworkAttachment wired) {
    }

    /** Starts a created sandbox whose network is already wired and waits for its agent. */
    RunningSandbox launch(Created c) throws IOException {
        HostCommand.check(oci("start", c.id()));
        RunningSandbox running = new RunningSandbox(c.id(), c.wired().sandboxAddress(), c.pid(), c.initToken());
        awaitHealthy(running, c.disk());
        long tUp = System.nanoTime();
        LOG.info("{} sandbox {} up in {} ms (disk and network {}, {} to healthy {})", label(), c.id(),
                ms(tUp - c.t0()), ms(c.tPrepared() - c.t0()), binary, ms(tUp - c.tPrepared()));
        return running;
    }

    /** What the start-up log calls this kind of sandbox. */
    String label() {
        return binary;
    }

    /**
     * tini and the agent's JVM, with optional start-up cache flags and agent arguments. Memory: the AOT cache is mapped
     * at its own base address (ArchiveRelocationMode=0) so that its read-only part stays clean page cache shared by
     * every sandbox instead of ~20 MB relocated into private memory in each; one C1 thread and no perf-data file.
     * A fixed 1 MB young generation: eden is dirtied whole between collections, so a larger one is resident memory
     * in every sandbox for little gain (measured at start plus 120 commands: 28.0 MB private memory with 2 MB against
     * 29.8 or 35.7 MB with the default sizing; a code-interpreter agent after its first cell, 27.7 MB with 2 MB and
     * 26.8 with 1 MB). The price is a young collection every ~5 commands instead of ~10, at ~0.75 ms each.
     * The stack-banging shadow zone at the lowest size HotSpot allows on x86-64 (10 pages, not 20): every Java thread
     * touches its whole shadow zone, and a code-interpreter agent has ~20 of them (26.8 -> 26.0 MiB private memory,
     * start unchanged). The shadow zone is the headroom native code has near a stack overflow; the agent recurses
     * only as deep as its bounded inputs (Jackson's nesting limit), and a recursion to overflow through file, socket
     * and formatting calls still ends in a StackOverflowError with 10 pages.
     */
    static List<String> agentCommand(List<String> jvmCache, List<String> agentArgs) {
        List<String> args = new ArrayList<>(List.of("/usr/bin/tini", "-s", "--", "/opt/boxwood/jdk/bin/java",
                "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:+UseSerialGC", "-Xms8m", "-Xmx64m", "-Xmn1m",
                "-Xss512k", "-XX:StackShadowPages=10", "-XX:MaxMetaspaceSize=64m", "-XX:ReservedCodeCacheSize=16m",
                "-XX:-UsePerfData", "-XX:TrimNativeHeapInterval=5000", "-XX:+UnlockDiagnosticVMOptions",
                "-XX:ArchiveRelocationMode=0", "-Djava.net.preferIPv4Stack=true"));
        args.addAll(jvmCache);
        args.addAll(List.of("-jar", "/opt/boxwood/agent.jar"));
        args.addAll(agentArgs);
        return args;
    }

    /** Waits until {@code GET /health} answers 2xx; fails early if the sandbox's init has exited. */
    void awaitHealthy(RunningSandbox sandbox, SandboxDisk disk) {
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

    void destroyLocked(String id) {
        kill(id);
        HostCommand.run(oci("delete", "--force", id));
        detach(id);
        List<Path> busy = Cgroups.remove(cgroupPath(id));
        // A checkpoint's images (runc) go with the directory (they may hold the sandbox's secrets: memory).
        new SandboxDisk(sandboxDir(id)).remove();
        if (!busy.isEmpty()) {
            throw new RuntimeFailure("sandbox " + id + ": cgroups still busy after kill: " + busy);
        }
    }

    /** Ends every process of the sandbox, paused or not. */
    void kill(String id) {
        HostCommand.run(oci("kill", "--all", id, "KILL"));
        // A v1-frozen task does not act on SIGKILL until thawed: a paused sandbox must die too.
        HostCommand.run(oci("resume", id));
    }

    /** Removes the sandbox's network. */
    void detach(String id) {
        network.detach(id);
    }

    @Override
    public Optional<RunningSandbox> reattach(String sandboxId) {
        if (sandboxId == null || !ID.matcher(sandboxId).matches()) {
            return Optional.empty();
        }
        return SandboxRecords.running(sandboxId, state(sandboxId), sandboxDir(sandboxId), network);
    }

    @Override
    public void pause(String sandboxId) {
        synchronized (lockFor(sandboxId)) {
            SandboxRecords.freeze(sandboxId, true, this::oci);
        }
    }

    @Override
    public void resume(String sandboxId) {
        synchronized (lockFor(sandboxId)) {
            SandboxRecords.freeze(sandboxId, false, this::oci);
        }
    }

    @Override
    public List<String> leftovers() {
        return SandboxRecords.leftovers(HostCommand.run(oci("list", quietFlag())), sandboxesDir(), network);
    }

    /** The flag that makes {@code list} print ids only. */
    String quietFlag() {
        return "-q";
    }

    @Override
    public void cpuWeight(String sandboxId, int weight) {
        Cgroups.cpuShares(cgroupPath(sandboxId), weight);
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

    /** The binary's {@code state} of the container, if it knows it. */
    Optional<JsonNode> state(String id) {
        HostCommand.Result state = HostCommand.run(oci("state", id));
        if (!state.ok()) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readTree(state.output()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Runs the binary with its output appended to the console log (the container inherits the binary's stdio). */
    int runLogged(SandboxDisk disk, String... args) {
        ProcessBuilder builder = new ProcessBuilder(oci(args)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(disk.log().toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        try {
            return builder.start().waitFor();
        } catch (IOException e) {
            throw new RuntimeFailure("cannot run " + binary + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("interrupted while running " + binary, e);
        }
    }

    Object lockFor(String id) {
        return locks.computeIfAbsent(id, k -> new Object());
    }

    byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    static long ms(long nanos) {
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
