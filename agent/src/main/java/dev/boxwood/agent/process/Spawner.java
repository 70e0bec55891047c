package dev.boxwood.agent.process;

import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.StringArray;
import com.sun.jna.ptr.IntByReference;
import dev.boxwood.agent.users.Account;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a pipe-connected command with one exec: glibc's posix_spawn in a new session, in its working directory,
 * already running as its user. The JDK's way costs three more (jspawnhelper, then {@code setsid}, then
 * {@code setpriv} to switch user), each a dynamic binary to load, which is most of a short command's round trip.
 *
 * <p>The user switch: Linux credentials belong to threads, and glibc's setuid() only makes them process-wide by
 * signalling every thread. A raw setresuid on one dedicated platform thread changes that thread alone, and a child
 * spawned from it is born with its credentials. Such a thread never switches back (it has no capabilities left).
 * The kernel marks the agent non-dumpable when a thread changes uid, so the user cannot ptrace or read the agent
 * through that thread.
 *
 * <p>Anything this cannot do exactly like the JDK path (no glibc support, a command not found on PATH, a spawn that
 * fails) returns null, and the caller takes the JDK path, which reports errors as before.
 */
final class Spawner {
    private static final Logger LOG = LoggerFactory.getLogger(Spawner.class);
    private static final boolean AGENT_IS_ROOT = "root".equals(System.getProperty("user.name"));
    /** x86-64 and aarch64 numbers of setgroups, setresgid, setresuid. */
    private static final long[] SYSCALLS = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> new long[] {116, 119, 117};
        case "aarch64" -> new long[] {159, 149, 147};
        default -> null;
    };
    private static final int MAX_IDENTITIES = 32;

    /** Platform threads for blocking pipe reads and waitpid: reused, since a short command should not make threads. */
    static final ExecutorService IO = Executors.newCachedThreadPool(
            Thread.ofPlatform().daemon().name("process-io-", 0).factory());

    /**
     * Leaves {@code n} threads of {@link #IO} idle, to be called before a child is spawned, so that its reaper and
     * pumps take threads that exist. A fork bomb takes every pid of its sandbox within milliseconds of its start;
     * after that the JVM cannot start a thread, and the Start call failed with 500 while the bomb ran unwatched.
     * Failing here instead fails the call before anything was spawned.
     */
    static void primeIo(int n) {
        java.util.concurrent.CountDownLatch together = new java.util.concurrent.CountDownLatch(n);
        for (int i = 0; i < n; i++) {
            // Each task holds its thread until all n run, so n distinct threads exist; then they go back idle.
            IO.execute(() -> {
                together.countDown();
                try {
                    together.await(1, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }

    private static final Spawner INSTANCE = new Spawner();

    private final boolean available;
    private final Map<Identity, IdentityThread> threads = new ConcurrentHashMap<>();

    private Spawner() {
        this.available = probe();
    }

    static Spawner get() {
        return INSTANCE;
    }

    private static boolean probe() {
        if (!Files.isDirectory(Path.of("/proc/self/fd"))) return false;
        if (AGENT_IS_ROOT && SYSCALLS == null) return false;
        try {
            LibC p = LibC.INSTANCE;
            // glibc older than 2.34 lacks closefrom: resolving every function now finds out once
            for (String f : List.of("posix_spawn", "posix_spawn_file_actions_addchdir_np",
                    "posix_spawn_file_actions_addclosefrom_np", "getgrouplist", "pipe2", "waitpid")) {
                com.sun.jna.NativeLibrary.getInstance("c").getFunction(f);
            }
            return p != null;
        } catch (Throwable e) {
            LOG.info("spawning through the JDK: {}", e.toString());
            return false;
        }
    }

    /** Who a child runs as: uid, gid and the supplementary groups initgroups would give it. */
    private record Identity(int uid, int gid, List<Integer> groups) {}

    /**
     * Starts {@code argv} (argv[0] resolved on the child's PATH) with pipes for stdout and stderr, and for stdin if
     * {@code stdinOpen}, else /dev/null. Null when the JDK path has to do it.
     */
    Child spawn(List<String> argv, Map<String, String> env, Path cwd, Account user, boolean stdinOpen) {
        if (!available) return null;
        String path = resolve(argv.getFirst(), env.get("PATH"), cwd);
        if (path == null) return null;
        String[] args = argv.toArray(String[]::new);
        String[] envp = env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toArray(String[]::new);
        try {
            if (!AGENT_IS_ROOT || user.isRoot()) return spawn(path, args, envp, cwd.toString(), stdinOpen, null);
            Identity id = identity(user);
            if (id == null) return null;
            IdentityThread thread = threads.get(id);
            if (thread == null) {
                if (threads.size() >= MAX_IDENTITIES) return null;
                thread = threads.computeIfAbsent(id, IdentityThread::new);
            }
            return spawn(path, args, envp, cwd.toString(), stdinOpen, thread);
        } catch (IOException e) {
            LOG.debug("posix_spawn of {} failed, falling back to the JDK: {}", path, e.getMessage());
            return null;
        }
    }

    private static Identity identity(Account user) {
        int[] groups = new int[64];
        IntByReference n = new IntByReference(groups.length);
        if (LibC.INSTANCE.getgrouplist(user.name(), user.gid(), groups, n) < 0) {
            groups = new int[n.getValue()];
            if (LibC.INSTANCE.getgrouplist(user.name(), user.gid(), groups, n) < 0) return null;
        }
        List<Integer> list = new ArrayList<>();
        for (int i = 0; i < n.getValue(); i++) list.add(groups[i]);
        return new Identity(user.uid(), user.gid(), List.copyOf(list));
    }

    /** execvp's search, on the child's PATH rather than the agent's (what setsid/setpriv did). */
    private static String resolve(String cmd, String pathVar, Path cwd) {
        if (cmd.isEmpty()) return null;
        if (cmd.contains("/")) return Files.isRegularFile(cwd.resolve(cmd)) ? cwd.resolve(cmd).toString() : null;
        for (String dir : (pathVar == null ? "/bin:/usr/bin" : pathVar).split(":", -1)) {
            Path p = cwd.resolve(dir.isEmpty() ? "." : dir).resolve(cmd);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return p.toString();
        }
        return null;
    }

    /**
     * Prepares everything on the calling (root) thread, then calls posix_spawn there or, for another user, on that
     * user's thread.
     */
    private static Child spawn(String path, String[] argv, String[] envp, String cwd, boolean stdinOpen,
                               IdentityThread as) throws IOException {
        LibC c = LibC.INSTANCE;
        int[] in = stdinOpen ? pipe() : null;
        int[] out = null;
        int[] err = null;
        Memory actions = new Memory(512);
        Memory attr = new Memory(1024);
        Memory sigset = new Memory(256);
        boolean actionsReady = false;
        boolean attrReady = false;
        try {
            out = pipe();
            err = pipe();
            check(c.posix_spawn_file_actions_init(actions), "file actions");
            actionsReady = true;
            if (in != null) check(c.posix_spawn_file_actions_adddup2(actions, in[0], 0), "dup2");
            else check(c.posix_spawn_file_actions_addopen(actions, 0, "/dev/null", LibC.O_RDONLY, 0), "open");
            check(c.posix_spawn_file_actions_adddup2(actions, out[1], 1), "dup2");
            check(c.posix_spawn_file_actions_adddup2(actions, err[1], 2), "dup2");
            check(c.posix_spawn_file_actions_addchdir_np(actions, cwd), "chdir");
            check(c.posix_spawn_file_actions_addclosefrom_np(actions, 3), "closefrom");
            check(c.posix_spawnattr_init(attr), "attributes");
            attrReady = true;
            c.sigemptyset(sigset);
            check(c.posix_spawnattr_setsigmask(attr, sigset), "sigmask");
            check(c.posix_spawnattr_setflags(attr, (short) (LibC.POSIX_SPAWN_SETSID | LibC.POSIX_SPAWN_SETSIGMASK)),
                    "flags");
            Memory pid = new Memory(4);
            Memory file = new Memory(path.getBytes(StandardCharsets.UTF_8).length + 1L);
            file.setString(0, path, StandardCharsets.UTF_8.name());
            StringArray args = new StringArray(argv, StandardCharsets.UTF_8.name());
            StringArray vars = new StringArray(envp, StandardCharsets.UTF_8.name());
            int rc = as == null ? c.posix_spawn(pid, file, actions, attr, args, vars)
                    : as.spawn(new Pointer[] {pid, file, actions, attr, args, vars});
            check(rc, "posix_spawn " + path);
            // the child has its ends; the agent keeps only its own
            if (in != null) closeFd(in, 0);
            closeFd(out, 1);
            closeFd(err, 1);
            InputStream stdout = reader(out);
            InputStream stderr = reader(err);
            return new Spawned(pid.getInt(0), in == null ? null : writer(in), stdout, stderr);
        } catch (IOException | RuntimeException e) {
            for (int[] p : new int[][] {in, out, err}) {
                if (p != null) {
                    closeFd(p, 0);
                    closeFd(p, 1);
                }
            }
            throw e;
        } finally {
            if (actionsReady) c.posix_spawn_file_actions_destroy(actions);
            if (attrReady) c.posix_spawnattr_destroy(attr);
        }
    }

    private static int[] pipe() throws IOException {
        int[] fds = new int[2];
        if (LibC.INSTANCE.pipe2(fds, LibC.O_CLOEXEC) != 0) {
            throw new IOException("pipe2 failed, errno " + com.sun.jna.Native.getLastError());
        }
        return fds;
    }

    private static void closeFd(int[] pipe, int end) {
        if (pipe[end] >= 0) {
            LibC.INSTANCE.close(pipe[end]);
            pipe[end] = -1;
        }
    }

    private static void check(int rc, String what) throws IOException {
        if (rc != 0) throw new IOException(what + " failed, error " + rc);
    }

    /** The JDK's own streams over a pipe end: a second descriptor opened through /proc, then the first closed. */
    private static InputStream reader(int[] pipe) throws IOException {
        try {
            return new FileInputStream("/proc/self/fd/" + pipe[0]);
        } finally {
            closeFd(pipe, 0);
        }
    }

    private static OutputStream writer(int[] pipe) throws IOException {
        try {
            return new FileOutputStream("/proc/self/fd/" + pipe[1]);
        } finally {
            closeFd(pipe, 1);
        }
    }

    /** A child of posix_spawn; a pooled platform thread waits for it (waitpid blocks in native code). */
    private static final class Spawned implements Child {
        private final int pid;
        private final OutputStream stdin;
        private final InputStream stdout;
        private final InputStream stderr;
        private final CompletableFuture<Integer> exit = new CompletableFuture<>();

        Spawned(int pid, OutputStream stdin, InputStream stdout, InputStream stderr) {
            this.pid = pid;
            this.stdin = stdin;
            this.stdout = stdout;
            this.stderr = stderr;
            IO.execute(this::reap);
        }

        private void reap() {
            IntByReference status = new IntByReference();
            while (true) {
                int rc = LibC.INSTANCE.waitpid(pid, status, 0);
                if (rc == pid) break;
                if (rc < 0 && com.sun.jna.Native.getLastError() == LibC.EINTR) continue;
                exit.completeExceptionally(new IOException("waitpid(" + pid + ") failed, errno "
                        + com.sun.jna.Native.getLastError()));
                return;
            }
            int s = status.getValue();
            int signal = s & 0x7f;
            exit.complete(signal == 0 ? (s >> 8) & 0xff : 0x80 + signal);
        }

        @Override
        public int pid() {
            return pid;
        }

        @Override
        public OutputStream stdin() {
            return stdin;
        }

        @Override
        public InputStream stdout() {
            return stdout;
        }

        @Override
        public InputStream stderr() {
            return stderr;
        }

        @Override
        public int waitFor() throws InterruptedException {
            try {
                return exit.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }
    }

    /**
     * A platform thread that took on one identity and calls posix_spawn for every child that runs as it. It must never
     * start a thread (a new thread inherits its credentials): it does not allocate native memory (JNA's cleaner
     * thread starts lazily), log, or complete a future a virtual thread waits on (waking one may start a carrier).
     * Its answers go through {@link #RELAY}, a root thread.
     */
    private static final class IdentityThread {
        private record Job(Pointer[] args, CompletableFuture<Integer> result) {}

        private final BlockingQueue<Job> jobs = new LinkedBlockingQueue<>();
        private final CompletableFuture<Void> ready = new CompletableFuture<>();
        private final Memory groups;
        private final Identity id;

        IdentityThread(Identity id) {
            this.id = id;
            this.groups = new Memory(Math.max(4, 4L * id.groups().size()));
            for (int i = 0; i < id.groups().size(); i++) groups.setInt(4L * i, id.groups().get(i));
            Thread.ofPlatform().daemon().name("spawn-as-" + id.uid()).start(this::run);
        }

        private void run() {
            int errno = become();
            if (errno != 0) {
                relay(() -> ready.completeExceptionally(
                        new IOException("cannot take on uid " + id.uid() + ", errno " + errno)));
                return;
            }
            relay(() -> ready.complete(null));
            while (true) {
                Job job;
                try {
                    job = jobs.take();
                } catch (InterruptedException e) {
                    return;
                }
                Pointer[] a = job.args();
                int rc = LibC.INSTANCE.posix_spawn(a[0], a[1], a[2], a[3], a[4], a[5]);
                relay(() -> job.result().complete(rc));
            }
        }

        /** setgroups, then gid, then uid (the order that keeps the right to do the next); 0 or errno. */
        private int become() {
            LibC c = LibC.INSTANCE;
            long rc = c.syscall(new NativeLong(SYSCALLS[0]), new NativeLong(id.groups().size()), groups).longValue();
            NativeLong gid = new NativeLong(id.gid());
            NativeLong uid = new NativeLong(id.uid());
            if (rc == 0) rc = c.syscall(new NativeLong(SYSCALLS[1]), gid, gid, gid).longValue();
            if (rc == 0) rc = c.syscall(new NativeLong(SYSCALLS[2]), uid, uid, uid).longValue();
            return rc == 0 ? 0 : Math.max(1, com.sun.jna.Native.getLastError());
        }

        /** posix_spawn's return value, from this identity's thread. */
        int spawn(Pointer[] args) throws IOException {
            awaitUninterruptibly(ready);
            CompletableFuture<Integer> result = new CompletableFuture<>();
            jobs.add(new Job(args, result));
            // uninterruptibly: the arguments' memory is freed once this returns, so it must not return early
            return awaitUninterruptibly(result);
        }

        private static <T> T awaitUninterruptibly(CompletableFuture<T> future) throws IOException {
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        return future.get();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    } catch (ExecutionException e) {
                        if (e.getCause() instanceof IOException io) throw io;
                        throw new IOException(e.getCause());
                    }
                }
            } finally {
                if (interrupted) Thread.currentThread().interrupt();
            }
        }
    }

    private static final BlockingQueue<Runnable> RELAY = new LinkedBlockingQueue<>();

    static {
        Thread.ofPlatform().daemon().name("spawn-relay").start(() -> {
            while (true) {
                try {
                    RELAY.take().run();
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    LOG.warn("spawn relay", e);
                }
            }
        });
    }

    private static void relay(Runnable r) {
        RELAY.add(r);
    }
}
