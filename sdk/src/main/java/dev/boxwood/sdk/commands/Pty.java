package dev.boxwood.sdk.commands;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.sdk.transport.Json;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Interactive terminals: an interactive login bash on a pseudo-terminal. Obtained from {@code sandbox.pty()}.
 *
 * <pre>{@code
 * CommandHandle term = sandbox.pty().create(PtyOptions.of(80, 24, bytes -> System.out.write(bytes, 0, bytes.length)));
 * sandbox.pty().sendInput(term.pid(), "ls\n");
 * }</pre>
 */
public final class Pty {
    private final Commands commands;

    /** Used by {@code Sandbox}; not meant to be called directly. */
    public Pty(Commands commands) {
        this.commands = commands;
    }

    /** Starts a terminal; its output goes to {@link PtyOptions#onData()}. */
    public CommandHandle create(PtyOptions options) {
        Map<String, String> envs = new LinkedHashMap<>();
        envs.put("TERM", "xterm-256color");
        envs.put("LANG", "C.UTF-8");
        envs.put("LC_ALL", "C.UTF-8");
        envs.putAll(options.envs());
        ObjectNode process = Json.object().put("cmd", "/bin/bash");
        process.putArray("args").add("-i").add("-l");
        process.set("envs", Json.fromMap(envs));
        if (options.cwd() != null) {
            process.put("cwd", options.cwd());
        }
        ObjectNode request = Json.object();
        request.set("process", process);
        request.putObject("pty").putObject("size").put("cols", options.cols()).put("rows", options.rows());
        return commands.start(request, options.user(), options.timeout(), null, null, options.onData());
    }

    /** Attaches to a running terminal. */
    public CommandHandle connect(int pid, Duration timeout, Consumer<byte[]> onData) {
        return commands.connect(pid, timeout, null, null, onData);
    }

    /** Types into a terminal. */
    public void sendInput(int pid, byte[] data) {
        commands.sendInput(pid, "pty", data);
    }

    /** Types text into a terminal. */
    public void sendInput(int pid, String text) {
        sendInput(pid, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Changes a terminal's size. */
    public void resize(int pid, int cols, int rows) {
        ObjectNode request = Commands.selector(pid);
        request.putObject("pty").putObject("size").put("cols", cols).put("rows", rows);
        commands.update(request);
    }

    /** Kills a terminal; false when it was already gone. */
    public boolean kill(int pid) {
        return commands.kill(pid);
    }
}
