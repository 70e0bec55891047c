package dev.boxwood.server.runtime;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs a host tool (crun, ip, nft, mount, ...) and collects its output. Tools are invoked by absolute-free name and
 * found on PATH; stderr is merged into stdout so a failure message carries what the tool said.
 */
public final class HostCommand {

    /** What a finished command left behind. */
    public record Result(int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    private HostCommand() {}

    /** Runs and returns the result whatever the exit code. */
    public static Result run(List<String> command) {
        return run(command, null, null, Map.of(), line -> {});
    }

    /** Runs, feeding {@code stdin} if given, streaming each output line to {@code lines}. */
    public static Result run(List<String> command, String stdin, java.nio.file.Path workdir,
                             Map<String, String> env, Consumer<String> lines) {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        if (workdir != null) {
            builder.directory(workdir.toFile());
        }
        builder.environment().putAll(env);
        if (stdin == null) {
            builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new RuntimeFailure("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        }
        try {
            if (stdin != null) {
                try (OutputStream in = process.getOutputStream()) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            StringBuilder out = new StringBuilder();
            try (BufferedReader reader = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    // Keep the tail only: debootstrap and apt can print megabytes.
                    if (out.length() > 64 * 1024) {
                        out.delete(0, out.length() - 32 * 1024);
                    }
                    out.append(line).append('\n');
                    lines.accept(line);
                }
            }
            return new Result(process.waitFor(), out.toString().strip());
        } catch (IOException e) {
            process.destroyForcibly();
            throw new RuntimeFailure("reading output of " + command.getFirst() + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("interrupted while running " + command.getFirst(), e);
        }
    }

    /** Runs and throws {@link RuntimeFailure} carrying the tool's output when it exits non-zero. */
    public static String check(List<String> command) {
        return check(command, null);
    }

    public static String check(List<String> command, String stdin) {
        Result result = run(command, stdin, null, Map.of(), line -> {});
        if (!result.ok()) {
            throw new RuntimeFailure(String.join(" ", abbreviate(command)) + " failed (exit " + result.exitCode() + "): "
                    + result.output());
        }
        return result.output();
    }

    /**
     * Runs with a deadline, for commands that could hang; kills it past the deadline. Output goes through a temporary
     * file, not a pipe: something the command leaves running (e.g. a process started in a sandbox by {@code crun
     * exec}) may keep the output open long after the command itself is gone.
     */
    public static Result runWithin(List<String> command, long timeout, TimeUnit unit) {
        java.nio.file.Path out = null;
        try {
            out = java.nio.file.Files.createTempFile("boxwood-cmd-", ".out");
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!process.waitFor(timeout, unit)) {
                process.destroyForcibly();
                process.waitFor();
            }
            return new Result(process.exitValue(), readCapped(out));
        } catch (IOException e) {
            throw new RuntimeFailure("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("interrupted while running " + command.getFirst(), e);
        } finally {
            if (out != null) {
                try {
                    java.nio.file.Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a stray temp file
                }
            }
        }
    }

    /** The file's text, or its last 64 KiB when it is larger. */
    private static String readCapped(java.nio.file.Path file) throws IOException {
        try (var channel = java.nio.channels.FileChannel.open(file)) {
            long size = channel.size();
            long from = Math.max(0, size - 64 * 1024);
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate((int) (size - from));
            while (buffer.hasRemaining() && channel.read(buffer, from + buffer.position()) > 0) {
                // keep reading until the snapshot of the file is in
            }
            return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).strip();
        }
    }

    private static List<String> abbreviate(List<String> command) {
        List<String> shown = new ArrayList<>();
        for (String part : command) {
            shown.add(part.length() > 120 ? part.substring(0, 117) + "..." : part);
        }
        return shown;
    }
}
