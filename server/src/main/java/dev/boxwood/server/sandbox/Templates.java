package dev.boxwood.server.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The templates a sandbox can be created from: every {@code <dataDir>/templates/<name>/rootfs} that exists. */
public final class Templates {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    private final Path dir;

    public Templates(Path templatesDir) {
        this.dir = templatesDir;
    }

    /** A built template. */
    public record Template(String name, Instant builtAt) {}

    /**
     * The template a name stands for: itself, or for an alias (a symlink the template build made, e.g.
     * {@code code-interpreter} → {@code code-interpreter-v1}) the template it points to.
     */
    public String resolve(String name) {
        if (name == null || !NAME.matcher(name).matches()) return name;
        Path path = dir.resolve(name);
        try {
            if (Files.isSymbolicLink(path)) {
                String target = Files.readSymbolicLink(path).toString();
                if (NAME.matcher(target).matches()) return target;
            }
        } catch (IOException e) {
            // unreadable link: treat the name as it is
        }
        return name;
    }

    public boolean exists(String name) {
        return name != null && NAME.matcher(name).matches() && Files.isDirectory(dir.resolve(name).resolve("rootfs"));
    }

    public List<Template> list() {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            // Snapshots are templates of one team only: they are listed through GET /snapshots.
            return s.filter(p -> !Files.isSymbolicLink(p) && exists(p.getFileName().toString())
                            && !Files.exists(p.resolve("snapshot.layers")))
                    .map(p -> new Template(p.getFileName().toString(), modified(p.resolve("rootfs"))))
                    .sorted(java.util.Comparator.comparing(Template::name))
                    .toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Instant modified(Path p) {
        try {
            FileTime t = Files.getLastModifiedTime(p);
            return t.toInstant();
        } catch (IOException e) {
            return Instant.EPOCH;
        }
    }
}
