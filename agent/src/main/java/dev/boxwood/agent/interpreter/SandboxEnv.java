package dev.boxwood.agent.interpreter;

import com.fasterxml.jackson.core.type.TypeReference;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;

/**
 * Reads the sandbox-wide env vars from the agent's own {@code GET /envs}, passing on the caller's
 * {@code X-Access-Token} as E2B's interpreter does: the interpreter needs no other link to the agent's state, and a
 * caller without the token learns nothing through it. The last good answer is kept for when the agent is unreachable.
 */
public final class SandboxEnv implements Function<String, Map<String, String>> {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final URI envs;
    private volatile Map<String, String> last = Map.of();

    public SandboxEnv(int agentPort) {
        this.envs = URI.create("http://127.0.0.1:" + agentPort + "/envs");
    }

    @Override
    public Map<String, String> apply(String accessToken) {
        HttpRequest.Builder request = HttpRequest.newBuilder(envs).timeout(Duration.ofSeconds(5)).GET();
        if (accessToken != null && !accessToken.isEmpty()) request.header("X-Access-Token", accessToken);
        try {
            HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() == 200) {
                last = Map.copyOf(OutputItem.JSON.readValue(response.body(), new TypeReference<Map<String, String>>() {}));
            }
        } catch (java.io.IOException e) {
            // keep the last known values
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return last;
    }
}
