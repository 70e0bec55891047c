package dev.boxwood.server.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Stops a sandbox's processes with syscalls instead of OCI runtime calls, so that a kill can answer before the slower
 * teardown: SIGKILL to the sandbox's init (its pid namespace's init; the kernel then kills every other process of the
 * namespace and waits for them before init itself exits). No process is spawned: {@code crun kill}, {@code crun
 * delete}, the network and the disk are left for {@link SandboxRuntime#destroy}.
 *
 * <p>Each pid is checked to still be the sandbox's (its cgroup) before the signal, and the signal goes through a
 * {@link ProcessHandle} taken first, which refuses a pid reused by another process after the check.
 */
public final class SandboxHalt {
    private static final Duration WAIT = Duration.ofSeconds(2);

    private SandboxHalt() {}

    /**
     * What {@link #halt} found.
     * DEAD: every process of the sandbox is gone; FROZEN: they are frozen (a paused sandbox: the signal takes effect
     * when destroy thaws it); UNKNOWN: neither could be established, so the caller must destroy synchronously.
     */
    public enum Outcome { DEAD, FROZEN, UNKNOWN }

    /** Kills the sandbox's processes and waits (briefly) until its init has exited. */
    public static Outcome halt(String sandboxId, long initPid) {
        String cgroup = OciRuntime.cgroupPath(sandboxId);
        Optional<ProcessHandle> init = ProcessHandle.of(initPid);
        if (init.isEmpty() || exited(initPid) || !inCgroup(initPid, cgroup)) {
            // The sandbox's init has exited already (or its pid is another process's now): nothing of the sandbox
            // should run; its cgroup says whether that is so.
            return cgroupEmpty(cgroup) ? Outcome.DEAD : Outcome.UNKNOWN;
        }
        init.get().destroyForcibly();
        // The kernel would kill the rest once init has exited; signalling them now lets them all exit at once.
        for (long pid : tasks(cgroup)) {
            ProcessHandle.of(pid).filter(p -> inCgroup(pid, cgroup)).ifPresent(ProcessHandle::destroyForcibly);
        }
        long until = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < until) {
            if (exited(initPid) || !init.get().isAlive()) return Outcome.DEAD;
            if (frozen(cgroup)) return Outcome.FROZEN;
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Outcome.UNKNOWN;
            }
        }
        return frozen(cgroup) ? Outcome.FROZEN : Outcome.UNKNOWN;
    }

    /**
     * Gone, or a zombie: the kernel reaps a pid namespace's other processes before its init exits, so an exited init
     * means an empty sandbox (the zombie waits for its parent to collect it).
     */
    static boolean exited(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            int close = stat.lastIndexOf(')');
            char state = close > 0 && close + 2 < stat.length() ? stat.charAt(close + 2) : '?';
            return state == 'Z' || state == 'X';
        } catch (IOException e) {
            return true;
        }
    }

    private static boolean inCgroup(long pid, String cgroup) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
                if (line.endsWith(":" + cgroup) || line.contains(":" + cgroup + "/")) return true;
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean frozen(String cgroup) {
        try {
            return Files.readString(Cgroups.ROOT.resolve("freezer" + cgroup).resolve("freezer.state")).strip().equals("FROZEN");
        } catch (IOException e) {
            return false;
        }
    }

    private static java.util.List<Long> tasks(String cgroup) {
        try {
            return Files.readAllLines(Cgroups.ROOT.resolve("pids" + cgroup).resolve("cgroup.procs")).stream()
                    .filter(l -> !l.isBlank()).map(l -> Long.parseLong(l.strip())).toList();
        } catch (IOException | NumberFormatException e) {
            return java.util.List.of();
        }
    }

    private static boolean cgroupEmpty(String cgroup) {
        try {
            return Files.readString(Cgroups.ROOT.resolve("pids" + cgroup).resolve("cgroup.procs")).isBlank();
        } catch (IOException e) {
            return !Files.isDirectory(Cgroups.ROOT.resolve("pids" + cgroup)); // no cgroup: nothing can run in it
        }
    }
}
