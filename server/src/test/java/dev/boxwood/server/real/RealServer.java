package dev.boxwood.server.real;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.runtime.CrunRuntime;
import dev.boxwood.server.runtime.ForwardingRuntime;
import dev.boxwood.server.runtime.HostCommand;
import dev.boxwood.server.runtime.OciRuntime;
import dev.boxwood.server.runtime.RuncRuntime;
import dev.boxwood.server.runtime.RunningSandbox;
import dev.boxwood.server.runtime.SandboxSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Real sandboxes (crun unless a test asks for another OCI runtime) with the real agent, behind real Boxwood servers,
 * in a data and run directory of their own. Servers can be stopped and started again on the same directories to test
 * restart recovery.
 */
final class RealServer {
    static final Path TEMPLATES = Path.of(Config.DEFAULT_DATA_DIR, "templates");

    final Path dataDir;
    final Path runDir;
    final ScopedRuntime runtime;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    static void assumeSandboxesWork() {
        assumeTrue("root".equals(System.getProperty("user.name")), "sandboxes need root");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/crun")), "sandboxes need crun");
        assumeTrue(Files.isDirectory(TEMPLATES.resolve("base/rootfs")), "the base template is not built");
        assumeTrue(Files.isRegularFile(agentJar()), "the agent jar is not built");
    }

    static Path agentJar() {
        Path home = Path.of(System.getProperty("boxwood.home", "..")).toAbsolutePath().normalize();
        return home.resolve("agent/target/boxwood-agent.jar");
    }

    RealServer() {
        this(CrunRuntime::new);
    }

    /** @param runtime makes the OCI runtime from this server's configuration (e.g. {@code RuncRuntime::new}) */
    RealServer(java.util.function.Function<OciRuntime.Config, ? extends OciRuntime> runtime) {
        try {
            var open = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x"));
            dataDir = Files.createTempDirectory("boxwood-api-test-", open);
            runDir = Files.createTempDirectory(Path.of("/run"), "boxwood-api-test-", open);
            Files.createDirectories(dataDir.resolve("templates"));
            Files.createSymbolicLink(dataDir.resolve("templates/base"), TEMPLATES.resolve("base"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.runtime = new ScopedRuntime(runtime.apply(new OciRuntime.Config(dataDir, runDir,
                Path.of(System.getProperty("java.home")), agentJar(), null, 512, true, Duration.ofSeconds(60))));
    }

    BoxwoodServer start(String domain) {
        Config config = Config.builder().dataDir(dataDir).port(0).domain(domain).metricsInterval(Duration.ofSeconds(1))
                .defaults(1, 256, 512).build();
        return new BoxwoodServer(config, runtime).start();
    }

    HttpResponse<String> call(BoxwoodServer server, String method, String path, String key, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri().resolve(path)).timeout(Duration.ofSeconds(90));
        if (key != null) b.header("X-API-Key", key);
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Destroys whatever this test left and removes its directories. */
    void cleanUp() {
        for (String id : runtime.mine) runtime.destroy(id);
        if (runtime.crun != null) {
            try {
                // The runtime trains the agent's start-up cache in a sandbox of its own from its construction on:
                // removing the directories under it walked into that sandbox's mounted root filesystem, failed
                // there, and left each such test's data directory (with the cache it then wrote, 64 MB) behind.
                runtime.crun.startupCache().awaitBuilt();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        deleteTree(dataDir);
        deleteTree(runDir);
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException | UncheckedIOException e) {
            // e.g. a background agent-cache training sandbox still setting up its files
            System.err.println("could not remove " + root + ": " + e.getMessage());
        }
    }

    /**
     * The OCI runtime, but blind to sandboxes it did not start: other Boxwood servers on this machine (other
     * tests, a developer's {@code boxwood serve}) must not have theirs destroyed by this test's restart recovery.
     */
    static final class ScopedRuntime extends ForwardingRuntime {
        final OciRuntime oci;
        /** The runtime as crun's, for the tests that only run on crun; null under another runtime. */
        final CrunRuntime crun;
        final Set<String> mine = ConcurrentHashMap.newKeySet();

        ScopedRuntime(OciRuntime oci) {
            super(oci);
            this.oci = oci;
            this.crun = oci instanceof CrunRuntime c ? c : null;
        }

        @Override
        public RunningSandbox start(SandboxSpec spec) {
            mine.add(spec.sandboxId());
            return oci.start(spec);
        }

        @Override
        public List<String> leftovers() {
            return oci.leftovers().stream().filter(mine::contains).toList();
        }

        /** Runs a command in a running sandbox as its root, with whichever runtime's own exec. */
        HostCommand.Result exec(String sandboxId, List<String> command) {
            if (oci instanceof CrunRuntime c) return c.exec(sandboxId, command);
            if (oci instanceof RuncRuntime r) return r.exec(sandboxId, command);
            throw new UnsupportedOperationException("no exec for " + oci.getClass().getSimpleName());
        }
    }
}
