package dev.boxwood.agent.interpreter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;

/** A real interpreter server on a free loopback port, with small flood limits so tests can reach them. */
final class TestServers {
    static final long MAX_STREAM_BYTES = 1 << 20;

    private TestServers() {}

    static InterpreterServer start(Path tmp, Function<String, Map<String, String>> sandboxEnv) throws Exception {
        InterpreterConfig defaults = InterpreterConfig.defaults(sandboxEnv);
        InterpreterConfig config = new InterpreterConfig(tmp.resolve("run"), Files.createDirectories(tmp.resolve("home")),
                defaults.kernelDirs(), defaults.kernelEnv(), sandboxEnv, MAX_STREAM_BYTES, 4 << 20,
                Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(10));
        InterpreterServer server = new InterpreterServer(new Interpreter(config), "127.0.0.1", 0);
        server.start();
        return server;
    }
}
