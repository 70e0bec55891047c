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

    /** Runs with a deadline, for commands that could hang (e.g. a stuck mount); kills it past the deadline. */
    public static Result runWithin(List<String> command, long timeout, TimeUnit unit) {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        try {
            Process process = builder.start();
            byte[][] holder = new byte[1][];
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    holder[0] = process.getInputStream().readAllBytes();
                } catch (IOException e) {
                    holder[0] = new byte[0];
                }
            });
            if (!process.waitFor(timeout, unit)) {
                process.destroyForcibly();
                process.waitFor();
            }
            reader.join();
            return new Result(process.exitValue(), new String(holder[0], StandardCharsets.UTF_8).strip());
        } catch (IOException e) {
            throw new RuntimeFailure("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("interrupted while running " + command.getFirst(), e);
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
