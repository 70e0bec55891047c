package dev.boxwood.server.template;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Moves every file's owner into or out of the host uid/gid range that a sandbox's user namespace maps, so that root
 * inside a sandbox owns its {@code /}. Templates are stored shifted; builds work on an unshifted copy because apt in
 * a chroot runs as the host's real root.
 */
public final class Ownership {

    /** First host id a sandbox's id 0 maps to. */
    public static final int HOST_BASE = 100_000;
    /** How many ids a sandbox's user namespace maps. */
    public static final int RANGE = 65_536;

    private Ownership() {}

    /** Adds {@code offset} to each uid/gid inside [from, from + RANGE); other ids are left alone. */
    public static long shift(Path root, int from, int offset) {
        long[] changed = {0};
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    apply(dir);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    apply(file);
                    return FileVisitResult.CONTINUE;
                }

                private void apply(Path path) throws IOException {
                    int uid = (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
                    int gid = (Integer) Files.getAttribute(path, "unix:gid", LinkOption.NOFOLLOW_LINKS);
                    boolean moveUid = uid >= from && uid < from + RANGE;
                    boolean moveGid = gid >= from && gid < from + RANGE;
                    if (!moveUid && !moveGid) {
                        return;
                    }
                    int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                    if (moveUid) {
                        Files.setAttribute(path, "unix:uid", uid + offset, LinkOption.NOFOLLOW_LINKS);
                    }
                    if (moveGid) {
                        Files.setAttribute(path, "unix:gid", gid + offset, LinkOption.NOFOLLOW_LINKS);
                    }
                    // chown clears setuid/setgid bits; put them back (sudo must stay setuid root-inside).
                    if ((mode & 06000) != 0 && !Files.isSymbolicLink(path)) {
                        Files.setAttribute(path, "unix:mode", mode & 07777, LinkOption.NOFOLLOW_LINKS);
                    }
                    changed[0]++;
                }
            });
        } catch (IOException e) {
            throw new TemplateBuildFailure("cannot change ownership under " + root + ": " + e.getMessage());
        }
        return changed[0];
    }
}
