package dev.boxwood.server.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the CRIU binary is. Bookworm's criu 3.17 fails on this kernel, so {@code bin/common.sh ensure_criu} builds
 * 4.1.1 into {@code <tools>/criu-4.1.1-bw1/criu}; system property {@code boxwood.criu} (env {@code BOXWOOD_CRIU}) points
 * elsewhere.
 */
public final class Criu {

    public static final String VERSION = "4.1.1";

    private Criu() {}

    /** The configured or default binary, when it exists and is executable. */
    public static Optional<Path> find() {
        String configured = System.getProperty("boxwood.criu", System.getenv("BOXWOOD_CRIU"));
        Path path = configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getenv().getOrDefault("BOXWOOD_TOOLS", "/var/lib/boxwood/tools"))
                        .resolve("criu-" + VERSION + "-bw1").resolve("criu"); // bw1: patched, see bin/common.sh
        return Files.isExecutable(path) ? Optional.of(path) : Optional.empty();
    }

    /** The binary, or a failure that says how to get it. */
    public static Path require() {
        return find().orElseThrow(() -> new RuntimeFailure("CRIU " + VERSION + " not found (set boxwood.criu or run "
                + "bin/boxwood serve --runtime runc, which builds it into /var/lib/boxwood/tools)"));
    }
}
