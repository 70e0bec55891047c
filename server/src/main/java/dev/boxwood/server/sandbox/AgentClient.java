package dev.boxwood.server.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.runtime.RunningSandbox;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** The host's side of the agent's one-time {@code POST /init}, which hands a booted sandbox its user settings. */
public final class AgentClient {
    public static final String INIT_TOKEN_HEADER = "X-Boxwood-Init-Token";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    /**
     * Runs {@code bash -l -c true} as the default user through the agent's process API, the way the E2B SDK runs a
     * command, and waits for it to end. A pooled sandbox does this before its claim, so that the client's first command
     * does not pay for the first of everything (the agent's code paths, the shell and its login files read from disk).
     * Throws when the agent cannot run it.
     */
    public void warmUp(RunningSandbox sandbox, String accessToken) {
        byte[] message = "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-l\",\"-c\",\"true\"]}}"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer envelope = java.nio.ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length)
                .put(message);
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(sandbox.agentUri() + "/process.Process/Start"))
                    .timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/connect+json")
                    .header("X-Access-Token", accessToken)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(envelope.array()))
                    .build();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            // the stream's end event of a command that ran and exited 0 says so (a failure is an error in the stream)
            if (response.statusCode() != 200 || !response.body().contains("\"status\":\"exit status 0\"")) {
                throw new SandboxError(SandboxError.Kind.FAILED, "the sandbox agent could not run a command (HTTP "
                        + response.statusCode() + ")");
            }
        } catch (IOException e) {
            throw new SandboxError(SandboxError.Kind.FAILED, "cannot reach the sandbox agent: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxError(SandboxError.Kind.FAILED, "interrupted while warming up the sandbox", e);
        }
    }

    public void init(RunningSandbox sandbox, String accessToken, Map<String, String> envVars) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("accessToken", accessToken);
        body.put("envVars", envVars == null ? Map.of() : envVars);
        body.put("defaultUser", "user");
        body.put("defaultWorkdir", "/home/user");
        body.put("timestamp", java.time.Instant.now().toString());
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(sandbox.agentUri() + "/init"))
                    .timeout(Duration.ofSeconds(15))
                    .header("Content-Type", "application/json")
                    .header(INIT_TOKEN_HEADER, sandbox.initToken())
                    .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                    .build();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw new SandboxError(SandboxError.Kind.FAILED, "the sandbox agent refused initialisation (HTTP "
                        + response.statusCode() + ")");
            }
        } catch (IOException e) {
            throw new SandboxError(SandboxError.Kind.FAILED, "cannot reach the sandbox agent to initialise it: "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxError(SandboxError.Kind.FAILED, "interrupted while initialising the sandbox", e);
        }
    }
}
