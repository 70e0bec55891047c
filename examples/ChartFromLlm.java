import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.sdk.Sandbox;
import dev.boxwood.sdk.code.Execution;
import dev.boxwood.sdk.code.Result;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Boxwood's take on E2B's flagship example: ask a language model for Python that draws a chart, run the code in a
 * sandbox's code interpreter, and save the PNG it produced.
 *
 * <p>Environment:
 * <ul>
 *   <li>{@code OPENAI_API_KEY}: the key of any OpenAI-compatible chat-completions service (required);</li>
 *   <li>{@code OPENAI_BASE_URL}: its base URL, default {@code https://api.openai.com/v1};</li>
 *   <li>{@code OPENAI_MODEL}: the model, default {@code gpt-4o};</li>
 *   <li>{@code BOXWOOD_TEMPLATE}: the sandbox template, default {@code code-interpreter-v1};</li>
 *   <li>the {@code E2B_*} variables {@code boxwood serve} prints.</li>
 * </ul>
 * The first argument is the directory to save charts in (default: the current directory).
 */
public class ChartFromLlm {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SYSTEM_PROMPT = "You are a data analyst. Write Python code to answer questions. "
            + "Only output executable code, no explanations.";
    private static final String USER_PROMPT =
            "Generate a bar chart of the top 5 programming languages by popularity in 2025.";

    public static void main(String[] args) throws Exception {
        Path outDir = Path.of(args.length > 0 ? args[0] : ".");
        String code = askForCode(USER_PROMPT);
        System.out.println("Code from the model:\n" + code);

        String template = System.getenv().getOrDefault("BOXWOOD_TEMPLATE", "code-interpreter-v1");
        try (Sandbox sandbox = Sandbox.builder().template(template).timeout(Duration.ofMinutes(5)).create()) {
            Execution execution = sandbox.runCode(code);
            System.out.println("Output: " + execution.text());
            execution.logs().stdout().forEach(System.out::print);
            if (execution.error() != null) {
                System.out.println("Error: " + execution.error().name() + ": " + execution.error().value());
                System.exit(1);
            }
            int saved = 0;
            for (Result result : execution.results()) {
                System.out.println("Generated: " + result.formats());
                if (result.png() != null) {
                    Path file = outDir.resolve("chart-" + (++saved) + ".png");
                    Files.write(file, result.pngBytes());
                    System.out.println("Saved " + file);
                }
            }
            if (saved == 0) {
                System.out.println("The code produced no image");
                System.exit(1);
            }
        }
    }

    /** One chat-completions call; returns the code in the answer, without Markdown fences. */
    static String askForCode(String question) throws Exception {
        String key = System.getenv("OPENAI_API_KEY");
        if (key == null || key.isBlank()) {
            throw new IllegalStateException("set OPENAI_API_KEY (and OPENAI_BASE_URL for another provider)");
        }
        String baseUrl = System.getenv().getOrDefault("OPENAI_BASE_URL", "https://api.openai.com/v1")
                .replaceAll("/+$", "");
        ObjectNode body = JSON.createObjectNode().put("model", System.getenv().getOrDefault("OPENAI_MODEL", "gpt-4o"));
        body.putArray("messages")
                .add(JSON.createObjectNode().put("role", "system").put("content", SYSTEM_PROMPT))
                .add(JSON.createObjectNode().put("role", "user").put("content", question));
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/chat/completions"))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofMinutes(2))
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                .build();
        HttpResponse<String> response;
        try (HttpClient http = HttpClient.newHttpClient()) {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        }
        if (response.statusCode() != 200) {
            throw new IllegalStateException("chat completion failed: HTTP " + response.statusCode() + " " + response.body());
        }
        JsonNode answer = JSON.readTree(response.body()).path("choices").path(0).path("message").path("content");
        return stripFences(answer.asText());
    }

    /** Models often wrap code in ```python fences despite being told not to. */
    static String stripFences(String text) {
        Matcher m = Pattern.compile("```[a-zA-Z0-9]*\\s*\\n(.*?)```", Pattern.DOTALL).matcher(text);
        return m.find() ? m.group(1) : text.strip();
    }
}
