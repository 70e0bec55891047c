package dev.boxwood.server.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.server.network.NetworkAttachment;
import dev.boxwood.server.network.SandboxNetwork;
import java.io.IOException;
import java.net.http.HttpClient;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Sandboxes run by gVisor's {@code runsc}: the sandbox's processes talk to gVisor's own kernel (the Sentry), not the
 * host's, so a kernel bug reachable from inside no longer means the host. Same bundle layout, overlay disk, cgroup
 * limits and veth + nft network as {@link CrunRuntime}.
 *
 * <p>Two choices forced by the runsc of Debian bookworm-backports (20240729) on this kernel: its own netstack
 * ({@code --network=sandbox}) refuses every namespace as "root network namespace" (it probes a sysctl that newer
 * kernels show in every netns), so it runs with {@code --network=host} inside a network namespace Boxwood creates
 * and wires before {@code runsc create} — the sandbox still sees only its veth, behind the same firewall. And the
 * platform is {@code systrap}: KVM needs VMX/SVM, which this host lacks. The spec keeps the user namespace mapping
 * so the template's files (owned by the host range from 100000) appear with their own owners inside.
 */
public final class RunscRuntime implements SandboxRuntime {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RunscRuntime.class);
    private static final Pattern ID = SandboxRecords.ID;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ROOT_UID = 100_000;

    private final CrunRuntime.Config config;
    private final SandboxNetwork network;
    private final Path runscRoot;
    private final HttpClient http;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    public RunscRuntime(CrunRuntime.Config config) {
        this.config = config;
        this.network = new SandboxNetwork(config.runDir());
        this.runscRoot = config.runDir().resolve("runsc");
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofMillis(500)).build();
        try {
            Files.createDirectories(runscRoot);
            Files.createDirectories(sandboxesDir());
            Files.setAttribute(sandboxesDir(), "unix:mode", 0711);
        } catch (IOException e) {
            throw new RuntimeFailure("cannot create runtime directories: " + e.getMessage(), e);
        }
        Cgroups.prepareHost();
        network.prepareHost();
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

    private Path sandboxesDir() {
        return config.dataDir().resolve("sandboxes");
    }

    private Path sandboxDir(String id) {
        return sandboxesDir().resolve(id);
    }

    @Override
    public RunningSandbox start(SandboxSpec spec) {
        String id = spec.sandboxId();
        Object lock = id == null ? new Object() : lockFor(id);
        return SandboxRecords.start(spec, config.dataDir(), lock, this::boot, () -> destroyLocked(id));
    }

    private RunningSandbox boot(SandboxSpec spec, Path dir, Path lower) throws IOException {
        String id = spec.sandboxId();
        long t0 = System.nanoTime();
        String initToken = HexFormat.of().formatHex(bytes(24));
        SandboxDisk disk = CrunRuntime.prepareDisk(spec, dir, lower, initToken, network.resolvConf());

        // The network namespace exists and is wired before runsc sees it: with --network=host gVisor uses the
        // interfaces of the namespace it starts in. A short-lived holder process creates it; the pin keeps it.
        NetworkAttachment net = NetnsHolder.wire(network, id);

        Map<String, String> env = CrunRuntime.agentEnv(initToken);
        Map<Path, String> binds = new LinkedHashMap<>();
        binds.put(config.jdk(), "/opt/boxwood/jdk");
        if (Files.isRegularFile(config.agentJar())) {
            binds.put(config.agentJar(), "/opt/boxwood/agent.jar");
        } else if (config.command() == null) {
            throw new RuntimeFailure("agent jar not found at " + config.agentJar() + " (build the agent module)");
        }
        long memoryBytes = Math.max(64, spec.memoryMB()) * 1024L * 1024L;
        var input = new OciSpec.Input(disk.rootfs(), id, processArgs(), env, CrunRuntime.cgroupPath(id),
                Math.max(1, spec.cpuCount()), memoryBytes, config.pidsLimit(), config.noNewPrivileges(), binds,
                Map.of());
        ObjectNode oci = OciSpec.build(input);
        ObjectNode linux = (ObjectNode) oci.get("linux");
        for (var ns : (ArrayNode) linux.get("namespaces")) {
            if ("network".equals(ns.path("type").asText())) {
                ((ObjectNode) ns).put("path", NetnsHolder.path(net));
            }
        }
        // gVisor's kernel filters system calls itself; the host profile is for runc-style runtimes.
        linux.remove("seccomp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), oci);
        long tPrepared = System.nanoTime();

        ProcessBuilder create = new ProcessBuilder(runsc("create", "--bundle", dir.toString(),
                "--pid-file", dir.resolve("pid").toString(), id))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(disk.log().toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        int exit;
        try {
            exit = create.start().waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("interrupted while creating sandbox", e);
        }
        if (exit != 0) {
            throw new RuntimeFailure("runsc create failed: " + CrunRuntime.tail(disk.log()));
        }
        HostCommand.check(runsc("start", id));
        long pid = Long.parseLong(Files.readString(dir.resolve("pid")).strip());
        RunningSandbox running = new RunningSandbox(id, net.sandboxAddress(), pid, initToken);
        CrunRuntime.awaitHealthy(http, config.startTimeout(), running, disk);
        long tUp = System.nanoTime();
        LOG.info("gVisor sandbox {} up in {} ms (disk and network {}, runsc to healthy {})", id,
                (tUp - t0) / 1_000_000, (tPrepared - t0) / 1_000_000, (tUp - tPrepared) / 1_000_000);
        return running;
    }

    private List<String> processArgs() {
        return config.command() != null ? config.command() : CrunRuntime.agentCommand(List.of(), List.of());
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
        HostCommand.run(runsc("resume", id)); // a paused sandbox would not act on the kill
        HostCommand.run(runsc("kill", "--all", id, "KILL"));
        HostCommand.run(runsc("delete", "--force", id));
        network.detach(id);
        List<Path> busy = Cgroups.remove(CrunRuntime.cgroupPath(id));
        new SandboxDisk(sandboxDir(id)).remove();
        if (!busy.isEmpty()) {
            throw new RuntimeFailure("sandbox " + id + ": cgroups still busy after kill: " + busy);
        }
    }

    @Override
    public Optional<RunningSandbox> reattach(String sandboxId) {
        if (sandboxId == null || !ID.matcher(sandboxId).matches()) {
            return Optional.empty();
        }
        HostCommand.Result state = HostCommand.run(runsc("state", sandboxId));
        Optional<JsonNode> json = Optional.empty();
        if (state.ok()) {
            try {
                json = Optional.of(JSON.readTree(state.output()));
            } catch (IOException e) {
                // unreadable state: not reattachable
            }
        }
        return SandboxRecords.running(sandboxId, json, sandboxDir(sandboxId), network);
    }

    @Override
    public List<String> leftovers() {
        return SandboxRecords.leftovers(HostCommand.run(runsc("list", "-quiet")), sandboxesDir(), network);
    }

    @Override
    public void pause(String sandboxId) {
        synchronized (lockFor(sandboxId)) {
            SandboxRecords.freeze(sandboxId, true, this::runsc);
        }
    }

    @Override
    public void resume(String sandboxId) {
        synchronized (lockFor(sandboxId)) {
            SandboxRecords.freeze(sandboxId, false, this::runsc);
        }
    }

    @Override
    public ResourceUsage usage(String sandboxId) {
        return CrunRuntime.usage(sandboxDir(sandboxId), sandboxId);
    }

    /** Runs a command inside a running sandbox with {@code runsc exec} (tests and diagnostics, not the API path). */
    public HostCommand.Result exec(String sandboxId, List<String> command) {
        List<String> full = runsc("exec", sandboxId);
        full.addAll(command);
        return HostCommand.runWithin(full, 2, TimeUnit.MINUTES);
    }

    private List<String> runsc(String... args) {
        List<String> command = new ArrayList<>(List.of("runsc", "--root", runscRoot.toString(),
                "--platform=systrap", "--network=host"));
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
}
