package dev.boxwood.agent.interpreter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The interpreter against real ipykernel processes on the host (needs Debian's python3-ipykernel,
 * python3-matplotlib and python3-pandas), over real HTTP.
 */
class InterpreterServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> SANDBOX_ENV = new ConcurrentHashMap<>();
    private static InterpreterServer server;
    private static HttpClient http;
    private static String base;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(InterpreterServer.available(), "python3-ipykernel is not installed");
        SANDBOX_ENV.put("BOXWOOD_GLOBAL", "everywhere");
        server = TestServers.start(tmp, token -> Map.copyOf(SANDBOX_ENV));
        server.interpreter().startDefaultContexts();
        http = HttpClient.newHttpClient();
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) server.close();
    }

    private static HttpResponse<String> send(String method, String path, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/json");
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body));
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static List<JsonNode> run(Map<String, Object> request) throws Exception {
        HttpResponse<String> response = send("POST", "/execute", JSON.writeValueAsString(request));
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        List<JsonNode> lines = new ArrayList<>();
        for (String line : response.body().split("\n")) {
            if (!line.isBlank()) lines.add(JSON.readTree(line));
        }
        assertThat(lines).isNotEmpty();
        assertThat(lines.getLast().path("type").asText()).isEqualTo("end_of_execution");
        return lines;
    }

    private static List<JsonNode> run(String code) throws Exception {
        return run(Map.of("code", code));
    }

    private static List<JsonNode> ofType(List<JsonNode> lines, String type) {
        return lines.stream().filter(l -> l.path("type").asText().equals(type)).toList();
    }

    private static String stdout(List<JsonNode> lines) {
        return ofType(lines, "stdout").stream().map(l -> l.path("text").asText()).collect(Collectors.joining());
    }

    private static JsonNode mainResult(List<JsonNode> lines) {
        return ofType(lines, "result").stream().filter(l -> l.path("is_main_result").asBoolean()).findFirst()
                .orElseThrow(() -> new AssertionError("no main result in " + lines));
    }

    @Test
    void healthAnswersOk() throws Exception {
        HttpResponse<String> response = send("GET", "/health", null);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(response.body()).asText()).isEqualTo("OK");
    }

    @Test
    void expressionGivesMainResultAndExecutionCount() throws Exception {
        List<JsonNode> lines = run("1+1");
        JsonNode result = mainResult(lines);
        assertThat(result.path("text").asText()).isEqualTo("2");
        assertThat(ofType(lines, "number_of_executions")).hasSize(1);
        assertThat(ofType(lines, "number_of_executions").getFirst().path("execution_count").asInt()).isPositive();
        assertThat(ofType(lines, "error")).isEmpty();
    }

    @Test
    void stringResultLosesItsQuotes() throws Exception {
        assertThat(mainResult(run("'hello'")).path("text").asText()).isEqualTo("hello");
    }

    @Test
    void stdoutAndStderrAreStreamedSeparately() throws Exception {
        List<JsonNode> lines = run("import sys\nprint('out line')\nprint('err line', file=sys.stderr)");
        assertThat(stdout(lines)).isEqualTo("out line\n");
        assertThat(ofType(lines, "stderr").stream().map(l -> l.path("text").asText()).collect(Collectors.joining()))
                .isEqualTo("err line\n");
        assertThat(ofType(lines, "stdout").getFirst().path("timestamp").asText()).isNotEmpty();
    }

    @Test
    void errorCarriesNameValueAndTraceback() throws Exception {
        List<JsonNode> lines = run("def f():\n    raise ValueError('bad value')\nf()");
        List<JsonNode> errors = ofType(lines, "error");
        assertThat(errors).hasSize(1);
        assertThat(errors.getFirst().path("name").asText()).isEqualTo("ValueError");
        assertThat(errors.getFirst().path("value").asText()).isEqualTo("bad value");
        assertThat(errors.getFirst().path("traceback").asText()).contains("raise ValueError").contains("f()");
    }

    @Test
    void stateSurvivesBetweenExecutions() throws Exception {
        run("persisted_value = 41");
        assertThat(mainResult(run("persisted_value + 1")).path("text").asText()).isEqualTo("42");
    }

    @Test
    void contextsAreIndependentListedAndRemovable() throws Exception {
        HttpResponse<String> created = send("POST", "/contexts", "{\"language\":\"Python \"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
        JsonNode context = JSON.readTree(created.body());
        String id = context.path("id").asText();
        assertThat(context.path("language").asText()).isEqualTo("python");
        assertThat(context.path("cwd").asText()).isEqualTo(tmp.resolve("home").toString());

        run("only_in_default = 1");
        List<JsonNode> inOther = run(Map.of("code", "only_in_default", "context_id", id));
        assertThat(ofType(inOther, "error").getFirst().path("name").asText()).isEqualTo("NameError");
        assertThat(stdout(run(Map.of("code", "import os; print(os.getcwd())", "context_id", id))).strip())
                .isEqualTo(tmp.resolve("home").toString());

        JsonNode list = JSON.readTree(send("GET", "/contexts", null).body());
        assertThat(list.get(list.size() - 1).path("id").asText()).isEqualTo(id);
        assertThat(list.findValuesAsText("language")).contains("python");

        assertThat(send("DELETE", "/contexts/" + id, null).statusCode()).isEqualTo(200);
        HttpResponse<String> gone = send("POST", "/execute",
                JSON.writeValueAsString(Map.of("code", "1", "context_id", id)));
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(gone.body()).isEqualTo("Context " + id + " not found");
        assertThat(send("DELETE", "/contexts/" + id, null).statusCode()).isEqualTo(404);
    }

    @Test
    void contextWithOwnCwd() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("elsewhere"));
        JsonNode context = JSON.readTree(send("POST", "/contexts",
                JSON.writeValueAsString(Map.of("language", "python", "cwd", dir.toString()))).body());
        assertThat(context.path("cwd").asText()).isEqualTo(dir.toString());
        String id = context.path("id").asText();
        assertThat(stdout(run(Map.of("code", "import os; print(os.getcwd())", "context_id", id))).strip())
                .isEqualTo(dir.toString());
        send("DELETE", "/contexts/" + id, null);
    }

    @Test
    void restartClearsState() throws Exception {
        String id = JSON.readTree(send("POST", "/contexts", "{}").body()).path("id").asText();
        run(Map.of("code", "x = 1", "context_id", id));
        assertThat(send("POST", "/contexts/" + id + "/restart", null).statusCode()).isEqualTo(200);
        List<JsonNode> after = run(Map.of("code", "x", "context_id", id));
        JsonNode error = ofType(after, "error").getFirst();
        assertThat(error.path("name").asText()).isEqualTo("NameError");
        assertThat(error.path("value").asText()).isEqualTo("name 'x' is not defined");
        assertThat(send("POST", "/contexts/nope/restart", null).statusCode()).isEqualTo(404);
        send("DELETE", "/contexts/" + id, null);
    }

    @Test
    void badRequestsGetClearErrors() throws Exception {
        HttpResponse<String> both = send("POST", "/execute", "{\"code\":\"1\",\"context_id\":\"a\",\"language\":\"python\"}");
        assertThat(both.statusCode()).isEqualTo(400);
        assertThat(both.body()).contains("context_id").contains("language");
        HttpResponse<String> unknown = send("POST", "/execute", "{\"code\":\"1\",\"language\":\"cobol\"}");
        assertThat(unknown.statusCode()).isEqualTo(400);
        assertThat(unknown.body()).contains("cobol").contains("python");
        assertThat(send("POST", "/execute", "{\"code\":\"   \"}").statusCode()).isEqualTo(400);
        assertThat(send("POST", "/execute", "{\"language\":\"python\"}").statusCode()).isEqualTo(400);
        assertThat(send("POST", "/execute", "{not json").statusCode()).isEqualTo(400);
        assertThat(send("POST", "/contexts", "{\"language\":\"cobol\"}").statusCode()).isEqualTo(400);
        assertThat(send("GET", "/nowhere", null).statusCode()).isEqualTo(404);
    }

    @Test
    void languageAliasesReachTheDefaultContext() throws Exception {
        run(Map.of("code", "alias_check = 7", "language", "python"));
        assertThat(mainResult(run(Map.of("code", "alias_check", "language", " PYTHON "))).path("text").asText())
                .isEqualTo("7");
    }

    @Test
    void envVarsApplyForOneExecutionThenGo() throws Exception {
        String id = JSON.readTree(send("POST", "/contexts", "{}").body()).path("id").asText();
        List<JsonNode> with = run(Map.of("code", "import os; print(os.environ.get('PER_CALL'), os.environ.get('BOXWOOD_GLOBAL'))",
                "context_id", id, "env_vars", Map.of("PER_CALL", "it's \"here\"", "BOXWOOD_GLOBAL", "overridden")));
        assertThat(stdout(with).strip()).isEqualTo("it's \"here\" overridden");
        List<JsonNode> after = run(Map.of("code", "import os; print(os.environ.get('PER_CALL'), os.environ.get('BOXWOOD_GLOBAL'))",
                "context_id", id));
        assertThat(stdout(after).strip()).isEqualTo("None everywhere");
        send("DELETE", "/contexts/" + id, null);
    }

    @Test
    void matplotlibBarChartGivesPngAndChartData() throws Exception {
        List<JsonNode> lines = run("""
                import matplotlib.pyplot as plt
                plt.figure(figsize=(6, 4))
                plt.bar(['Author A', 'Author B', 'Author C'], [100, 200, 300], label='Books Sold')
                plt.xlabel('Authors')
                plt.ylabel('Sales (units)')
                plt.title('Book Sales')
                plt.show()
                """);
        JsonNode result = ofType(lines, "result").getFirst();
        assertThat(result.path("is_main_result").asBoolean()).isFalse();
        byte[] png = Base64.getDecoder().decode(result.path("png").asText());
        assertThat(png).startsWith(0x89, 'P', 'N', 'G');
        JsonNode chart = result.path("chart");
        assertThat(chart.path("type").asText()).isEqualTo("bar");
        assertThat(chart.path("title").asText()).isEqualTo("Book Sales");
        assertThat(chart.path("x_label").asText()).isEqualTo("Authors");
        assertThat(chart.path("y_label").asText()).isEqualTo("Sales (units)");
        assertThat(chart.path("y_unit").asText()).isEqualTo("units");
        assertThat(chart.has("x_unit")).isTrue();
        assertThat(chart.path("x_unit").isNull()).isTrue();
        assertThat(chart.path("elements").findValuesAsText("label")).containsExactly("Author A", "Author B", "Author C");
        assertThat(chart.path("elements").findValues("value")).extracting(JsonNode::asDouble).containsExactly(100.0, 200.0, 300.0);
        assertThat(chart.path("elements").findValuesAsText("group")).containsOnly("Books Sold");
    }

    @Test
    void otherChartKinds() throws Exception {
        JsonNode pie = ofType(run("""
                import matplotlib.pyplot as plt
                fig, ax = plt.subplots()
                ax.pie([90, 10], labels=['No', 'Yes'], startangle=90)
                plt.title('Pie')
                plt.show()
                """), "result").getFirst().path("chart");
        assertThat(pie.path("type").asText()).isEqualTo("pie");
        assertThat(pie.path("elements").findValuesAsText("label")).containsExactly("No", "Yes");
        assertThat(pie.path("elements").findValues("angle")).extracting(JsonNode::asDouble).containsExactly(324.0, 36.0);

        JsonNode box = ofType(run("""
                import matplotlib.pyplot as plt
                data = {'Class A': [85, 90, 78, 92, 88], 'Class B': [95, 89, 76, 91, 84, 87], 'Class C': [75, 82, 88, 79, 86]}
                fig, ax = plt.subplots()
                ax.boxplot(data.values(), labels=data.keys(), patch_artist=True)
                ax.set_xlabel('Class'); ax.set_ylabel('Score')
                plt.show()
                """), "result").getFirst().path("chart");
        assertThat(box.path("type").asText()).isEqualTo("box_and_whisker");
        assertThat(box.path("elements").findValuesAsText("label")).containsExactly("Class A", "Class B", "Class C");
        assertThat(box.path("elements").findValues("first_quartile")).extracting(JsonNode::asDouble).containsExactly(85.0, 84.75, 79.0);
        assertThat(box.path("elements").findValues("min")).extracting(JsonNode::asDouble).containsExactly(78.0, 84.0, 75.0);
        assertThat(box.path("elements").get(1).path("outliers").get(0).asDouble()).isEqualTo(76.0);

        JsonNode lines = ofType(run("""
                import matplotlib.pyplot as plt, numpy as np
                x = np.linspace(0, 1, 10)
                fig, axs = plt.subplots(1, 2)
                fig.suptitle('Two')
                axs[0].plot(x, x * 2, label='double')
                axs[1].scatter(x, x, label='same')
                plt.show()
                """), "result").getFirst().path("chart");
        assertThat(lines.path("type").asText()).isEqualTo("superchart");
        assertThat(lines.path("title").asText()).isEqualTo("Two");
        assertThat(lines.path("elements").get(0).path("type").asText()).isEqualTo("line");
        assertThat(lines.path("elements").get(0).path("elements").get(0).path("points")).hasSize(10);
        assertThat(lines.path("elements").get(1).path("type").asText()).isEqualTo("scatter");
        assertThat(lines.path("elements").get(1).path("elements").get(0).path("label").asText()).isEqualTo("same");
    }

    @Test
    void dataFrameGivesHtmlAndData() throws Exception {
        JsonNode result = mainResult(run("import pandas as pd\npd.DataFrame({'a': [1, 2, 3], 'b': ['x', 'y', None]})"));
        assertThat(result.path("html").asText()).contains("<table");
        assertThat(result.path("data").path("a")).extracting(JsonNode::asInt).containsExactly(1, 2, 3);
        assertThat(result.path("data").path("b").get(2).isNull()).isTrue();
    }

    @Test
    void clientDisconnectInterruptsAndNextExecutionWorks() throws Exception {
        String id = JSON.readTree(send("POST", "/contexts", "{}").body()).path("id").asText();
        byte[] body = JSON.writeValueAsBytes(Map.of("code", "import time\nprint('started', flush=True)\ntime.sleep(300)",
                "context_id", id));
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /execute HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null && !line.contains("started")) { /* read until the code runs */ }
            assertThat(line).contains("started");
        } // the client goes away mid-execution
        List<JsonNode> next = run(Map.of("code", "'still alive'", "context_id", id));
        assertThat(mainResult(next).path("text").asText()).isEqualTo("still alive");
        send("DELETE", "/contexts/" + id, null);
    }

    @Test
    void serverSideTimeoutInterrupts() throws Exception {
        String id = JSON.readTree(send("POST", "/contexts", "{}").body()).path("id").asText();
        List<JsonNode> lines = run(Map.of("code", "import time\ntime.sleep(300)", "context_id", id, "timeout_ms", 1500));
        assertThat(ofType(lines, "error").getFirst().path("name").asText()).isEqualTo("KeyboardInterrupt");
        assertThat(mainResult(run(Map.of("code", "3*3", "context_id", id))).path("text").asText()).isEqualTo("9");
        send("DELETE", "/contexts/" + id, null);
    }

    @Test
    void outputFloodIsBounded() throws Exception {
        String id = JSON.readTree(send("POST", "/contexts", "{}").body()).path("id").asText();
        // 50 MB of output against a 1 MiB per-execution limit.
        List<JsonNode> lines = run(Map.of("code", "for _ in range(50_000):\n    print('x' * 999)", "context_id", id));
        long forwarded = ofType(lines, "stdout").stream().mapToLong(l -> l.path("text").asText().length()).sum();
        assertThat(forwarded).isLessThanOrEqualTo(1 << 20);
        assertThat(ofType(lines, "stderr").stream().map(l -> l.path("text").asText()).collect(Collectors.joining()))
                .contains("output limit reached");
        assertThat(mainResult(run(Map.of("code", "'after flood'", "context_id", id))).path("text").asText())
                .isEqualTo("after flood");
        send("DELETE", "/contexts/" + id, null);
    }

    @Test
    void oversizedMessageIsDroppedWithoutHangingTheContext() throws Exception {
        String id = JSON.readTree(send("POST", "/contexts", "{}").body()).path("id").asText();
        // One 20 MB stream message: over the agent's per-message limit, so ZeroMQ drops it (and the connection).
        List<JsonNode> lines = run(Map.of("code", "import sys\nsys.stdout.write('x' * 20_000_000)\nsys.stdout.flush()",
                "context_id", id));
        assertThat(ofType(lines, "stdout").stream().mapToLong(l -> l.path("text").asText().length()).sum())
                .isLessThanOrEqualTo(1 << 20);
        assertThat(mainResult(run(Map.of("code", "'fine'", "context_id", id))).path("text").asText()).isEqualTo("fine");
        // A 20 MB display_data cannot be split: ZeroMQ drops it with the connection, and the context recovers.
        List<JsonNode> huge = run(Map.of("code",
                "from IPython.display import display\ndisplay({'text/plain': 'y' * 20_000_000}, raw=True)",
                "context_id", id));
        assertThat(ofType(huge, "result")).isEmpty();
        assertThat(mainResult(run(Map.of("code", "'still fine'", "context_id", id))).path("text").asText())
                .isEqualTo("still fine");
        send("DELETE", "/contexts/" + id, null);
    }

    @Test
    void deadKernelIsReportedAndReplaced() throws Exception {
        String id = JSON.readTree(send("POST", "/contexts", "{}").body()).path("id").asText();
        run(Map.of("code", "doomed = 1", "context_id", id));
        List<JsonNode> lines = run(Map.of("code", "import os\nos._exit(3)", "context_id", id));
        JsonNode error = ofType(lines, "error").getFirst();
        assertThat(error.path("name").asText()).isEqualTo("KernelDied");
        assertThat(error.path("value").asText()).contains("restarted");
        List<JsonNode> after = run(Map.of("code", "doomed", "context_id", id));
        assertThat(ofType(after, "error").getFirst().path("name").asText()).isEqualTo("NameError");
        assertThat(mainResult(run(Map.of("code", "2+2", "context_id", id))).path("text").asText()).isEqualTo("4");
        send("DELETE", "/contexts/" + id, null);
    }
}
