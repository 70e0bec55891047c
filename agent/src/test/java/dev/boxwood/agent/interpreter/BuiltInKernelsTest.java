package dev.boxwood.agent.interpreter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Boxwood's own bash, JavaScript and Java kernels (the Python wrapper kernel plus bash, node and JShell). */
class BuiltInKernelsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static InterpreterServer server;
    private static HttpClient http;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(InterpreterServer.available(), "python3-ipykernel is not installed");
        server = TestServers.start(tmp, token -> Map.of("BOXWOOD_GLOBAL", "everywhere"));
        http = HttpClient.newHttpClient();
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) server.close();
    }

    private static List<JsonNode> run(Map<String, Object> request) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.port() + "/execute"))
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(request))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        List<JsonNode> lines = new ArrayList<>();
        for (String line : response.body().split("\n")) if (!line.isBlank()) lines.add(JSON.readTree(line));
        assertThat(lines.getLast().path("type").asText()).isEqualTo("end_of_execution");
        return lines;
    }

    private static List<JsonNode> run(String language, String code) throws Exception {
        return run(Map.of("language", language, "code", code));
    }

    private static String text(List<JsonNode> lines, String type) {
        return lines.stream().filter(l -> l.path("type").asText().equals(type)).map(l -> l.path("text").asText())
                .collect(Collectors.joining());
    }

    private static JsonNode first(List<JsonNode> lines, String type) {
        return lines.stream().filter(l -> l.path("type").asText().equals(type)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type + " in " + lines));
    }

    private static boolean has(String language) {
        return server.interpreter().languages().contains(language);
    }

    @Test
    void bashKeepsStateAndReportsFailures() throws Exception {
        Assumptions.assumeTrue(has("bash"));
        List<JsonNode> first = run("bash", "GREETING=hello\necho \"$GREETING world\"\necho oops >&2");
        assertThat(text(first, "stdout")).isEqualTo("hello world\n");
        assertThat(text(first, "stderr")).isEqualTo("oops\n");
        assertThat(first(first, "number_of_executions").path("execution_count").asInt()).isPositive();
        assertThat(text(run("bash", "echo $GREETING; pwd"), "stdout"))
                .isEqualTo("hello\n" + tmp.resolve("home") + "\n");
        assertThat(first(run("bash", "false"), "error").path("value").asText()).contains("code 1");
        List<JsonNode> env = run(Map.of("language", "bash", "code", "echo $PER_CALL $BOXWOOD_GLOBAL",
                "env_vars", Map.of("PER_CALL", "it's here")));
        assertThat(text(env, "stdout")).isEqualTo("it's here everywhere\n");
        assertThat(text(run("bash", "echo \"[$PER_CALL]\""), "stdout")).isEqualTo("[]\n");
    }

    @Test
    void wrapperKernelIsNotAnIpythonKernel() throws Exception {
        // The bash runtime's parent is the wrapper kernel. Built on ipykernel it held ~70 MB resident (IPython,
        // tornado, debugpy) in every sandbox running one of these languages; on bare pyzmq it holds ~20 MB.
        Assumptions.assumeTrue(has("bash"));
        String status = text(run("bash", "tr '\\0' ' ' < /proc/$PPID/cmdline; echo; grep VmRSS /proc/$PPID/status"),
                "stdout");
        assertThat(status).contains("boxwood_wrapper_kernel.py");
        long rssKb = Long.parseLong(status.replaceAll("(?s).*VmRSS:\\s*(\\d+) kB.*", "$1"));
        assertThat(rssKb).as(status).isLessThan(40_000);
    }

    @Test
    void javascriptKeepsStateAwaitsAndThrows() throws Exception {
        Assumptions.assumeTrue(has("javascript"));
        List<JsonNode> first = run("js", "const base = 40;\nconsole.log('logged');\nbase + 2");
        assertThat(text(first, "stdout")).isEqualTo("logged\n");
        assertThat(first(first, "result").path("text").asText()).isEqualTo("42");
        assertThat(first(first, "result").path("is_main_result").asBoolean()).isTrue();
        assertThat(first(run("javascript", "const base = 1; base"), "result").path("text").asText()).isEqualTo("1");
        assertThat(first(run("javascript", "await new Promise(r => setTimeout(() => r('later'), 10))"), "result")
                .path("text").asText()).isEqualTo("later");
        JsonNode error = first(run("javascript", "throw new TypeError('nope')"), "error");
        assertThat(error.path("name").asText()).isEqualTo("TypeError");
        assertThat(error.path("value").asText()).isEqualTo("nope");
        assertThat(text(run(Map.of("language", "javascript", "code", "console.log(process.env.PER_CALL)",
                "env_vars", Map.of("PER_CALL", "set"))), "stdout")).isEqualTo("set\n");
        assertThat(first(run("javascript", "String(process.env.PER_CALL)"), "result").path("text").asText())
                .isEqualTo("undefined");
    }

    @Test
    void javascriptInfiniteLoopIsInterruptedByTimeout() throws Exception {
        Assumptions.assumeTrue(has("javascript"));
        String id = JSON.readTree(http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.port() + "/contexts"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"language\":\"js\"}")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).path("id").asText();
        List<JsonNode> lines = run(Map.of("context_id", id, "code", "var kept = 5; while (true) {}", "timeout_ms", 1500));
        assertThat(first(lines, "error").path("value").asText()).containsIgnoringCase("interrupted");
        assertThat(first(run(Map.of("context_id", id, "code", "kept * 2")), "result").path("text").asText())
                .isEqualTo("10");
    }

    @Test
    void typescriptIsTranspiledAndRunOrClearlyRefused() throws Exception {
        if (!has("typescript")) {
            // Without Debian's node-typescript (or the npm package) there is no TypeScript kernel: say so.
            HttpResponse<String> refused = http.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + server.port() + "/execute"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"language\":\"ts\",\"code\":\"1\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(400);
            assertThat(refused.body()).contains("typescript").contains("javascript");
            return;
        }
        List<JsonNode> lines = run("ts", "const n: number = 20;\nfunction twice(x: number): number { return x * 2 }\ntwice(n) + 2");
        assertThat(first(lines, "result").path("text").asText()).isEqualTo("42");
        assertThat(first(run("typescript", "interface P { a: string }\nconst p: P = { a: 'x' };\np.a"), "result")
                .path("text").asText()).isEqualTo("x");
    }

    @Test
    void javaRunsInJShell() throws Exception {
        Assumptions.assumeTrue(has("java"));
        run("java", "int answer = 40;");
        assertThat(first(run("java", "answer + 2"), "result").path("text").asText()).isEqualTo("42");
        assertThat(text(run("java", "System.out.println(\"from java\");"), "stdout")).isEqualTo("from java\n");
        assertThat(first(run("java", "System.getenv(\"BOXWOOD_GLOBAL\")"), "result").path("text").asText())
                .isEqualTo("everywhere");
        JsonNode error = first(run("java", "Integer.parseInt(\"x\")"), "error");
        assertThat(error.path("name").asText()).isEqualTo("java.lang.NumberFormatException");
        assertThat(first(run("java", "undefinedThing + 1"), "error").path("name").asText()).isEqualTo("CompilationError");
    }
}
