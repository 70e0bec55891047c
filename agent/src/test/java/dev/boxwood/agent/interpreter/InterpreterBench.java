package dev.boxwood.agent.interpreter;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Benchmark, not a test: {@code 1+1} round trips through the interpreter's HTTP API, beside raw Jupyter round trips
 * (jupyter_client, in Python) to the same kernel, in the same run. Run with
 * {@code java -cp <agent test classpath> dev.boxwood.agent.interpreter.InterpreterBench [iterations]}.
 */
public final class InterpreterBench {
    private InterpreterBench() {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        Path tmp = Files.createTempDirectory("interpreter-bench");
        InterpreterConfig defaults = InterpreterConfig.defaults(token -> Map.of());
        InterpreterConfig config = new InterpreterConfig(tmp.resolve("run"), tmp, defaults.kernelDirs(),
                defaults.kernelEnv(), defaults.sandboxEnv(), defaults.maxStreamBytes(), defaults.maxPendingBytes(),
                defaults.keepalive(), defaults.kernelStartup(), defaults.interruptGrace());
        try (InterpreterServer server = new InterpreterServer(new Interpreter(config), "127.0.0.1", 0)) {
            server.start();
            String id = server.interpreter().createContext("python", null).id();
            HttpClient http = HttpClient.newHttpClient();
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/execute"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"code\":\"1+1\",\"context_id\":\"" + id + "\"}")).build();
            long[] viaHttp = new long[n];
            for (int i = -50; i < n; i++) {
                long start = System.nanoTime();
                String body = http.send(request, HttpResponse.BodyHandlers.ofString()).body();
                if (!body.contains("\"text\":\"2\"")) throw new IllegalStateException(body);
                if (i >= 0) viaHttp[i] = System.nanoTime() - start;
            }
            Path connectionFile;
            try (Stream<Path> files = Files.list(config.runDir())) {
                connectionFile = files.filter(f -> f.getFileName().toString().startsWith("kernel-")).findFirst().orElseThrow();
            }
            String script = """
                    import sys, time
                    from jupyter_client import BlockingKernelClient
                    kc = BlockingKernelClient(connection_file=sys.argv[1]); kc.load_connection_file(); kc.start_channels()
                    kc.wait_for_ready(timeout=30)
                    def once():
                        msg_id = kc.execute('1+1')
                        while True:
                            m = kc.get_iopub_msg(timeout=10)
                            if m['parent_header'].get('msg_id') == msg_id and m['msg_type'] == 'status' and m['content']['execution_state'] == 'idle':
                                break
                        kc.get_shell_msg(timeout=10)
                    for _ in range(50): once()
                    for _ in range(int(sys.argv[2])):
                        t = time.perf_counter_ns(); once(); print(time.perf_counter_ns() - t)
                    """;
            Process python = new ProcessBuilder("/usr/bin/python3", "-c", script, connectionFile.toString(),
                    String.valueOf(n)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            long[] raw = new String(python.getInputStream().readAllBytes()).lines().mapToLong(Long::parseLong).toArray();
            python.waitFor();
            report("interpreter HTTP /execute (1+1)", viaHttp);
            report("raw Jupyter (jupyter_client, same kernel)", raw);
            System.out.printf("ratio p50 %.2f, p99 %.2f%n", (double) percentile(viaHttp, 50) / percentile(raw, 50),
                    (double) percentile(viaHttp, 99) / percentile(raw, 99));
        }
    }

    private static long percentile(long[] values, int p) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

    private static void report(String name, long[] nanos) {
        System.out.printf("%-45s n=%d p50=%.2f ms p99=%.2f ms%n", name, nanos.length, percentile(nanos, 50) / 1e6,
                percentile(nanos, 99) / 1e6);
    }
}
