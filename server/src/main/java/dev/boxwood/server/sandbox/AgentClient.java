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

    /** Commands run by {@link #warmUp}: the first of anything in a JVM runs interpreted and triggers compiles. */
    static final int WARM_UP_COMMANDS = 3;

    /**
     * Runs {@code bash -l -c echo} as the default user through the agent's process API, {@link #WARM_UP_COMMANDS}
     * times, each request shaped as the E2B SDK's {@code commands.run} sends it (stdin closed, a Connect deadline, a
     * keepalive interval, output on stdout). A pooled sandbox does this before its claim, so that the client's first
     * command does not pay for the first of everything: one run loads the agent's code paths and the shell's files,
     * but the next still spends about as much again in the agent's JIT compiler and in code not yet compiled (measured:
     * agent CPU ~50 ms for the second command, ~20 ms from the third on). Throws when the agent cannot run it.
     */
    public void warmUp(RunningSandbox sandbox, String accessToken) {
        byte[] message = "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-l\",\"-c\",\"echo\"]},\"stdin\":false}"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer envelope = java.nio.ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length)
                .put(message);
        HttpRequest request = HttpRequest.newBuilder(URI.create(sandbox.agentUri() + "/process.Process/Start"))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/connect+json")
                .header("Connect-Protocol-Version", "1")
                .header("Connect-Timeout-Ms", "60000")
                .header("Keepalive-Ping-Interval", "50")
                .header("X-Access-Token", accessToken)
                .POST(HttpRequest.BodyPublishers.ofByteArray(envelope.array()))
                .build();
        try {
            for (int i = 0; i < WARM_UP_COMMANDS; i++) {
                HttpResponse<String> response;
                try {
                    response = http.send(request, HttpResponse.BodyHandlers.ofString());
                } catch (IOException e) {
                    // the first command proves the agent works; the others only warm it (a loaded machine may time out)
                    if (i > 0) return;
                    throw e;
                }
                // the stream's end event of a command that ran and exited 0 says so (a failure is an error in the stream)
                if (response.statusCode() != 200 || !response.body().contains("\"status\":\"exit status 0\"")) {
                    throw new SandboxError(SandboxError.Kind.FAILED, "the sandbox agent could not run a command (HTTP "
                            + response.statusCode() + ")");
                }
            }
        } catch (IOException e) {
            throw new SandboxError(SandboxError.Kind.FAILED, "cannot reach the sandbox agent: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxError(SandboxError.Kind.FAILED, "interrupted while warming up the sandbox", e);
        }
    }

    /**
     * Where the template has a code interpreter, runs {@code 1+1} in its default context {@link #WARM_UP_COMMANDS}
     * times as Jupyter's silent execute (no history, no execution count, no {@code _}): the agent's execute path and
     * the kernel's first execute (IPython compiles its machinery on the first cell) are paid before the claim, and the
     * client's first cell is still execution 1 of a fresh kernel. No interpreter (connection refused): nothing to do.
     * Only a warm-up: a cell that fails or times out does not fail the sandbox (its readiness was checked before).
     */
    public void warmUpInterpreter(RunningSandbox sandbox, String accessToken) {
        HttpRequest request = HttpRequest.newBuilder(sandbox.uri(dev.boxwood.protocol.Ports.INTERPRETER).resolve("/execute"))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .header("X-Access-Token", accessToken)
                .POST(HttpRequest.BodyPublishers.ofString("{\"code\":\"1+1\",\"silent\":true}"))
                .build();
        try {
            for (int i = 0; i < WARM_UP_COMMANDS; i++) {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200 || !response.body().contains("\"end_of_execution\"")
                        || response.body().contains("\"type\":\"error\"")) {
                    return;
                }
            }
        } catch (IOException e) {
            // refused: no code interpreter in this template; otherwise the claim's first cell pays what is left
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxError(SandboxError.Kind.FAILED, "interrupted while warming up the code interpreter", e);
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
