package dev.boxwood.server.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The host's cgroup v1 hierarchies, as crun uses them. This machine runs hybrid cgroups: v1 controllers plus a
 * cgroup2 mount at {@code /sys/fs/cgroup/unified}; crun refuses hybrid mode while cgroup2 still owns a controller
 * (here {@code hugetlb}), so {@link #prepareHost()} binds such controllers to v1 hierarchies of their own.
 */
public final class Cgroups {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Cgroups.class);

    static final Path ROOT = Path.of("/sys/fs/cgroup");
    /** Where every sandbox's cgroup is, in each hierarchy ({@code /boxwood/<id>}). */
    static final String PARENT = "boxwood";

    private Cgroups() {}

    /** Idempotent: moves every controller cgroup2 still owns to a v1 hierarchy at {@code /sys/fs/cgroup/<name>}. */
    public static synchronized void prepareHost() {
        Path controllers = ROOT.resolve("unified/cgroup.controllers");
        if (!Files.isRegularFile(controllers)) {
            return; // not hybrid: pure v1 works as is (pure v2 is not supported by this runtime yet)
        }
        String owned;
        try {
            owned = Files.readString(controllers).strip();
        } catch (IOException e) {
            throw new RuntimeFailure("cannot read " + controllers + ": " + e.getMessage(), e);
        }
        if (owned.isEmpty()) {
            return;
        }
        for (String controller : owned.split("\\s+")) {
            Path mountPoint = ROOT.resolve(controller);
            try {
                Files.createDirectories(mountPoint);
            } catch (IOException e) {
                throw new RuntimeFailure("cannot create " + mountPoint + ": " + e.getMessage(), e);
            }
            if (!hierarchies().contains(mountPoint)) {
                HostCommand.check(List.of("mount", "-t", "cgroup", "-o", controller, "cgroup", mountPoint.toString()));
            }
        }
    }

    /**
     * Caps the pids of all sandboxes together ({@code pids.max} of the {@code boxwood} parent in the pids hierarchy)
     * at {@link #sandboxPidsShare}: each sandbox has its own limit (1024 by default), but the host's pid space is
     * small by default (a kernel without systemd's raise keeps {@code kernel.pid_max} at 32768, as here), and some 30
     * sandboxes running fork bombs at once would otherwise leave the host, and the server, unable to fork at all.
     * Raising {@code kernel.pid_max} raises the share at the next start.
     */
    public static synchronized void capSandboxPids() {
        Path dir = ROOT.resolve("pids").resolve(PARENT);
        long share = sandboxPidsShare(readHostLimit("pid_max"), readHostLimit("threads-max"));
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("pids.max"), Long.toString(share));
            LOG.info("all sandboxes together may hold {} pids", share);
        } catch (IOException e) {
            throw new RuntimeFailure("cannot cap the sandboxes' pids at " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Caps the memory of all sandboxes together ({@code memory.limit_in_bytes} of the {@code boxwood} parent) at
     * {@link #sandboxMemoryShare}: each sandbox has its own limit (512 MiB by default), but their sum may pass the
     * host's memory, and then the host's OOM killer would choose among all processes, the server's JVM included. With
     * the cap, the kernel reclaims and, failing that, OOM-kills within the sandboxes (the largest task among them).
     * A cap below what the sandboxes already hold (a restart onto a smaller share) is refused by the kernel: then the
     * server warns and carries on uncapped rather than abandon the sandboxes it reattaches.
     */
    public static synchronized void capSandboxMemory() {
        Path dir = ROOT.resolve("memory").resolve(PARENT);
        long share = sandboxMemoryShare(memTotalBytes());
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("memory.limit_in_bytes"), Long.toString(share));
            LOG.info("all sandboxes together may hold {} MiB of memory", share >> 20);
        } catch (IOException e) {
            LOG.warn("could not cap the sandboxes' memory at {} bytes in {}: {}", share, dir, e.getMessage());
        }
    }

    /** The memory all sandboxes together may hold: the host's, less an eighth of it and at least 2 GiB, kept. */
    static long sandboxMemoryShare(long memTotal) {
        return Math.max(memTotal / 2, memTotal - Math.max(2L << 30, memTotal / 8));
    }

    private static long memTotalBytes() {
        Path meminfo = Path.of("/proc/meminfo");
        try {
            for (String line : Files.readAllLines(meminfo)) {
                if (line.startsWith("MemTotal:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            throw new RuntimeFailure("cannot read " + meminfo + ": " + e.getMessage(), e);
        }
        throw new RuntimeFailure("no MemTotal in " + meminfo);
    }

    /** The pids all sandboxes together may hold: the host's limit less a quarter of it, and at least 4096, kept. */
    static long sandboxPidsShare(long pidMax, long threadsMax) {
        long host = Math.min(pidMax, threadsMax);
        return Math.max(1, host - Math.max(4096, host / 4));
    }

    /** One read: an integer sysctl answers a read at a non-zero offset with EOF, so Files.readString sees "3". */
    static long readHostLimit(String name) {
        Path file = Path.of("/proc/sys/kernel", name);
        try {
            return Long.parseLong(Files.readAllLines(file).getFirst().strip());
        } catch (IOException | NumberFormatException | java.util.NoSuchElementException e) {
            throw new RuntimeFailure("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Mount points of every cgroup v1 hierarchy (including named ones such as {@code name=systemd}). */
    public static List<Path> hierarchies() {
        List<Path> found = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                int dash = line.indexOf(" - ");
                if (dash < 0) {
                    continue;
                }
                String[] after = line.substring(dash + 3).split(" ");
                if (after.length > 0 && after[0].equals("cgroup")) {
                    found.add(Path.of(line.split(" ")[4]));
                }
            }
        } catch (IOException e) {
            throw new RuntimeFailure("cannot read mountinfo: " + e.getMessage(), e);
        }
        return found;
    }

    /** Directories a cgroup path has (or would have) in every hierarchy. */
    public static List<Path> dirs(String cgroupPath) {
        String relative = cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
        return hierarchies().stream().map(h -> h.resolve(relative)).toList();
    }

    /** Removes the cgroup from every hierarchy; returns the directories that could not be removed. */
    public static List<Path> remove(String cgroupPath) {
        List<Path> left = new ArrayList<>();
        for (Path dir : dirs(cgroupPath)) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            boolean removed = false;
            // A cgroup is busy until its last task is reaped; the kernel finishes that within moments.
            for (int attempt = 0; attempt < 50 && !removed; attempt++) {
                try {
                    Files.delete(dir);
                    removed = true;
                } catch (IOException e) {
                    if (!Files.isDirectory(dir)) {
                        removed = true;
                    } else {
                        killAll(dir);
                        try {
                            Thread.sleep(Math.min(100, 5L << Math.min(attempt, 4)));
                        } catch (InterruptedException ie) {
                            Thread.currentThread().interrupt();
                            break;
                        }
                    }
                }
            }
            if (!removed) {
                left.add(dir);
            }
        }
        return left;
    }

    private static void killAll(Path dir) {
        try {
            for (String pid : Files.readAllLines(dir.resolve("cgroup.procs"))) {
                if (!pid.isBlank()) {
                    ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        } catch (IOException | NumberFormatException ignored) {
            // gone already
        }
    }

    /**
     * Writes the cgroup's {@code cpu.shares}, creating its directory in the cpu hierarchy when the sandbox is not created
     * yet: crun and runc take an existing cgroup as it is and write only what the spec sets (quota and period, no
     * shares), so a weight set before the create holds from the sandbox's first instruction. {@link #remove} deletes
     * the directory with the rest.
     */
    public static void cpuShares(String cgroupPath, long shares) {
        String relative = cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
        Path dir = ROOT.resolve("cpu").resolve(relative);
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("cpu.shares"), Long.toString(shares));
        } catch (IOException e) {
            throw new RuntimeFailure("cannot set the CPU weight of " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Reads a single-number cgroup file, or -1 when absent. */
    public static long readLong(String controller, String cgroupPath, String file) {
        String relative = cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
        try {
            return Long.parseLong(Files.readString(ROOT.resolve(controller).resolve(relative).resolve(file)).strip());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /** One field of a cgroup v1 {@code *.stat} file, or -1. */
    public static long readStat(String controller, String cgroupPath, String file, String key) {
        String relative = cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
        try {
            for (String line : Files.readAllLines(ROOT.resolve(controller).resolve(relative).resolve(file))) {
                String[] parts = line.split(" ");
                if (parts.length == 2 && parts[0].equals(key)) {
                    return Long.parseLong(parts[1]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
