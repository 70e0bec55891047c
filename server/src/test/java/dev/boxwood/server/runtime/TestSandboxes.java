package dev.boxwood.server.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;

/**
 * Shared set-up for tests on real sandboxes: they need root, crun and the {@code base} template (bin/test builds
 * it before running the suite). Most tests boot a tiny Python stand-in for the agent that answers
 * {@code GET /health}; they run commands with {@code crun exec}. One test boots the real agent jar.
 */
final class TestSandboxes {

    static final String TEMPLATE = "base";

    /** Answers /health with 204 on the agent port, like the agent, in a few MB. */
    static final List<String> HEALTH_STUB = List.of("/usr/bin/tini", "-s", "--", "/usr/bin/python3", "-c", """
            import http.server
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(204 if self.path == '/health' else 404)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            http.server.ThreadingHTTPServer(('0.0.0.0', 49983), H).serve_forever()
            """);

    private static final SecureRandom RANDOM = new SecureRandom();

    private TestSandboxes() {}

    static Path dataDir() {
        return Path.of(System.getProperty("boxwood.dataDir", "/var/lib/boxwood"));
    }

    static Path home() {
        String home = System.getProperty("boxwood.home");
        if (home != null) {
            return Path.of(home);
        }
        Path here = Path.of("").toAbsolutePath();
        return Files.isDirectory(here.resolve("templates")) ? here : here.getParent();
    }

    /** Why real-sandbox tests cannot run here, or null when they can. */
    static String missingPrerequisite() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "needs root";
        }
        if (!HostCommand.run(List.of("crun", "--version")).ok()) {
            return "needs crun";
        }
        if (!Files.isRegularFile(dataDir().resolve("templates").resolve(TEMPLATE).resolve("template.properties"))) {
            return "needs the base template (bin/boxwood template build base)";
        }
        return null;
    }

    /**
     * A runtime configuration of its own: a fresh data dir (with the built templates linked in) and run dir, so that
     * a Boxwood server running on this host with the default directories, or another test, never sees these
     * sandboxes, and this test's leftover checks see only its own.
     */
    static CrunRuntime.Config stubConfig() {
        try {
            Path data = Files.createTempDirectory(Path.of("/var/tmp"), "boxwood-rt-test-");
            Path run = Files.createTempDirectory(Path.of("/run"), "boxwood-rt-test-");
            // The sandbox's root (host uid 100000) must be able to traverse down to its rootfs.
            Files.setAttribute(data, "unix:mode", 0711);
            Files.setAttribute(run, "unix:mode", 0711);
            Files.createDirectories(data.resolve("templates"));
            Files.createSymbolicLink(data.resolve("templates").resolve(TEMPLATE),
                    dataDir().resolve("templates").resolve(TEMPLATE));
            return new CrunRuntime.Config(data, run, Path.of(System.getProperty("java.home")),
                    home().resolve("agent/target/boxwood-agent.jar"), HEALTH_STUB, 256, true, Duration.ofSeconds(60));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static CrunRuntime.Config agentConfig() {
        return stubConfig().withCommand(null);
    }

    /** Destroys what the runtime still has and removes the private directories. */
    static void cleanUp(OciRuntime runtime, OciRuntime.Config config) {
        if (runtime != null) {
            for (String id : runtime.leftovers()) {
                runtime.destroy(id);
            }
        }
        if (config != null) {
            HostCommand.run(List.of("rm", "-rf", "--one-file-system", config.dataDir().toString(),
                    config.runDir().toString()));
        }
    }

    static String newId() {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder id = new StringBuilder("t");
        for (int i = 0; i < 19; i++) {
            id.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return id.toString();
    }

    static SandboxSpec spec(String id) {
        return new SandboxSpec(id, TEMPLATE, 1, 512, 512);
    }
}
