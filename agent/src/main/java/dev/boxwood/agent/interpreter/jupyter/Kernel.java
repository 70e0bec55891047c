package dev.boxwood.agent.interpreter.jupyter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.boxwood.agent.interpreter.jupyter.KernelMessage.Channel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.zeromq.ZContext;

/**
 * One running kernel process and the connection to it. Requests are routed back to their {@link Listener} by the
 * parent msg_id of every reply and iopub message; a kernel that exits tells every listener still waiting.
 */
public final class Kernel implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SIGINT = 2;
    private static final int TAIL_BYTES = 16 * 1024;

    /** Receives the messages caused by one request. Called on the kernel's I/O thread: must not block. */
    public interface Listener {
        void onMessage(KernelMessage message);

        /** The kernel is gone; {@code expected} when we stopped it ourselves (restart, delete). */
        void onKernelDied(String reason, boolean expected);
    }

    private interface LibC extends Library {
        int kill(int pid, int sig);
    }

    private final KernelSpec spec;
    private final Process process;
    private final Path connectionFile;
    private final KernelConnection connection;
    private final Map<String, Listener> listeners = new ConcurrentHashMap<>();
    private final byte[] tail = new byte[TAIL_BYTES];
    private int tailLength;
    private volatile boolean closing;
    private volatile Runnable onUnexpectedExit;
    private volatile boolean sawIopub;
    private volatile boolean infoReplied;
    /** Counted down once the kernel has both answered a kernel_info on shell and been heard on iopub. */
    private final CountDownLatch ready = new CountDownLatch(1);

    private Kernel(KernelSpec spec, Process process, Path connectionFile, ConnectionInfo info, ZContext zmq)
            throws IOException {
        this.spec = spec;
        this.process = process;
        this.connectionFile = connectionFile;
        // A platform thread: a virtual thread blocked reading a pipe holds its carrier, and once the scheduler's
        // compensating carriers have timed out, two such readers take every carrier of a 2-CPU sandbox, so the agent's
        // HTTP server (virtual threads) stops answering — seen as pooled code-interpreter sandboxes, idle for minutes,
        // never taking their /init.
        Thread.ofPlatform().daemon().name("kernel-output-" + process.pid()).start(this::drainOutput);
        this.connection = new KernelConnection(zmq, info, spec.name() + "-" + process.pid(), this::dispatch);
        process.onExit().thenRun(this::exited);
    }

    /**
     * Launches a kernel and waits until it answers kernel_info on shell and publishes on iopub, so the first
     * execution never loses output to a subscription that is not connected yet. Its sockets live in {@code zmq}, which
     * the caller keeps open while the kernel runs.
     */
    public static Kernel start(KernelSpec spec, Path runDir, Path cwd, Map<String, String> env, List<String> extraArgs,
                               Duration readyTimeout, ZContext zmq) throws IOException {
        IOException last = null;
        // The attempts share one deadline, so a caller waiting readyTimeout hears this method's own error (with the
        // kernel's output) rather than timing out while a retry is still under way.
        long deadline = System.nanoTime() + readyTimeout.toNanos();
        for (int attempt = 0; attempt < 3 && System.nanoTime() < deadline; attempt++) {
            ConnectionInfo info = ConnectionInfo.allocate(spec.name());
            Files.createDirectories(runDir);
            Path file = runDir.resolve("kernel-" + java.util.UUID.randomUUID() + ".json");
            info.write(file);
            List<String> argv = new ArrayList<>();
            for (String a : spec.argv()) argv.add(a.replace("{connection_file}", file.toString()));
            argv.addAll(extraArgs);
            ProcessBuilder builder = new ProcessBuilder(argv).directory(cwd.toFile()).redirectErrorStream(true);
            builder.environment().clear();
            builder.environment().putAll(env);
            builder.environment().putAll(spec.env());
            // ipykernel-based kernels poll their parent and exit once orphaned: kernels never outlive the agent.
            builder.environment().put("JPY_PARENT_PID", String.valueOf(ProcessHandle.current().pid()));
            Process process = builder.start();
            preferForOutOfMemory(process.pid());
            Kernel kernel = new Kernel(spec, process, file, info, zmq);
            try {
                kernel.awaitReady(deadline);
                return kernel;
            } catch (IOException e) {
                kernel.close();
                last = e;
            }
        }
        throw last != null ? last : new IOException("kernel " + spec.name() + " did not start within "
                + readyTimeout.toSeconds() + " s");
    }

    /**
     * Kernels (and what they start: they inherit it) go first when the sandbox runs out of memory, not the agent,
     * which would take the whole sandbox down with it. Raising one's own score needs no privilege.
     */
    private static void preferForOutOfMemory(long pid) {
        try {
            Files.writeString(Path.of("/proc/" + pid + "/oom_score_adj"), "800");
        } catch (IOException | RuntimeException ignored) {
            // not Linux, or no procfs: nothing to prefer
        }
    }

    private void awaitReady(long deadline) throws IOException {
        long started = System.nanoTime();
        try {
            // One kernel_info per wait, never more: once a reply had come but iopub had not yet been heard, this loop
            // used to resend without waiting, flooding the kernel with requests it then worked through for minutes.
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IOException("kernel " + spec.name() + " exited with " + process.exitValue() + ": "
                            + outputTail());
                }
                connection.send(Channel.SHELL, "kernel_info_request", JSON.createObjectNode());
                if (ready.await(250, TimeUnit.MILLISECONDS)) return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting kernel " + spec.name(), e);
        }
        throw new IOException("kernel " + spec.name() + " did not become ready within "
                + Duration.ofNanos(System.nanoTime() - started).toSeconds() + " s (answered kernel_info: " + infoReplied
                + ", heard on iopub: " + sawIopub + "): " + outputTail());
    }

    /**
     * Renews the iopub subscription and waits until it delivers: after ZeroMQ dropped the connection over an
     * oversized message, output sent before the subscription is back would be lost. Returns false on timeout.
     */
    public boolean awaitIopub(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        CountDownLatch heard = new CountDownLatch(1);
        Listener probe = new Listener() {
            public void onMessage(KernelMessage message) {
                if (message.channel() == Channel.IOPUB) heard.countDown();
            }

            public void onKernelDied(String reason, boolean expected) {
                heard.countDown();
            }
        };
        connection.resubscribe();
        try {
            while (System.nanoTime() < deadline && process.isAlive()) {
                String id = java.util.UUID.randomUUID().toString();
                listeners.put(id, probe);
                connection.send(Channel.SHELL, "kernel_info_request", JSON.createObjectNode(), id);
                boolean ok = heard.await(300, TimeUnit.MILLISECONDS);
                listeners.remove(id);
                if (ok) return true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    private void dispatch(KernelMessage message) {
        if (message.channel() == Channel.IOPUB) {
            sawIopub = true;
            if (infoReplied) ready.countDown();
        }
        if ("kernel_info_reply".equals(message.msgType()) && !listeners.containsKey(message.parentId())) {
            infoReplied = true;
            if (sawIopub) ready.countDown();
            return;
        }
        Listener listener = listeners.get(message.parentId());
        if (listener != null) listener.onMessage(message);
    }

    private void exited() {
        connection.close();
        boolean expected = closing;
        String reason = expected ? "the kernel was stopped" : "exit code " + process.exitValue();
        for (Listener l : List.copyOf(listeners.values())) l.onKernelDied(reason, expected);
        listeners.clear();
        Runnable callback = onUnexpectedExit;
        if (!expected && callback != null) callback.run();
    }

    /** Called once, on some thread, if the kernel process exits without being asked to. */
    public void onUnexpectedExit(Runnable callback) {
        this.onUnexpectedExit = callback;
        if (!process.isAlive() && !closing) callback.run();
    }

    /** Sends an execute_request; every message it causes goes to {@code listener} until {@link #forget}. */
    public String execute(String code, boolean silent, Listener listener) {
        ObjectNode content = JSON.createObjectNode();
        content.put("code", code);
        content.put("silent", silent);
        content.put("store_history", !silent);
        content.putObject("user_expressions");
        content.put("allow_stdin", false);
        content.put("stop_on_error", !silent);
        String id = java.util.UUID.randomUUID().toString();
        listeners.put(id, listener); // before sending, so not even the first answer can miss it
        connection.send(Channel.SHELL, "execute_request", content, id);
        // A kernel that exited just before registration has already told its listeners: tell this one too.
        if (!process.isAlive() && listeners.remove(id) != null) {
            listener.onKernelDied("exit code " + process.exitValue(), closing);
        }
        return id;
    }

    public void forget(String msgId) {
        listeners.remove(msgId);
    }

    /** Interrupts the running cell the way the kernelspec asks: SIGINT, or interrupt_request on control. */
    public void interrupt() {
        if (!process.isAlive()) return;
        if (spec.interruptsByMessage()) {
            connection.send(Channel.CONTROL, "interrupt_request", JSON.createObjectNode());
        } else {
            Native.load("c", LibC.class).kill((int) process.pid(), SIGINT);
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    public KernelSpec spec() {
        return spec;
    }

    /** The last lines the kernel process printed itself (not cell output): what to show when it fails. */
    public String outputTail() {
        synchronized (tail) {
            return new String(tail, 0, tailLength, StandardCharsets.UTF_8).strip();
        }
    }

    private void drainOutput() {
        byte[] buffer = new byte[8192];
        try (InputStream in = process.getInputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                synchronized (tail) {
                    if (n >= TAIL_BYTES) {
                        System.arraycopy(buffer, n - TAIL_BYTES, tail, 0, TAIL_BYTES);
                        tailLength = TAIL_BYTES;
                    } else {
                        int keep = Math.min(tailLength, TAIL_BYTES - n);
                        System.arraycopy(tail, tailLength - keep, tail, 0, keep);
                        System.arraycopy(buffer, 0, tail, keep, n);
                        tailLength = keep + n;
                    }
                }
            }
        } catch (IOException ignored) {
            // The process is gone.
        }
    }

    /** Asks the kernel to shut down, then kills it and whatever it started if it does not go within 2 s. */
    @Override
    public void close() {
        closing = true;
        if (process.isAlive()) {
            ObjectNode content = JSON.createObjectNode();
            content.put("restart", false);
            connection.send(Channel.CONTROL, "shutdown_request", content);
            try {
                if (!process.waitFor(2, TimeUnit.SECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
        connection.close();
        try {
            Files.deleteIfExists(connectionFile);
        } catch (IOException ignored) {
            // a stale connection file in the run dir is harmless
        }
    }

    /** Kills the kernel at once (a restart does not wait for a stuck kernel to agree). */
    public void kill() {
        closing = true;
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        connection.close();
        try {
            Files.deleteIfExists(connectionFile);
        } catch (IOException ignored) {
            // harmless
        }
    }
}
