package dev.boxwood.sdk.live;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.boxwood.sdk.ConnectionConfig;
import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.runtime.CrunRuntime;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * One real Boxwood server (crun sandboxes, the real agent) per test JVM, on a free loopback port, with its own data
 * and runtime directories so it never touches another server's sandboxes. Templates come from the machine's built
 * ones ({@code bin/boxwood template build base} puts them in {@code /var/lib/boxwood/templates}).
 */
final class LiveServer {
    private static LiveServer instance;

    volatile BoxwoodServer server;
    final CrunRuntime runtime;
    final Path dataDir;
    final Path runDir;
    String apiKey;
    String url;

    private LiveServer() throws IOException {
        Path home = Path.of(System.getProperty("boxwood.home", "..")).toAbsolutePath().normalize();
        Path agentJar = home.resolve("agent/target/boxwood-agent.jar");
        Path templates = Path.of(System.getProperty("boxwood.templates", Config.DEFAULT_DATA_DIR + "/templates"));
        // Traversable by the sandboxes' shifted root (temporary directories start out 0700).
        var open = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x"));
        this.dataDir = Files.createTempDirectory("boxwood-sdk-test-", open);
        this.runDir = Files.createTempDirectory(Path.of("/run"), "boxwood-sdk-test-", open);
        Files.createDirectories(dataDir.resolve("templates"));
        try (Stream<Path> built = Files.list(templates)) {
            for (Path t : built.filter(t -> Files.isDirectory(t.resolve("rootfs"))).toList()) {
                Files.createSymbolicLink(dataDir.resolve("templates").resolve(t.getFileName()), t);
            }
        }
        this.runtime = new CrunRuntime(new CrunRuntime.Config(dataDir, runDir,
                Path.of(System.getProperty("java.home")), agentJar, null, 1024, true, Duration.ofSeconds(60)));
        // Registered before the server starts, so even a half-started server leaves no sandbox behind.
        Runtime.getRuntime().addShutdownHook(new Thread(this::shutdown, "boxwood-sdk-test-server"));
        Config config = Config.builder().dataDir(dataDir).bind("127.0.0.1").port(0)
                .metricsInterval(Duration.ofSeconds(1)).build();
        this.server = new BoxwoodServer(config, runtime).start();
        this.apiKey = server.teams().createKey(server.teams().ensureTeam("sdk-tests"));
        this.url = "http://127.0.0.1:" + server.uri().getPort();
    }

    /** The shared server; skips the calling test when this machine cannot run sandboxes. */
    static synchronized LiveServer get() {
        assumeTrue("root".equals(System.getProperty("user.name")), "sandboxes need root");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/crun")), "sandboxes need crun");
        assumeTrue(Files.isDirectory(Path.of(Config.DEFAULT_DATA_DIR, "templates", "base", "rootfs")),
                "the base template is not built (bin/boxwood template build base)");
        if (instance == null) {
            try {
                instance = new LiveServer();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return instance;
    }

    static boolean templateBuilt(String name) {
        return Files.isDirectory(Path.of(Config.DEFAULT_DATA_DIR, "templates", name, "rootfs"));
    }

    /** A configuration as {@code boxwood serve} prints it, in code rather than in the environment. */
    ConnectionConfig config() {
        return ConnectionConfig.builder(java.util.Map.of())
                .apiKey(apiKey).apiUrl(url).sandboxUrl(url).domain("boxwood.test").build();
    }

    private void shutdown() {
        if (server != null) {
            server.close();
        }
        // The server leaves sandboxes running on shutdown (it reattaches them on restart); a test run must not.
        for (String id : runtime.leftovers()) {
            try {
                runtime.destroy(id);
            } catch (RuntimeException e) {
                System.err.println("could not destroy test sandbox " + id + ": " + e.getMessage());
            }
        }
        deleteTree(dataDir);
        deleteTree(runDir);
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            List<Path> all = paths.sorted(Comparator.reverseOrder()).toList();
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.err.println("could not remove " + root + ": " + e.getMessage());
        }
    }
}
