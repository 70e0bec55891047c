package dev.boxwood.sdk.commands;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.sdk.SandboxException;
import dev.boxwood.sdk.TimeoutException;
import dev.boxwood.sdk.transport.ServerStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;

/**
 * A command (or PTY) running in the sandbox. Output is collected, and handed to the callbacks, on a background
 * thread as it arrives; {@link #waitFor()} blocks until the command ends.
 *
 * <pre>{@code
 * CommandHandle server = sandbox.commands().runBackground("python3 -m http.server 8000");
 * ...
 * server.kill();
 * }</pre>
 */
public final class CommandHandle {
    private final int pid;
    private final Commands commands;
    private final ServerStream stream;
    private final StringBuilder stdout = new StringBuilder();
    private final StringBuilder stderr = new StringBuilder();
    private final CompletableFuture<CommandResult> result = new CompletableFuture<>();
    private final Consumer<String> onStdout;
    private final Consumer<String> onStderr;
    private final Consumer<byte[]> onPty;
    private final Duration timeout;
    private final long startedNanos = System.nanoTime();

    CommandHandle(int pid, Commands commands, ServerStream stream, Duration timeout, Consumer<String> onStdout,
                  Consumer<String> onStderr, Consumer<byte[]> onPty) {
        this.pid = pid;
        this.commands = commands;
        this.stream = stream;
        this.timeout = timeout;
        this.onStdout = onStdout;
        this.onStderr = onStderr;
        this.onPty = onPty;
        Thread.ofVirtual().name("boxwood-process-" + pid).start(this::pump);
    }

    private void pump() {
        Utf8Decoder out = new Utf8Decoder();
        Utf8Decoder err = new Utf8Decoder();
        ProcessEvent.End end = null;
        try {
            for (JsonNode message = stream.next(); message != null; message = stream.next()) {
                switch (ProcessEvent.parse(message)) {
                    case ProcessEvent.Stdout s -> emit(stdout, out.decode(s.data()), onStdout);
                    case ProcessEvent.Stderr s -> emit(stderr, err.decode(s.data()), onStderr);
                    case ProcessEvent.Pty p -> {
                        if (onPty != null) {
                            onPty.accept(p.data());
                        }
                    }
                    case ProcessEvent.End e -> end = e;
                    case ProcessEvent.Start s -> { }
                    case ProcessEvent.KeepAlive k -> { }
                    case ProcessEvent.Other o -> { }
                }
            }
            emit(stdout, out.finish(), onStdout);
            emit(stderr, err.finish(), onStderr);
            if (end == null) {
                result.completeExceptionally(stream.isClosed()
                        ? new SandboxException("disconnected from process " + pid + " before it ended")
                        : new SandboxException("process " + pid + " exited without a result"));
            } else {
                result.complete(new CommandResult(end.exitCode(), stdoutSoFar(), stderrSoFar(), end.error()));
            }
        } catch (SandboxException e) {
            result.completeExceptionally(explain(e));
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
        } finally {
            stream.close();
        }
    }

    /** A stream that broke because the sandbox went away is reported as such, as the official SDKs do. */
    private SandboxException explain(SandboxException e) {
        if (!"unavailable".equals(e.code()) || e instanceof TimeoutException) {
            return e;
        }
        try {
            if (!commands.sandboxRunning()) {
                return new TimeoutException("the sandbox was killed or timed out while process " + pid + " ran",
                        e.status(), e.code(), e);
            }
        } catch (RuntimeException ignored) {
            // Cannot tell: report the original failure.
        }
        return e;
    }

    private void emit(StringBuilder buffer, String text, Consumer<String> callback) {
        if (text.isEmpty()) {
            return;
        }
        synchronized (buffer) {
            buffer.append(text);
        }
        if (callback != null) {
            callback.accept(text);
        }
    }

    /** The process ID inside the sandbox. */
    public int pid() {
        return pid;
    }

    /** Everything written to stdout so far. */
    public String stdoutSoFar() {
        synchronized (stdout) {
            return stdout.toString();
        }
    }

    /** Everything written to stderr so far. */
    public String stderrSoFar() {
        synchronized (stderr) {
            return stderr.toString();
        }
    }

    /** True until the command's end (or a failure of its stream) has been seen. */
    public boolean isRunning() {
        return !result.isDone();
    }

    /**
     * Waits for the command to end.
     *
     * @return its result when it exited with code 0
     * @throws CommandExitException when it exited with another code (the exception carries the output)
     * @throws TimeoutException when its timeout passed
     */
    public CommandResult waitFor() {
        CommandResult r = awaitResult();
        if (r.exitCode() != 0) {
            throw new CommandExitException(r);
        }
        return r;
    }

    /** Like {@link #waitFor()} but returns the result whatever the exit code. */
    public CommandResult awaitResult() {
        try {
            if (timeout == null || timeout.isZero()) {
                return result.get();
            }
            // The agent ends the stream at the deadline; this guards against one that does not.
            long left = timeout.plusSeconds(10).toNanos() - (System.nanoTime() - startedNanos);
            return result.get(Math.max(left, 1), java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            stream.close();
            throw new TimeoutException("process " + pid + " did not end within its timeout of " + timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException("interrupted while waiting for process " + pid, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SandboxException se) {
                // Re-thrown on the caller's thread so its stack shows where the wait happened.
                se.addSuppressed(new Exception("waited for process " + pid + " here"));
                throw se;
            }
            throw new SandboxException("process " + pid + " failed: " + e.getCause(), e.getCause());
        }
    }

    /** Kills the command with SIGKILL; false when it was already gone. */
    public boolean kill() {
        return commands.kill(pid);
    }

    /** Writes to the command's stdin (it must have been started with {@code stdin(true)}). */
    public void sendStdin(String data) {
        commands.sendStdin(pid, data);
    }

    /** Writes bytes to the command's stdin. */
    public void sendStdin(byte[] data) {
        commands.sendStdin(pid, data);
    }

    /** Closes the command's stdin, so it reads end-of-file. */
    public void closeStdin() {
        commands.closeStdin(pid);
    }

    /** Stops receiving output; the command keeps running and can be reached again with {@code connect(pid)}. */
    public void disconnect() {
        stream.close();
    }
}
