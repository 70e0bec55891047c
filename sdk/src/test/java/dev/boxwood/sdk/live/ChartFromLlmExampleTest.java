package dev.boxwood.sdk.live;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@code examples/ChartFromLlm.java} as a real program (the JDK's source launcher) against the live server
 * and a local stand-in for the LLM that speaks OpenAI's chat-completions protocol (there is no internet here).
 */
@Tag("sandbox")
class ChartFromLlmExampleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHART_CODE = """
            import matplotlib.pyplot as plt
            languages = ['Python', 'JavaScript', 'Java', 'C++', 'Go']
            popularity = [30, 25, 15, 12, 8]
            plt.bar(languages, popularity)
            plt.title('Top 5 programming languages in 2025')
            plt.show()
            """;

    @Test
    void asksTheModelRunsItsCodeAndSavesThePng(@TempDir Path out) throws Exception {
        LiveServer live = LiveServer.get();
        assumeTrue(LiveServer.templateBuilt(CodeInterpreterTest.TEMPLATE), "code-interpreter template not built");

        List<JsonNode> requests = new CopyOnWriteArrayList<>();
        List<String> authorizations = new CopyOnWriteArrayList<>();
        HttpServer llm = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        llm.createContext("/v1/chat/completions", exchange -> {
            authorizations.add(exchange.getRequestHeaders().getFirst("Authorization"));
            JsonNode request = JSON.readTree(exchange.getRequestBody());
            requests.add(request);
            respond(exchange, completion(request.path("model").asText(), "```python\n" + CHART_CODE + "```"));
        });
        llm.start();
        try {
            ExampleProgram.Outcome run = ExampleProgram.run("ChartFromLlm.java", live.config(), Map.of(
                    "OPENAI_API_KEY", "sk-test-key",
                    "OPENAI_BASE_URL", "http://127.0.0.1:" + llm.getAddress().getPort() + "/v1",
                    "OPENAI_MODEL", "gpt-4o"), out.toString());
            assertThat(run.exitCode()).as(run.output()).isZero();
            String output = run.output();

            assertThat(authorizations).containsExactly("Bearer sk-test-key");
            JsonNode request = requests.getFirst();
            assertThat(request.path("model").asText()).isEqualTo("gpt-4o");
            assertThat(request.path("messages")).extracting(m -> m.path("role").asText()).containsExactly("system", "user");
            assertThat(request.path("messages").path(1).path("content").asText()).contains("bar chart");

            Path png = out.resolve("chart-1.png");
            assertThat(png).exists();
            assertThat(Files.readAllBytes(png)).startsWith(0x89, 'P', 'N', 'G');
            assertThat(output).contains("Saved " + png);
        } finally {
            llm.stop(0);
        }
    }

    /** A chat.completion object as OpenAI's API returns it. */
    private static ObjectNode completion(String model, String content) {
        ObjectNode c = JSON.createObjectNode().put("id", "chatcmpl-test").put("object", "chat.completion")
                .put("created", System.currentTimeMillis() / 1000).put("model", model);
        ObjectNode choice = c.putArray("choices").addObject().put("index", 0).put("finish_reason", "stop");
        choice.putObject("message").put("role", "assistant").put("content", content);
        c.putObject("usage").put("prompt_tokens", 40).put("completion_tokens", 60).put("total_tokens", 100);
        return c;
    }

    private static void respond(HttpExchange exchange, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream os = exchange.getResponseBody()) {
            os.write(bytes);
        }
    }
}
