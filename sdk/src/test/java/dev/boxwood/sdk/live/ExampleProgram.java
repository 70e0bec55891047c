package dev.boxwood.sdk.live;

import dev.boxwood.sdk.ConnectionConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a program from {@code examples/} as a user would: a separate JVM launching the source file. */
final class ExampleProgram {
    /** How a run ended: the exit code (-1 when it had to be killed) and everything it printed. */
    record Outcome(int exitCode, String output) {}

    private ExampleProgram() {}

    /** Runs {@code examples/<file>} with the live server's E2B_* variables plus {@code extraEnv}. */
    static Outcome run(String file, ConnectionConfig server, Map<String, String> extraEnv, String... args)
            throws IOException, InterruptedException {
        Path source = Path.of(System.getProperty("boxwood.home", "..")).resolve("examples").resolve(file);
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // The test class path holds the SDK and Jackson, which is what examples/run provides.
                "-cp", System.getProperty("java.class.path"), source.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("E2B_") || k.startsWith("OPENAI_"));
        env.put("E2B_API_KEY", server.apiKey());
        env.put("E2B_API_URL", server.apiUrl());
        env.put("E2B_SANDBOX_URL", server.sandboxUrl());
        env.put("E2B_DOMAIN", server.domain());
        env.putAll(extraEnv);
        Process process = pb.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(5, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            return new Outcome(-1, output);
        }
        return new Outcome(process.exitValue(), output);
    }
}
