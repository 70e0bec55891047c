package dev.boxwood.server.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.server.network.NetworkAttachment;
import dev.boxwood.server.network.SandboxNetwork;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Sandboxes run by {@code runc}, paused by a CRIU checkpoint to disk (memory-free) by default, or by the cgroup
 * freezer with {@code -Dboxwood.runc.checkpoint=false}. Same bundle, overlay disk, cgroup limits, seccomp and veth +
 * nft network as {@link CrunRuntime}: runc makes the sandbox's user namespace and, inside it, its network namespace,
 * which is wired between {@code create} and {@code start} and pinned at {@code /run/netns/bw-<id>}.
 *
 * <p>Checkpoint ({@code runc checkpoint}, CRIU 4.1.1 from {@code bin/common.sh ensure_criu}): the sandbox's processes
 * are dumped into {@code <dataDir>/sandboxes/<id>/checkpoint/} (about 10 MB for an idle agent) and end, their cgroups
 * go, and {@code checkpoint.properties} records it so a restarted server finds the sandbox paused. The network
 * namespace is not dumped ({@code --empty-ns network}): its pin keeps it, with {@code eth0}, while paused. Restore
 * ({@code runc restore --empty-ns network}): CRIU makes a new user namespace and in it an empty network namespace;
 * runc then runs the bundle's prestart hooks with the restored init's pid, before CRIU restores any socket, and the
 * hook {@link #resume} writes lets the server move {@code eth0} into the new namespace and set it up again
 * ({@link SandboxNetwork#moveInto}), so the sandbox keeps its address and firewall entries, and TCP connections
 * (established ones too, {@code --tcp-established}: a kernel's loopback ZeroMQ links) come back.
 *
 * <p>What else it took on this machine: stdio is moved off host files by a shell inside ({@value #CONSOLE} is the
 * console log, bound in; a host file makes CRIU fail with "Can't lookup mount"), and the disk's top directory is
 * traversable by the sandbox's root, which binds that log during a restore; CRIU runs with {@code CRIU_FAULT=130}
 * (no hardware breakpoints: on this virtual CPU a task never traps on one and the dump hangs); CRIU is patched for
 * kernels that refuse SO_PASSCRED on TCP sockets; and the time namespace image is readable by all (see
 * {@link #handOver}). What did not work: joining a network namespace made beforehand by Boxwood (owned by a pinned
 * user namespace): CRIU 4.1.1 always makes a new user namespace on restore, and a task in it may not join a network
 * namespace owned by another ({@code Can't setns 16/net: Operation not permitted}), {@code --join-ns user:} or not.
 */
public final class RuncRuntime extends OciRuntime {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RuncRuntime.class);
    static final String CONSOLE = "/run/boxwood-console.log";

    private final Path criu;
    private final long checkpointLimitBytes;

    public RuncRuntime(Config config) {
        this(config, Criu.require());
    }

    public RuncRuntime(Config config, Path criu) {
        this(config, criu, Boolean.parseBoolean(System.getProperty("boxwood.runc.checkpoint", "true"))
                ? Long.getLong("boxwood.checkpointLimitMB", 10_240) << 20 : 0);
    }

    /**
     * @param checkpointLimitBytes most bytes of CRIU images all paused sandboxes may keep on disk together; a pause
     *                             that would go beyond it freezes the sandbox instead (memory stays). 0 (what
     *                             {@code -Dboxwood.runc.checkpoint=false} gives): always freeze
     */
    public RuncRuntime(Config config, Path criu, long checkpointLimitBytes) {
        super(config, "runc");
        this.criu = criu;
        this.checkpointLimitBytes = checkpointLimitBytes;
    }

    /** Where a paused sandbox's CRIU images are. */
    public Path checkpointDir(String id) {
        return sandboxDir(id).resolve("checkpoint");
    }

    private Path checkpointRecord(String id) {
        return sandboxDir(id).resolve("checkpoint.properties");
    }

    /** Whether the sandbox is paused as a checkpoint on disk (its processes gone). */
    public boolean checkpointed(String id) {
        return id != null && ID.matcher(id).matches() && Files.isRegularFile(checkpointRecord(id));
    }

    /**
     * runc, with CRIU (which it runs for checkpoint and restore) told not to use hardware breakpoints: on this
     * machine's virtual CPU a task never traps on one, and a dump waits forever for the parasite's sigreturn
     * ("Daemon … exited trapping", then nothing). {@code CRIU_FAULT=130} (FI_NO_BREAKPOINTS) steps by syscall instead.
     */
    @Override
    List<String> oci(String... args) {
        List<String> command = new ArrayList<>(List.of("env", "CRIU_FAULT=130", "runc", "--root", root.toString(),
                "--criu", criu.toString()));
        command.addAll(List.of(args));
        return command;
    }

    /**
     * The sandbox's root writes its console log itself (through the bind), so it owns the file; and a restore binds
     * it from inside the sandbox's user namespace, so that root must be able to traverse the disk's top directory
     * (what it can reach there, the upper layer, is its own rootfs anyway).
     */
    @Override
    NetworkAttachment wireBeforeCreate(String id, SandboxDisk disk) throws IOException {
        Files.setAttribute(disk.log().getParent(), "unix:mode", 0711);
        Files.setAttribute(disk.log(), "unix:uid", ROOT_UID);
        Files.setAttribute(disk.log(), "unix:gid", ROOT_UID);
        return null;
    }

    /**
     * The sandbox's process behind a shell that points stdio at files inside the sandbox: a descriptor on a host file
     * (what runc hands over) makes CRIU fail with "Can't lookup mount". The console log is bound in writable.
     */
    @Override
    List<String> process(SandboxSpec spec, SandboxDisk disk, Path training, Map<Path, String> binds,
                         Map<Path, String> writable) {
        writable.put(disk.log(), CONSOLE);
        List<String> args = new ArrayList<>(List.of("/bin/sh", "-c",
                "exec \"$@\" </dev/null >>" + CONSOLE + " 2>&1", "boxwood-init"));
        args.addAll(super.process(spec, disk, training, binds, writable));
        return args;
    }

    /**
     * runc made the network namespace (inside the sandbox's user namespace, as crun does), so CRIU treats it as the
     * sandbox's own; it is wired between {@code create} and {@code start}.
     */
    @Override
    RunningSandbox launch(Created c) throws IOException {
        NetworkAttachment net = network.attach(c.id(), c.pid());
        return super.launch(new Created(c.id(), c.dir(), c.disk(), c.initToken(), net, c.training(), c.t0(),
                c.tDisk(), c.tPrepared()));
    }

    @Override
    public Optional<RunningSandbox> reattach(String sandboxId) {
        if (sandboxId == null || !ID.matcher(sandboxId).matches()) {
            return Optional.empty();
        }
        if (checkpointed(sandboxId)) {
            // Nothing runs: the sandbox is its images, its disk and its pinned network namespace.
            Optional<NetworkAttachment> net = network.find(sandboxId);
            Properties props = readProps(sandboxDir(sandboxId).resolve("sandbox.properties"));
            if (net.isEmpty() || props == null || !SandboxDisk.isMounted(sandboxDir(sandboxId).resolve("rootfs"))) {
                return Optional.empty();
            }
            return Optional.of(new RunningSandbox(sandboxId, net.get().sandboxAddress(), 0,
                    props.getProperty("initToken")));
        }
        return super.reattach(sandboxId);
    }

    /**
     * Checkpoints the sandbox to disk and ends its processes. TCP connections (the server's to the agent, a kernel's
     * loopback ZeroMQ links) are dumped established and come back established. Idempotent.
     */
    @Override
    public void pause(String sandboxId) {
        synchronized (lockFor(sandboxId)) {
            if (checkpointed(sandboxId)) {
                return;
            }
            Optional<JsonNode> state = state(sandboxId);
            if (state.isEmpty()) {
                throw new RuntimeFailure("sandbox " + sandboxId + " does not exist");
            }
            if (state.get().path("status").asText().equals("paused")) {
                return; // frozen earlier (the checkpoint storage was full)
            }
            // The images hold about the sandbox's anonymous memory (page cache is not dumped).
            ResourceUsage now = usage(sandboxId);
            long estimate = Math.max(0, now.memUsedBytes() - now.memCacheBytes());
            long stored = checkpointBytesTotal();
            if (checkpointLimitBytes == 0) {
                SandboxRecords.freeze(sandboxId, true, this::oci);
                return;
            }
            if (stored + estimate > checkpointLimitBytes) {
                LOG.warn("sandbox {} is frozen, not checkpointed: {} MiB of checkpoints plus about {} MiB would pass "
                        + "the limit of {} MiB", sandboxId, stored >> 20, estimate >> 20, checkpointLimitBytes >> 20);
                SandboxRecords.freeze(sandboxId, true, this::oci);
                return;
            }
            Path images = checkpointDir(sandboxId);
            long t0 = System.nanoTime();
            HostCommand.Result dump;
            for (int attempt = 1; ; attempt++) {
                try {
                    deleteTree(images); // a dump that failed half-way
                    Files.createDirectories(images);
                    Files.setAttribute(images, "unix:mode", 0700);
                } catch (IOException e) {
                    throw new RuntimeFailure("sandbox " + sandboxId + ": cannot create its checkpoint directory: "
                            + e.getMessage(), e);
                }
                dump = HostCommand.runWithin(oci("checkpoint", "--image-path", images.toString(), "--work-path",
                        images.toString(), "--tcp-established", "--file-locks", "--empty-ns", "network", sandboxId),
                        3, TimeUnit.MINUTES);
                // CRIU gives up when a task stays in uninterruptible sleep past its 10 s seize timeout (seen at load
                // ~20: "Unseizable non-zombie … state D"); it leaves the sandbox running, so one more try is safe.
                if (dump.ok() || attempt == 2 || !logSays(images.resolve("dump.log"), "Timeout reached")) break;
                LOG.warn("sandbox {}: CRIU timed out seizing its tasks, checkpointing again", sandboxId);
            }
            if (!dump.ok()) {
                String why = dump.output().strip() + criuLogTail(images.resolve("dump.log"));
                keepLog(images.resolve("dump.log"), sandboxDir(sandboxId).resolve("checkpoint-failed.log"));
                deleteTree(images);
                // runc leaves the sandbox running when the dump fails before its processes were killed (something
                // in it CRIU cannot dump): it is frozen instead, so the pause still holds, with its memory.
                if (state(sandboxId).map(st -> st.path("status").asText().equals("running")).orElse(false)) {
                    LOG.warn("sandbox {}: checkpoint failed, frozen instead: {}", sandboxId, why);
                    SandboxRecords.freeze(sandboxId, true, this::oci);
                    return;
                }
                throw new RuntimeFailure("checkpoint of sandbox " + sandboxId + " failed: " + why);
            }
            long bytes;
            try {
                // Parts of the restore read the images from inside the sandbox's user namespace.
                handOver(images);
                bytes = sizeOf(images);
                Properties record = new Properties();
                record.setProperty("kind", "checkpoint");
                record.setProperty("images", images.toString());
                record.setProperty("bytes", Long.toString(bytes));
                record.setProperty("at", Instant.now().toString());
                Path tmp = checkpointRecord(sandboxId).resolveSibling("checkpoint.properties.tmp");
                try (var out = Files.newOutputStream(tmp)) {
                    record.store(out, "paused by CRIU checkpoint");
                }
                Files.move(tmp, checkpointRecord(sandboxId), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new RuntimeFailure("sandbox " + sandboxId + ": cannot record its checkpoint: " + e.getMessage(), e);
            }
            LOG.info("sandbox {} checkpointed in {} ms ({} KiB of images)", sandboxId,
                    (System.nanoTime() - t0) / 1_000_000, bytes / 1024);
        }
    }

    /**
     * Restores a checkpointed sandbox and deletes its images; thaws a frozen one; does nothing to a running one.
     *
     * <p>CRIU makes the sandbox a new, empty network namespace ({@code --empty-ns network}); runc runs the bundle's
     * prestart hooks once it exists, with the restored init's pid, before any socket is restored. The hook (written
     * into {@code config.json} here, see {@link #restoreHook}) hands that pid over through a file and waits; this
     * moves {@code eth0} from the old, pinned namespace into the new one and sets its address, route, {@code lo} and
     * shaping again, then lets the hook return. So the sandbox keeps its address, host interface and firewall entries,
     * and its loopback TCP connections (a kernel's ZeroMQ links) find {@code lo} up when CRIU restores them.
     */
    @Override
    public void resume(String sandboxId) {
        synchronized (lockFor(sandboxId)) {
            if (!checkpointed(sandboxId)) {
                SandboxRecords.freeze(sandboxId, false, this::oci);
                return;
            }
            Path dir = sandboxDir(sandboxId);
            Path images = checkpointDir(sandboxId);
            SandboxDisk disk = new SandboxDisk(dir);
            long t0 = System.nanoTime();
            // A failed restore may leave runc's record of the container behind; a retry needs the id free.
            if (state(sandboxId).isPresent()) {
                HostCommand.run(oci("delete", "--force", sandboxId));
            }
            Path handover = dir.resolve("restore-state.json");
            Path wired = dir.resolve("restore-wired");
            Path unwired = dir.resolve("restore-unwired");
            Path output = dir.resolve("restore-output.log");
            Process restore;
            try {
                for (Path p : List.of(handover, wired, unwired)) {
                    Files.deleteIfExists(p);
                }
                restoreHook(dir);
                restore = new ProcessBuilder(oci("restore", "--detach", "--image-path", images.toString(),
                        "--work-path", images.toString(), "--tcp-established", "--file-locks", "--empty-ns", "network",
                        "--bundle", dir.toString(), "--pid-file", dir.resolve("pid").toString(), sandboxId))
                        .redirectErrorStream(true).redirectOutput(output.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            } catch (IOException e) {
                throw new RuntimeFailure("restore of sandbox " + sandboxId + " failed (it stays paused): "
                        + e.getMessage(), e);
            }
            String failure = null;
            long tHook = 0;
            long tWired = 0;
            try {
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
                while (!Files.exists(handover) && restore.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(2);
                }
                if (Files.exists(handover)) {
                    tHook = System.nanoTime();
                    try {
                        long pid = JSON.readTree(handover.toFile()).path("pid").asLong();
                        network.moveInto(sandboxId, pid);
                        tWired = System.nanoTime();
                        Files.writeString(wired, "");
                    } catch (RuntimeException | IOException e) {
                        failure = "cannot wire the restored network: " + e.getMessage();
                        Files.writeString(unwired, "");
                    }
                }
                if (!restore.waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    restore.destroyForcibly();
                    failure = "runc restore timed out";
                } else if (restore.exitValue() != 0 && failure == null) {
                    failure = "runc restore exited with " + restore.exitValue();
                }
            } catch (IOException e) {
                failure = e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                restore.destroyForcibly();
                failure = "interrupted";
            }
            if (failure != null) {
                HostCommand.run(oci("delete", "--force", sandboxId));
                throw new RuntimeFailure("restore of sandbox " + sandboxId + " failed (it stays paused): " + failure
                        + "\n" + tail(output) + "\nhook: " + tail(dir.resolve("restore-hook.log"))
                        + criuLogTail(images.resolve("restore.log")));
            }
            try {
                Files.delete(checkpointRecord(sandboxId));
                for (Path p : List.of(handover, wired, output, dir.resolve("restore-hook.log"))) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException e) {
                throw new RuntimeFailure("sandbox " + sandboxId + ": cannot clear its checkpoint record", e);
            }
            deleteTree(images);
            long tRestored = System.nanoTime();
            Optional<RunningSandbox> running = reattach(sandboxId);
            if (running.isPresent()) {
                awaitHealthy(running.get(), disk);
            }
            LOG.info("sandbox {} restored in {} ms (hook ran after {} ms, network wired in {} ms, healthy {} ms "
                    + "later)", sandboxId, ms(System.nanoTime() - t0), ms(tHook - t0), ms(tWired - tHook),
                    ms(System.nanoTime() - tRestored));
        }
    }

    /**
     * Puts the restore's hand-over into the bundle as its only prestart hook (only now: a {@code create} would run it
     * too). It writes the OCI state (with the restored init's pid) for the server, then waits until the server says
     * the network is wired (or failed: then the restore fails).
     */
    void restoreHook(Path dir) throws IOException {
        ObjectNode oci = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        String d = dir.toString();
        String script = "exec 2>'" + d + "/restore-hook.log'; cat > '" + d + "/restore-state.tmp' && mv '" + d + "/restore-state.tmp' '" + d
                + "/restore-state.json' && i=0; while [ ! -e '" + d + "/restore-wired' ]; do"
                + " [ -e '" + d + "/restore-unwired' ] && exit 1; i=$((i+1)); [ $i -gt 15000 ] && exit 1;"
                + " sleep 0.01; done";
        ObjectNode hook = JSON.createObjectNode();
        hook.put("path", "/bin/sh");
        hook.putArray("args").add("sh").add("-c").add(script);
        hook.put("timeout", 170);
        oci.putObject("hooks").putArray("prestart").add(hook);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), oci);
    }

    /** Bytes of CRIU images every checkpointed sandbox of this data directory keeps, together. */
    public long checkpointBytesTotal() {
        if (!Files.isDirectory(sandboxesDir())) {
            return 0;
        }
        try (Stream<Path> dirs = Files.list(sandboxesDir())) {
            return dirs.map(d -> d.getFileName().toString()).mapToLong(this::checkpointBytes).sum();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Bytes of CRIU images a paused sandbox keeps on disk (0 when it is not checkpointed). */
    public long checkpointBytes(String sandboxId) {
        Properties record = checkpointed(sandboxId) ? readProps(checkpointRecord(sandboxId)) : null;
        return record == null ? 0 : Long.parseLong(record.getProperty("bytes", "0"));
    }

    /**
     * Runs a command inside a running sandbox as its root (tests and diagnostics, not the API path), through
     * {@code nsenter} into all of its namespaces. The command joins the sandbox's cgroups, so that what it leaves
     * running belongs to the sandbox like the agent's children, in a session of its own (CRIU refuses a session
     * leader outside the sandbox's pid namespace). What it leaves running must be orphaned (backgrounded) to be
     * adopted by the sandbox's init: a child of nsenter is outside the tree a checkpoint dumps.
     */
    public HostCommand.Result exec(String sandboxId, List<String> command) {
        long pid = state(sandboxId).map(s -> s.path("pid").asLong()).orElse(0L);
        if (pid <= 0) {
            return new HostCommand.Result(1, "sandbox " + sandboxId + " is not running");
        }
        StringBuilder join = new StringBuilder();
        List<Path> cgroups = new ArrayList<>(Cgroups.dirs(cgroupPath(sandboxId)));
        cgroups.add(Path.of("/sys/fs/cgroup/unified" + cgroupPath(sandboxId))); // runc's, in hybrid mode
        for (Path cg : cgroups) {
            if (Files.isRegularFile(cg.resolve("cgroup.procs"))) {
                join.append("echo $$ > ").append(cg.resolve("cgroup.procs")).append(" && ");
            }
        }
        List<String> full = new ArrayList<>(List.of("sh", "-c", join + "exec nsenter -t " + pid
                + " -a -r -w -S 0 -G 0 -- setsid -w \"$@\"", "exec"));
        full.addAll(command);
        return HostCommand.runWithin(full, 2, TimeUnit.MINUTES);
    }

    private static String criuLogTail(Path log) {
        if (!Files.isRegularFile(log)) {
            return "";
        }
        try {
            List<String> lines = Files.readAllLines(log);
            List<String> shown = new ArrayList<>(lines.stream().filter(l -> l.contains("Error")).toList());
            shown.addAll(lines.subList(Math.max(0, lines.size() - 6), lines.size()));
            return "\n" + String.join("\n", shown);
        } catch (IOException e) {
            return "";
        }
    }

    private static boolean logSays(Path log, String text) {
        try {
            return Files.isRegularFile(log) && Files.readString(log).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    private static void keepLog(Path log, Path kept) {
        try {
            Files.copy(log, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException ignored) {
            // no log to keep
        }
    }

    private static Properties readProps(Path file) {
        Properties props = new Properties();
        try (var in = Files.newInputStream(file)) {
            props.load(in);
            return props;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Gives the images to the sandbox's root (host uid 100000), which reads parts of them during the restore, and
     * only to it: they hold the sandbox's memory. One exception: CRIU's root task reads its time namespace image
     * ({@code timens-<n>.img}, clock offsets) after it entered the new user namespace but before CRIU wrote that
     * namespace's uid map, as the overflow uid with no capabilities over any file; so that image is readable by all,
     * and the directory may be traversed (not listed) by all. Without it about one restore in five failed with
     * "Unable to open timens-13.img: Permission denied".
     */
    private static void handOver(Path images) throws IOException {
        try (Stream<Path> all = Files.walk(images)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Files.setAttribute(p, "unix:uid", ROOT_UID, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(p, "unix:gid", ROOT_UID, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                if (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    boolean clock = p.getFileName().toString().matches("timens-\\d+\\.img");
                    Files.setAttribute(p, "unix:mode", clock ? 0644 : 0600);
                }
            }
        }
        Files.setAttribute(images, "unix:mode", 0711);
    }

    static long sizeOf(Path root) {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        try (Stream<Path> all = Files.walk(root)) {
            return all.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException e) {
            return 0;
        }
    }

    private static void deleteTree(Path root) {
        if (Files.exists(root)) {
            HostCommand.run(List.of("rm", "-rf", "--one-file-system", root.toString()));
        }
    }
}
