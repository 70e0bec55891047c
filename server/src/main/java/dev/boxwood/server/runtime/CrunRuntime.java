package dev.boxwood.server.runtime;

import dev.boxwood.server.network.NetworkAttachment;
import dev.boxwood.server.network.SandboxNetwork;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sandboxes as OCI containers run by {@code crun}: {@code crun run --detach} (namespaces, cgroups, seccomp set up,
 * the agent's JVM starting), attach the network to the new namespace while that JVM starts, then wait until the agent
 * answers {@code GET /health}. Only crun runs the agent from its ahead-of-time start-up cache, halts a sandbox by
 * syscalls ({@link SandboxHalt}) and waits for the v1 freezer on pause.
 */
public final class CrunRuntime extends OciRuntime {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(CrunRuntime.class);

    private final AgentStartupCache startupCache;
    private final java.util.Set<String> training = ConcurrentHashMap.newKeySet();

    public CrunRuntime(Config config) {
        super(config, "crun");
        this.startupCache = new AgentStartupCache(this, config);
        if (config.command() == null) {
            startupCache.buildInBackground("base");
        }
    }

    /** The agent's ahead-of-time cache, built in the background after start-up. */
    public AgentStartupCache startupCache() {
        return startupCache;
    }

    @Override
    List<String> oci(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("crun", "--root", root.toString()));
        command.addAll(List.of(args));
        return command;
    }

    /** crun keeps a container's state apart from its directory: a leftover of either blocks the id. */
    @Override
    boolean containerLeft(String id) {
        return state(id).isPresent();
    }

    /** A training run gets the cache output dir and {@code --train}; a boot gets the template's cache when built. */
    @Override
    List<String> process(SandboxSpec spec, SandboxDisk disk, Path training, Map<Path, String> binds,
                         Map<Path, String> writable) {
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
        return config.command() != null ? config.command() : agentCommand(jvmCache, agentArgs);
    }

    /**
     * One {@code crun run --detach} instead of {@code create} then {@code start}: one exec of crun fewer per boot
     * (each is ~10 ms of CPU here), as the network is wired while the agent's JVM starts anyway.
     */
    @Override
    List<String> createVerb() {
        return List.of("run", "--detach");
    }

    /**
     * The network is wired up while the agent's JVM starts (the agent only listens until the server has seen it
     * healthy and sent /init, and the firewall drops all the sandbox sends until the set-up is complete).
     */
    @Override
    RunningSandbox launch(Created c) throws IOException {
        String id = c.id();
        long pid = c.pid();
        long tStart = System.nanoTime();
        SandboxNetwork.Attaching attaching = network.attachInBackground(id, pid);
        try {
            NetworkAttachment net = attaching.linked();
            long tNet = Math.max(tStart, System.nanoTime());
            RunningSandbox running = new RunningSandbox(id, net.sandboxAddress(), pid, c.initToken());
            if (c.training() == null) {
                awaitHealthy(running, c.disk());
            }
            long tUp = System.nanoTime();
            attaching.completed();
            long tDone = System.nanoTime();
            if (c.training() == null) {
                LOG.info("sandbox {} up in {} ms (disk {}, crun run {}, network {}, start to healthy {}); network"
                        + " set-up {} ms, overlapping the start", id, ms(tDone - c.t0()), ms(c.tDisk() - c.t0()),
                        ms(tStart - c.tDisk()), ms(tNet - tStart + tDone - tUp), ms(tUp - tNet),
                        ms(attaching.setUpNanos()));
            }
            return running; // a training run serves nobody: it exercises the agent and exits
        } catch (RuntimeException e) {
            attaching.settle(); // the caller's clean-up must not race the set-up
            throw e;
        }
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

    /** Syscalls only (see {@link SandboxHalt}); when it cannot tell the sandbox stopped, a full destroy instead. */
    @Override
    public boolean halt(RunningSandbox sandbox) {
        if (SandboxHalt.halt(sandbox.sandboxId(), sandbox.pid()) != SandboxHalt.Outcome.UNKNOWN) return true;
        destroy(sandbox.sandboxId());
        return false;
    }

    @Override
    public void pause(String sandboxId) {
        synchronized (lockFor(sandboxId)) {
            super.pause(sandboxId);
            awaitFreezer(sandboxId, true);
        }
    }

    @Override
    public void resume(String sandboxId) {
        synchronized (lockFor(sandboxId)) {
            awaitFreezer(sandboxId, false);
            super.resume(sandboxId);
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
        return super.leftovers().stream().filter(id -> !training.contains(id)).toList();
    }

    /** Runs a command inside a running sandbox with {@code crun exec} (tests and diagnostics, not the API path). */
    public HostCommand.Result exec(String sandboxId, List<String> command) {
        List<String> full = execPrefix(sandboxId);
        full.addAll(command);
        return HostCommand.runWithin(full, 2, java.util.concurrent.TimeUnit.MINUTES);
    }

    /** Same as {@link #exec} as another user (uid:gid inside the sandbox). */
    public HostCommand.Result execAs(String sandboxId, String user, List<String> command) {
        List<String> full = oci("exec", "--user", user);
        if (config.noNewPrivileges()) {
            full.add("--no-new-privs");
        }
        full.add(sandboxId);
        full.addAll(command);
        return HostCommand.runWithin(full, 2, java.util.concurrent.TimeUnit.MINUTES);
    }

    /** Exec'd processes get what the agent's children get: no_new_privs when the sandbox has it. */
    private List<String> execPrefix(String sandboxId) {
        List<String> full = oci("exec");
        if (config.noNewPrivileges()) {
            full.add("--no-new-privs");
        }
        full.add(sandboxId);
        return full;
    }
}
