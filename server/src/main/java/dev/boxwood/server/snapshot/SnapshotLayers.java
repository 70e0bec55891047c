package dev.boxwood.server.snapshot;

import dev.boxwood.server.runtime.HostCommand;
import dev.boxwood.server.runtime.RuntimeFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A snapshot on disk, in the template layout every runtime reads ({@code <dataDir>/templates/<id>/rootfs}):
 *
 * <pre>
 * templates/&lt;id&gt;/layer/          the sandbox's overlay upper dir at snapshot time (whiteouts, opaque dirs and
 *                                ownership, already shifted to the sandbox uid range, kept as they are)
 * templates/&lt;id&gt;/snapshot.layers  the overlay lower dirs, topmost first: this layer, then those of the parent
 * templates/&lt;id&gt;/rootfs/         a read-only overlay of those layers, mounted by the server
 * </pre>
 *
 * Lower dirs are listed flat (a snapshot of a snapshot lists every layer down to the base template's tree) so that
 * the overlays never nest deeper than a sandbox's own over one snapshot mount.
 */
final class SnapshotLayers {
    static final String LAYERS_FILE = "snapshot.layers";
    private static final java.util.regex.Pattern PLAIN_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path templatesDir;

    SnapshotLayers(Path templatesDir) {
        this.templatesDir = templatesDir;
    }

    Path dir(String id) {
        return templatesDir.resolve(id);
    }

    Path rootfs(String id) {
        return dir(id).resolve("rootfs");
    }

    /** Whether the template is a snapshot (has a layers file). */
    boolean isSnapshot(String templateId) {
        // Only a plain name can be a directory of ours: a client's "../x" or NUL must not become a path (fuzzing
        // found a NUL here answering 500).
        if (templateId == null || !PLAIN_NAME.matcher(templateId).matches()) return false;
        return Files.isRegularFile(dir(templateId).resolve(LAYERS_FILE));
    }

    /** Copies {@code upper} as a new layer over the template's layers and mounts the result; returns its size. */
    long capture(Path upper, String id, String parentTemplate) throws IOException {
        List<String> lowers = new ArrayList<>();
        Path layer = dir(id).resolve("layer");
        lowers.add(layer.toString());
        lowers.addAll(lowersOf(parentTemplate));
        Files.createDirectories(layer);
        Files.createDirectories(rootfs(id));
        // -a keeps owners, modes, device nodes (whiteouts) and trusted.overlay.* xattrs (opaque dirs).
        HostCommand.check(List.of("cp", "-a", "--reflink=auto", upper + "/.", layer.toString()));
        Files.write(dir(id).resolve(LAYERS_FILE), lowers);
        mount(id);
        return size(id);
    }

    /** The lower dirs a sandbox of {@code templateId} sees, topmost first. */
    List<String> lowersOf(String templateId) throws IOException {
        Path layers = dir(templateId).resolve(LAYERS_FILE);
        if (Files.isRegularFile(layers)) {
            return Files.readAllLines(layers).stream().filter(l -> !l.isBlank()).toList();
        }
        return List.of(rootfs(templateId).toRealPath().toString());
    }

    /** Mounts the snapshot's read-only root filesystem unless it is mounted already (after a reboot it is not). */
    void mount(String id) throws IOException {
        Path rootfs = rootfs(id);
        if (mounted(rootfs)) return;
        List<String> lowers = lowersOf(id);
        for (String l : lowers) {
            if (!Files.isDirectory(Path.of(l))) throw new RuntimeFailure("snapshot " + id + ": layer " + l + " is missing");
        }
        Files.createDirectories(rootfs);
        HostCommand.check(List.of("mount", "-t", "overlay", "overlay", "-o", "ro,lowerdir=" + String.join(":", lowers),
                rootfs.toString()));
    }

    /** Bytes the snapshot's own layer takes on disk. */
    long size(String id) {
        String out = HostCommand.check(List.of("du", "-s", "-B1", dir(id).resolve("layer").toString()));
        return Long.parseLong(out.strip().split("\\s+")[0]);
    }

    /** Unmounts and deletes; throws if the root filesystem is still in use. Safe to repeat. */
    void remove(String id) {
        Path rootfs = rootfs(id);
        if (mounted(rootfs)) {
            HostCommand.Result r = HostCommand.run(List.of("umount", rootfs.toString()));
            if (!r.ok()) throw new RuntimeFailure("snapshot " + id + " is in use: " + r.output().strip());
        }
        if (Files.exists(dir(id))) {
            HostCommand.check(List.of("rm", "-rf", "--one-file-system", dir(id).toString()));
        }
    }

    private static boolean mounted(Path path) {
        return HostCommand.run(List.of("mountpoint", "-q", path.toString())).ok();
    }
}
