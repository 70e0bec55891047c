package dev.boxwood.server.runtime;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * A sandbox's root filesystem: the template as read-only overlay lower layer, and a writable upper layer on a
 * sparse ext4 image of the sandbox's disk size, loop-mounted. Filling the disk gives ENOSPC inside the sandbox and
 * costs the host at most the image size. (A tmpfs upper would charge file data to the sandbox's memory cgroup and
 * tie disk to memory; mkfs of a sparse image is about 30 ms.)
 *
 * <pre>
 * sandboxes/&lt;id&gt;/disk.img   the image
 * sandboxes/&lt;id&gt;/disk/      its mount: upper/, work/, agent.log
 * sandboxes/&lt;id&gt;/rootfs/    the overlay the sandbox sees as /
 * </pre>
 */
public final class SandboxDisk {

    private final Path dir;

    public SandboxDisk(Path sandboxDir) {
        this.dir = sandboxDir;
    }

    public Path image() {
        return dir.resolve("disk.img");
    }

    public Path mountPoint() {
        return dir.resolve("disk");
    }

    public Path upper() {
        return mountPoint().resolve("upper");
    }

    public Path rootfs() {
        return dir.resolve("rootfs");
    }

    /** Where the sandbox init's stdout/stderr go: inside the disk, so a chatty sandbox only fills its own disk. */
    public Path log() {
        return mountPoint().resolve("agent.log");
    }

    /** Creates and mounts the image, then mounts the overlay over {@code lower}. */
    public void create(Path lower, int sizeMB, int rootUid) throws IOException {
        Files.createDirectories(mountPoint());
        Files.createDirectories(rootfs());
        // A sparse file, by ftruncate here rather than by a truncate process: each exec is milliseconds of a boot.
        try (RandomAccessFile sparse = new RandomAccessFile(image().toFile(), "rw")) {
            sparse.setLength(sizeMB * 1024L * 1024L);
        }
        // No journal (the disk dies with the sandbox); lazy init keeps mkfs cheap; no blocks reserved for root.
        HostCommand.check(List.of("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal",
                "-E", "lazy_itable_init=1,nodiscard", image().toString()));
        HostCommand.check(List.of("mount", "-o", "loop,noatime,nodev,nosuid", image().toString(),
                mountPoint().toString()));
        Path upper = upper();
        Path work = mountPoint().resolve("work");
        Files.createDirectories(upper);
        Files.createDirectories(work);
        // The merged root takes the upper directory's owner and mode: root inside must own /.
        chown(upper, rootUid);
        Files.setAttribute(upper, "unix:mode", 0755, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(mountPoint(), "unix:mode", 0700, LinkOption.NOFOLLOW_LINKS);
        Files.createFile(log());
    }

    /** Writes a file into the upper layer before the overlay is mounted, owned by root inside. */
    public void seed(String path, String content, int rootUid, Path lower) throws IOException {
        seed(path, content, 0644, rootUid, lower);
    }

    /** {@link #seed(String, String, int, Path)} with the file's mode. */
    public void seed(String path, String content, int mode, int rootUid, Path lower) throws IOException {
        Path target = upper().resolve(path);
        Path parent = target.getParent();
        if (!Files.isDirectory(parent)) {
            Files.createDirectories(parent);
            // Mirror each new directory's mode from the template, so e.g. /etc stays 0755.
            for (Path p = parent; p.startsWith(upper()) && !p.equals(upper()); p = p.getParent()) {
                Path inLower = lower.resolve(upper().relativize(p).toString());
                int dirMode = Files.isDirectory(inLower)
                        ? (Integer) Files.getAttribute(inLower, "unix:mode") & 07777 : 0755;
                Files.setAttribute(p, "unix:mode", dirMode, LinkOption.NOFOLLOW_LINKS);
                chown(p, rootUid);
            }
        }
        // created with the mode, so that the content is never readable by more than the mode allows
        Files.writeString(target, "", java.nio.file.StandardOpenOption.CREATE_NEW);
        Files.setAttribute(target, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
        chown(target, rootUid);
        Files.writeString(target, content);
    }

    public void mountOverlay(Path lower) {
        HostCommand.check(List.of("mount", "-t", "overlay", "overlay", "-o",
                "lowerdir=" + lower + ",upperdir=" + upper() + ",workdir=" + mountPoint().resolve("work"),
                rootfs().toString()));
    }

    /** Unmounts the overlay and the image, then deletes the directory. Safe to repeat. */
    public void remove() {
        unmount(rootfs());
        unmount(mountPoint());
        if (Files.exists(dir)) {
            HostCommand.run(List.of("rm", "-rf", "--one-file-system", dir.toString()));
        }
    }

    /** Bytes used and total of the writable layer, or zeros when it is not mounted. */
    public long[] usage() {
        try {
            var store = Files.getFileStore(mountPoint());
            if (!isMounted(mountPoint())) {
                return new long[] {0, 0};
            }
            long total = store.getTotalSpace();
            return new long[] {total - store.getUnallocatedSpace(), total};
        } catch (IOException e) {
            return new long[] {0, 0};
        }
    }

    static boolean isMounted(Path path) {
        String wanted = path.toAbsolutePath().normalize().toString();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] fields = line.split(" ");
                if (fields.length > 4 && fields[4].equals(wanted)) {
                    return true;
                }
            }
        } catch (IOException ignored) {
            // treat as not mounted
        }
        return false;
    }

    private static void unmount(Path path) {
        for (int i = 0; i < 5 && isMounted(path); i++) {
            if (!HostCommand.run(List.of("umount", path.toString())).ok()) {
                HostCommand.run(List.of("umount", "-l", path.toString()));
            }
        }
    }

    private static void chown(Path path, int uid) throws IOException {
        Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
    }
}
