package dev.boxwood.agent.process;

import dev.boxwood.protocol.envd.process.DataEvent;
import dev.boxwood.protocol.envd.process.EndEvent;
import dev.boxwood.protocol.envd.process.ProcessConfig;
import dev.boxwood.protocol.envd.process.ProcessEvent;
import dev.boxwood.protocol.envd.process.ProcessInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A process started through Start: its output pumps, its subscribers (the Start stream and any Connect streams),
 * its stdin or PTY, and its end. It runs in its own session ({@code setsid}), so its pid is also its process group
 * and signals reach the whole tree it spawns.
 */
final class ManagedProcess {
    private static final int CHUNK = 32 * 1024;

    private final int pid;
    private final ProcessConfig config;
    private final String tag;
    private final Child process;
    private final PtyMaster pty;
    private final OutputStream stdin;
    private final List<Subscriber> subscribers = new CopyOnWriteArrayList<>();
    private final CompletableFuture<EndEvent> end = new CompletableFuture<>();
    private final AtomicLong pumped = new AtomicLong();
    /** Pumps blocked handing output to a slow client: back-pressure, not a stuck pipe. */
    private final java.util.concurrent.atomic.AtomicInteger delivering = new java.util.concurrent.atomic.AtomicInteger();
    private volatile int lastSignal;
    private volatile boolean stdinClosed;

    ManagedProcess(Child process, ProcessConfig config, String tag, PtyMaster pty) {
        this.pid = process.pid();
        this.process = process;
        this.config = config;
        this.tag = tag;
        this.pty = pty;
        this.stdin = pty == null ? process.stdin() : null;
    }

    int pid() {
        return pid;
    }

    String tag() {
        return tag;
    }

    ProcessInfo info() {
        return new ProcessInfo(config, pid, tag);
    }

    boolean hasPty() {
        return pty != null;
    }

    CompletableFuture<EndEvent> end() {
        return end;
    }

    /** Starts pumping output and waiting for the exit; {@code onEnd} runs just before the end event goes out. */
    void run(Consumer<ManagedProcess> onEnd) {
        // Pooled platform threads: a virtual thread blocked on a pipe or PTY read pins its carrier (see Kernel), and
        // a short command should not pay for making two threads.
        Future<?>[] pumps;
        if (pty != null) {
            pumps = new Future<?>[] {Spawner.IO.submit(this::pumpPty)};
        } else {
            pumps = new Future<?>[] {
                    Spawner.IO.submit(() -> pump(process.stdout(), true)),
                    Spawner.IO.submit(() -> pump(process.stderr(), false))};
        }
        Thread.ofVirtual().name("wait-" + pid).start(() -> {
            int code;
            try {
                code = process.waitFor();
                drain(pumps);
            } catch (InterruptedException e) {
                return;
            }
            EndEvent event = endEvent(code);
            // unlisted before anyone hears of the end: a client that saw it must not find the process in List
            onEnd.accept(this);
            for (Subscriber s : subscribers) {
                try {
                    s.deliver(ProcessEvent.ofEnd(event));
                } catch (InterruptedException ignored) {
                    return;
                }
            }
            end.complete(event);
            closeQuietly(stdin);
        });
    }

    /**
     * After the exit, lets the pumps finish what is still in the pipes: as long as they read more or wait on a slow
     * client. A grandchild that keeps the pipe open (a background job) would hold them forever, so pumps that read
     * nothing for a while are left behind and the end is reported without them.
     */
    private void drain(Future<?>[] pumps) throws InterruptedException {
        long seen = -1;
        while (seen != pumped.get() || delivering.get() > 0) {
            seen = pumped.get();
            boolean done = true;
            for (Future<?> f : pumps) {
                try {
                    f.get(300, TimeUnit.MILLISECONDS);
                } catch (TimeoutException | ExecutionException e) {
                    // still reading (or failed: then it is done)
                }
                done &= f.isDone();
            }
            if (done) return;
        }
    }

    private EndEvent endEvent(int code) {
        int signal = lastSignal;
        if (signal != 0 && code == 128 + signal) {
            return new EndEvent(-1, false, "signal: " + signalName(signal), null);
        }
        return new EndEvent(code, true, "exit status " + code, null);
    }

    private static String signalName(int signal) {
        return switch (signal) {
            case 9 -> "killed";
            case 15 -> "terminated";
            case 2 -> "interrupt";
            case 1 -> "hangup";
            default -> "signal " + signal;
        };
    }

    private void pump(InputStream in, boolean stdout) {
        byte[] buf = new byte[CHUNK];
        try (in) {
            int n;
            while ((n = in.read(buf)) > 0) {
                byte[] chunk = java.util.Arrays.copyOf(buf, n);
                publish(ProcessEvent.ofData(stdout ? new DataEvent(chunk, null, null) : new DataEvent(null, chunk, null)));
                pumped.addAndGet(n);
            }
        } catch (IOException | InterruptedException e) {
            // pipe closed: the process is gone
        }
    }

    private void pumpPty() {
        byte[] buf = new byte[CHUNK];
        try {
            int n;
            while ((n = pty.read(buf)) > 0) {
                publish(ProcessEvent.ofData(new DataEvent(null, null, java.util.Arrays.copyOf(buf, n))));
                pumped.addAndGet(n);
            }
        } catch (InterruptedException ignored) {
            // shutting down
        } finally {
            pty.close();
        }
    }

    private void publish(ProcessEvent event) throws InterruptedException {
        delivering.incrementAndGet();
        try {
            for (Subscriber s : subscribers) {
                if (s.isClosed()) subscribers.remove(s);
                else s.deliver(event);
            }
        } finally {
            delivering.decrementAndGet();
        }
    }

    /** A new stream of this process's output from now on; empty (only the end) if it already ended. */
    Subscriber subscribe() {
        Subscriber s = new Subscriber();
        subscribers.add(s);
        return s;
    }

    void unsubscribe(Subscriber s) {
        s.close();
        subscribers.remove(s);
    }

    /** Sends a signal to the process group (the whole tree), falling back to the process alone. */
    void signal(int signal) {
        lastSignal = signal;
        if (LibC.INSTANCE.kill(-pid, signal) != 0) LibC.INSTANCE.kill(pid, signal);
    }

    void writeStdin(byte[] data) throws IOException {
        if (pty != null) {
            pty.write(data);
            return;
        }
        if (stdin == null || stdinClosed) throw new IOException("stdin is not open");
        synchronized (stdin) {
            stdin.write(data);
            stdin.flush();
        }
    }

    void writePty(byte[] data) throws IOException {
        if (pty == null) throw new IOException("process has no pty");
        pty.write(data);
    }

    boolean stdinEnabled() {
        return pty != null || stdin != null;
    }

    void closeStdin() throws IOException {
        if (pty != null) {
            pty.write(new byte[] {4}); // ^D: end of input for the terminal's reader
            return;
        }
        stdinClosed = true;
        if (stdin != null) stdin.close();
    }

    void resize(int cols, int rows) throws IOException {
        if (pty == null) throw new IOException("process has no pty");
        pty.resize(cols, rows);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // already closed
        }
    }
}
