package dev.boxwood.server.network;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.boxwood.server.runtime.HostCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Private data and run directories for the egress tests' runtimes, so that no other server or test on the host sees
 * their sandboxes; the data directory links the built {@code base} template in.
 */
record SandboxDirs(Path data, Path run) {

    static final Path TEMPLATES = Path.of(System.getProperty("boxwood.dataDir", "/var/lib/boxwood"), "templates");

    /** Skips the test class unless real sandboxes can run here: root, crun and the built base template. */
    static SandboxDirs create(String prefix) throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        assumeTrue(HostCommand.run(List.of("crun", "--version")).ok(), "needs crun");
        assumeTrue(Files.isRegularFile(TEMPLATES.resolve("base/template.properties")), "needs the base template");
        Path data = Files.createTempDirectory(Path.of("/var/tmp"), prefix);
        Path run = Files.createTempDirectory(Path.of("/run"), prefix);
        // The sandbox's root (host uid 100000) must be able to traverse down to its rootfs.
        Files.setAttribute(data, "unix:mode", 0711);
        Files.setAttribute(run, "unix:mode", 0711);
        Files.createDirectories(data.resolve("templates"));
        Files.createSymbolicLink(data.resolve("templates/base"), TEMPLATES.resolve("base"));
        return new SandboxDirs(data, run);
    }

    void remove() {
        HostCommand.run(List.of("rm", "-rf", "--one-file-system", data.toString(), run.toString()));
    }
}
