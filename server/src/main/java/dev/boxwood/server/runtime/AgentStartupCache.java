package dev.boxwood.server.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * An ahead-of-time cache (JDK 25 {@code -XX:AOTCache}) for the agent, which roughly halves the agent's start-up: class
 * loading and linking of Jetty and the agent come from a mapped file instead. The JVM only accepts a cache made by
 * the same JDK for the same jar at the same paths, so it is made by running the agent once in a throwaway sandbox
 * (never initialised, no user code) and kept under {@code <dataDir>/cache/agent-aot/<key>-<flavour>.aot}, the key
 * covering the JDK and the jar. Sandboxes get it bound read-only; while it does not exist yet they start without it.
 *
 * <p>Two flavours, because the agent's start-up differs: templates with a Jupyter Python kernel start the code
 * interpreter (its classes, its HTTP client, the kernels' launch), the others do not. Each flavour's training runs in
 * the first template of that flavour that boots, so the cache holds what that start-up really loads; snapshots and
 * other derived templates share their flavour's cache.
 */
public final class AgentStartupCache {

    static final String TRAINING_DIR = "/opt/boxwood/aot";
    static final String CACHE_FILE = "/opt/boxwood/agent.aot";
    private static final List<String> KERNEL_DIRS = List.of("root/.local/share/jupyter/kernels",
            "usr/local/share/jupyter/kernels", "usr/share/jupyter/kernels");

    private final CrunRuntime runtime;
    private final OciRuntime.Config config;
    private final Path dir;
    private final java.util.Map<String, Thread> builders = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.Set<Path> failed = java.util.concurrent.ConcurrentHashMap.newKeySet();

    AgentStartupCache(CrunRuntime runtime, OciRuntime.Config config) {
        this.runtime = runtime;
        this.config = config;
        this.dir = config.dataDir().resolve("cache/agent-aot");
    }

    /** The cache for the current JDK and agent jar for templates without an interpreter, if it has been built. */
    public Optional<Path> ready() {
        return ready("base");
    }

    /** The cache for the current JDK and agent jar and this template's flavour, if it has been built. */
    public Optional<Path> ready(String template) {
        Path file = file(flavour(template));
        return file != null && Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
    }

    /** Builds the template's flavour of cache on a virtual thread unless it exists; sandboxes meanwhile go without. */
    public synchronized void buildInBackground(String template) {
        String flavour = flavour(template);
        Path target = file(flavour);
        Thread running = builders.get(flavour);
        // One attempt per JDK and jar: a training run that failed would fail again.
        if (target == null || Files.isRegularFile(target) || failed.contains(target)
                || (running != null && running.isAlive())) {
            return;
        }
        builders.put(flavour, Thread.ofVirtual().name("agent-aot-cache-" + flavour)
                .start(() -> build(template, target)));
    }

    /** Waits for background builds to finish (tests, benchmarks). */
    public void awaitBuilt() throws InterruptedException {
        for (Thread running : List.copyOf(builders.values())) {
            running.join();
        }
    }

    /** {@code interpreter} when the template's root file system has a Jupyter Python kernel, else {@code plain}. */
    String flavour(String template) {
        Path rootfs = config.dataDir().resolve("templates").resolve(template).resolve("rootfs");
        for (String kernels : KERNEL_DIRS) {
            if (Files.isRegularFile(rootfs.resolve(kernels).resolve("python3/kernel.json"))) {
                return "interpreter";
            }
        }
        return "plain";
    }

    private void build(String template, Path target) {
        Path training = dir.resolve("training-" + HexFormat.of().formatHex(
                Long.toString(System.nanoTime()).getBytes(StandardCharsets.UTF_8)));
        try {
            Files.createDirectories(training);
            // Written by root inside the training sandbox, i.e. host uid 100000.
            Files.setAttribute(training, "unix:uid", 100_000, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(training, "unix:gid", 100_000, LinkOption.NOFOLLOW_LINKS);
            Optional<Path> made = runtime.trainAgent(template, training);
            if (made.isPresent() && !Files.isSymbolicLink(made.get())) {
                Path tmp = dir.resolve(target.getFileName() + ".tmp");
                Files.copy(made.get(), tmp, StandardCopyOption.REPLACE_EXISTING, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(tmp, "unix:uid", 0);
                Files.setAttribute(tmp, "unix:gid", 0);
                Files.setAttribute(tmp, "unix:mode", 0644);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                removeOthers(target);
            } else {
                failed.add(target);
            }
        } catch (IOException | RuntimeException e) {
            failed.add(target);
            org.slf4j.LoggerFactory.getLogger(AgentStartupCache.class)
                    .warn("agent start-up cache not built: {}", e.getMessage());
        } finally {
            HostCommand.run(List.of("rm", "-rf", "--one-file-system", training.toString()));
        }
    }

    /** Caches for older jars or JDKs are dead weight (tens of MB each); running sandboxes keep theirs mapped. */
    private void removeOthers(Path keep) {
        String key = keep.getFileName().toString().substring(0, 24);
        try (var files = Files.list(dir)) {
            for (Path file : files.toList()) {
                String name = file.getFileName().toString();
                if (name.endsWith(".aot") && !name.startsWith(key)) {
                    Files.deleteIfExists(file);
                }
            }
        } catch (IOException ignored) {
            // best effort
        }
    }

    /** {@code <dir>/<key>-<flavour>.aot}, or null when there is no agent jar. */
    private Path file(String flavour) {
        try {
            if (!Files.isRegularFile(config.agentJar())) {
                return null;
            }
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            String identity = config.jdk().toRealPath() + "\n" + Runtime.version() + "\n"
                    + Files.readString(config.jdk().resolve("release"), StandardCharsets.UTF_8) + "\n"
                    + Files.size(config.agentJar()) + "\n" + Files.getLastModifiedTime(config.agentJar()).toMillis()
                    + "\n" + OciRuntime.agentCommand(List.of(), List.of()); // a cache only serves the flags it was made with
            String key = HexFormat.of().formatHex(digest.digest(identity.getBytes(StandardCharsets.UTF_8)));
            return dir.resolve(key.substring(0, 24) + "-" + flavour + ".aot");
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
