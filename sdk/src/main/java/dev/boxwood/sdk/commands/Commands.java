package dev.boxwood.sdk.commands;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.sdk.NotFoundException;
import dev.boxwood.sdk.SandboxException;
import dev.boxwood.sdk.TemplateException;
import dev.boxwood.sdk.transport.ConnectClient;
import dev.boxwood.sdk.transport.Json;
import dev.boxwood.sdk.transport.SandboxEndpoint;
import dev.boxwood.sdk.transport.ServerStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs commands in the sandbox through {@code /bin/bash -l -c}, in the foreground or the background. Obtained from
 * {@code sandbox.commands()}.
 *
 * <pre>{@code
 * CommandResult r = sandbox.commands().run("ls -la /");
 * System.out.println(r.stdout());
 * }</pre>
 */
public final class Commands {
    static final String SERVICE = "process.Process/";

    private final ConnectClient rpc;

    /** Used by {@code Sandbox}; not meant to be called directly. */
    public Commands(SandboxEndpoint endpoint) {
        this.rpc = new ConnectClient(endpoint);
    }

    /** Runs a command to its end with the default options (60 s timeout). */
    public CommandResult run(String cmd) {
        return run(cmd, CommandOptions.defaults());
    }

    /**
     * Runs a command to its end, streaming its output to the options' callbacks.
     *
     * @throws CommandExitException when it exits with a non-zero code
     * @throws dev.boxwood.sdk.TimeoutException when it outlives its timeout (it is killed)
     */
    public CommandResult run(String cmd, CommandOptions options) {
        CommandHandle handle = runBackground(cmd, options);
        try {
            return handle.waitFor();
        } finally {
            handle.disconnect();
        }
    }

    /** Starts a command and returns at once with its handle. */
    public CommandHandle runBackground(String cmd) {
        return runBackground(cmd, CommandOptions.defaults());
    }

    /** Starts a command and returns as soon as it runs; output goes to the callbacks and the handle. */
    public CommandHandle runBackground(String cmd, CommandOptions options) {
        ObjectNode process = Json.object().put("cmd", "/bin/bash");
        process.putArray("args").add("-l").add("-c").add(cmd);
        if (!options.envs().isEmpty()) {
            process.set("envs", Json.fromMap(options.envs()));
        }
        if (options.cwd() != null) {
            process.put("cwd", options.cwd());
        }
        ObjectNode request = Json.object();
        request.set("process", process);
        request.put("stdin", options.stdin());
        return start(request, options.user(), options.timeout(), options.onStdout(), options.onStderr(), null);
    }

    CommandHandle start(ObjectNode request, String user, Duration timeout, Consumer<String> onStdout,
                        Consumer<String> onStderr, Consumer<byte[]> onPty) {
        ServerStream stream = rpc.stream(SERVICE + "Start", request, user, timeout);
        return handle(stream, timeout, onStdout, onStderr, onPty);
    }

    private CommandHandle handle(ServerStream stream, Duration timeout, Consumer<String> onStdout,
                                 Consumer<String> onStderr, Consumer<byte[]> onPty) {
        JsonNode first = stream.first();
        if (!(ProcessEvent.parse(first) instanceof ProcessEvent.Start(int pid))) {
            stream.close();
            throw new SandboxException("expected the process's start event, got " + first);
        }
        return new CommandHandle(pid, this, stream, timeout, onStdout, onStderr, onPty);
    }

    /** Attaches to a running process (e.g. one started by another client), with a 60 s timeout. */
    public CommandHandle connect(int pid) {
        return connect(pid, CommandOptions.defaults());
    }

    /**
     * Attaches to a running process; its further output goes to the options' callbacks (only {@code timeout},
     * {@code onStdout} and {@code onStderr} apply).
     */
    public CommandHandle connect(int pid, CommandOptions options) {
        return connect(pid, options.timeout(), options.onStdout(), options.onStderr(), null);
    }

    CommandHandle connect(int pid, Duration timeout, Consumer<String> onStdout, Consumer<String> onStderr,
                          Consumer<byte[]> onPty) {
        ServerStream stream = rpc.stream(SERVICE + "Connect", selector(pid), null, timeout);
        return handle(stream, timeout, onStdout, onStderr, onPty);
    }

    /** The processes running in the sandbox. */
    public List<ProcessInfo> list() {
        JsonNode response = rpc.unary(SERVICE + "List", Json.object(), null);
        List<ProcessInfo> out = new ArrayList<>();
        response.path("processes").forEach(p -> out.add(ProcessInfo.fromJson(p)));
        return out;
    }

    /** Kills a process with SIGKILL; false when no such process runs. */
    public boolean kill(int pid) {
        ObjectNode request = selector(pid);
        request.put("signal", "SIGNAL_SIGKILL");
        try {
            rpc.unary(SERVICE + "SendSignal", request, null);
            return true;
        } catch (NotFoundException e) {
            return false;
        }
    }

    /** Writes text to a process's stdin. */
    public void sendStdin(int pid, String data) {
        sendStdin(pid, data.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes bytes to a process's stdin. */
    public void sendStdin(int pid, byte[] data) {
        sendInput(pid, "stdin", data);
    }

    void sendInput(int pid, String kind, byte[] data) {
        ObjectNode request = selector(pid);
        request.putObject("input").put(kind, Base64.getEncoder().encodeToString(data));
        rpc.unary(SERVICE + "SendInput", request, null);
    }

    /** Closes a process's stdin, so it reads end-of-file. */
    public void closeStdin(int pid) {
        if (!rpc.endpoint().supports(SandboxEndpoint.VERSION_CLOSE_STDIN)) {
            throw new TemplateException("this sandbox's agent cannot close stdin; rebuild the template");
        }
        rpc.unary(SERVICE + "CloseStdin", selector(pid), null);
    }

    boolean sandboxRunning() {
        return rpc.endpoint().isRunning();
    }

    void update(ObjectNode request) {
        rpc.unary(SERVICE + "Update", request, null);
    }

    static ObjectNode selector(int pid) {
        ObjectNode request = Json.object();
        request.putObject("process").put("pid", pid);
        return request;
    }
}
