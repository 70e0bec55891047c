package dev.boxwood.agent.sudo;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Gets hold of another process's open files, to hand them to a command as its stdio. Opening {@code /proc/<pid>/fd/N}
 * needs ptrace-read access to the process: the agent is root inside the sandbox but without CAP_SYS_PTRACE, so root
 * is refused for a uid-1000 caller. With its filesystem ids switched to the caller's, the agent passes that check but
 * then lacks root's file access (the caller's pipes are often the agent's own, owned by root). So: an O_PATH open as
 * the caller (no file access check), then back to root and reopen via {@code /proc/self/fd/M} (ptrace of itself is
 * always allowed, and root may open the pipe or terminal).
 */
final class CallerFds {
    private interface C extends Library {
        C INSTANCE = Native.load("c", C.class);

        int setfsuid(int uid);

        int setfsgid(int gid);

        int open(String path, int flags) throws LastErrorException;

        int close(int fd);

        int kill(int pid, int sig);
    }

    private static final int O_PATH = 0x200000;
    private static final int O_CLOEXEC = 0x80000;
    private static final int O_WRONLY = 0x1;
    private static final int O_NOCTTY = 0x100;
    private static final int O_NONBLOCK = 0x800;
    /** setfsuid is per thread: one platform thread of our own, never a virtual thread that may change carriers. */
    private static final ExecutorService AS_CALLER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "sudo-fd-opener");
        t.setDaemon(true);
        return t;
    });

    private CallerFds() {
    }

    /** An O_PATH fd of the agent's own for {@code /proc/<pid>/fd/<fd>}, looked up with the caller's ids. */
    static int open(int pid, int fd, int uid, int gid) throws IOException {
        String path = "/proc/" + pid + "/fd/" + fd;
        Future<Integer> f = AS_CALLER.submit(() -> {
            C c = C.INSTANCE;
            int oldGid = c.setfsgid(gid);
            int oldUid = c.setfsuid(uid);
            try {
                return c.open(path, O_PATH | O_CLOEXEC);
            } finally {
                c.setfsuid(oldUid);
                c.setfsgid(oldGid);
            }
        });
        try {
            return f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException("cannot open " + path + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /**
     * Whether the agent (as itself) can reopen its O_PATH fd for reading or writing: not for a socket, nor for a
     * pipe whose owner is outside the sandbox's user namespace (root inside has no power over it).
     */
    static boolean reopens(int ownFd, boolean write) {
        try {
            int fd = C.INSTANCE.open("/proc/self/fd/" + ownFd, (write ? O_WRONLY : 0) | O_NONBLOCK | O_NOCTTY
                    | O_CLOEXEC);
            C.INSTANCE.close(fd);
            return true;
        } catch (LastErrorException e) {
            return false;
        }
    }

    /** The path through which the agent reopens its O_PATH fd for real reads or writes. */
    static java.io.File reopenable(int ownFd) {
        return new java.io.File("/proc/self/fd/" + ownFd);
    }

    static void close(int ownFd) {
        C.INSTANCE.close(ownFd);
    }

    static void signalGroup(long pgid, int signal) {
        C.INSTANCE.kill((int) -pgid, signal);
    }
}
