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
 * (never initialised, no user code) and kept under {@code <dataDir>/cache/agent-aot/<key>.aot}, the key covering the
 * JDK and the jar. Sandboxes get it bound read-only; while it does not exist yet they start without it.
 */
public final class AgentStartupCache {

    static final String TRAINING_DIR = "/opt/boxwood/aot";
    static final String CACHE_FILE = "/opt/boxwood/agent.aot";

    private final CrunRuntime runtime;
    private final CrunRuntime.Config config;
    private final Path dir;
    private volatile Thread builder;
    private volatile Path failed;

    AgentStartupCache(CrunRuntime runtime, CrunRuntime.Config config) {
        this.runtime = runtime;
        this.config = config;
        this.dir = config.dataDir().resolve("cache/agent-aot");
    }

    /** The cache for the current JDK and agent jar, if it has been built. */
    public Optional<Path> ready() {
        Path file = file();
        return file != null && Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
    }

    /** Builds the cache on a virtual thread unless it exists; sandboxes started meanwhile go without it. */
    public synchronized void buildInBackground(String template) {
        Path target = file();
        // One attempt per JDK and jar: a training run that failed would fail again.
        if (target == null || Files.isRegularFile(target) || target.equals(failed)
                || (builder != null && builder.isAlive())) {
            return;
        }
        builder = Thread.ofVirtual().name("agent-aot-cache").start(() -> build(template));
    }

    /** Waits for a background build to finish (tests, benchmarks). */
    public void awaitBuilt() throws InterruptedException {
        Thread running = builder;
        if (running != null) {
            running.join();
        }
    }

    private void build(String template) {
        Path target = file();
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
                failed = target;
            }
        } catch (IOException | RuntimeException e) {
            failed = target;
            org.slf4j.LoggerFactory.getLogger(AgentStartupCache.class)
                    .warn("agent start-up cache not built: {}", e.getMessage());
        } finally {
            HostCommand.run(List.of("rm", "-rf", "--one-file-system", training.toString()));
        }
    }

    /** Caches for older jars or JDKs are dead weight (tens of MB each); running sandboxes keep theirs mapped. */
    private void removeOthers(Path keep) {
        try (var files = Files.list(dir)) {
            for (Path file : files.toList()) {
                if (file.getFileName().toString().endsWith(".aot") && !file.equals(keep)) {
                    Files.deleteIfExists(file);
                }
            }
        } catch (IOException ignored) {
            // best effort
        }
    }

    /** {@code <dir>/<key>.aot}, or null when there is no agent jar. */
    private Path file() {
        try {
            if (!Files.isRegularFile(config.agentJar())) {
                return null;
            }
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            String identity = config.jdk().toRealPath() + "\n" + Runtime.version() + "\n"
                    + Files.readString(config.jdk().resolve("release"), StandardCharsets.UTF_8) + "\n"
                    + Files.size(config.agentJar()) + "\n" + Files.getLastModifiedTime(config.agentJar()).toMillis();
            String key = HexFormat.of().formatHex(digest.digest(identity.getBytes(StandardCharsets.UTF_8)));
            return dir.resolve(key.substring(0, 24) + ".aot");
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
