package dev.boxwood.sdk.code;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.sdk.ConnectionConfig;
import dev.boxwood.sdk.NotFoundException;
import dev.boxwood.sdk.SandboxException;
import dev.boxwood.sdk.TimeoutException;
import dev.boxwood.sdk.transport.Http;
import dev.boxwood.sdk.transport.Json;
import dev.boxwood.sdk.transport.UrlEncoding;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * Client of the in-sandbox code interpreter (port 49999): runs code in Jupyter-style kernels and manages their
 * contexts. {@code Sandbox} exposes it as {@code runCode} and the {@code *CodeContext} methods.
 */
public final class CodeInterpreter {
    /** How long a closed interpreter port is waited for (see {@link #open}). */
    static final Duration PORT_OPEN_GRACE = Duration.ofSeconds(20);

    private final String baseUrl;
    private final String sandboxId;
    private final String accessToken;
    private final String trafficAccessToken;
    private final Duration requestTimeout;
    private final BooleanSupplier sandboxRunning;

    /**
     * @param baseUrl            the interpreter's base URL (see {@link ConnectionConfig#directUrl})
     * @param accessToken        the sandbox's agent access token, or null
     * @param trafficAccessToken the sandbox's traffic token, or null
     * @param sandboxRunning     tells whether the sandbox still runs, to explain a broken connection
     */
    public CodeInterpreter(String baseUrl, String sandboxId, String accessToken, String trafficAccessToken,
                           Duration requestTimeout, BooleanSupplier sandboxRunning) {
        this.sandboxRunning = sandboxRunning;
        this.baseUrl = baseUrl;
        this.sandboxId = sandboxId;
        this.accessToken = accessToken;
        this.trafficAccessToken = trafficAccessToken;
        this.requestTimeout = requestTimeout;
    }

    /** Runs code; see {@link RunCodeOptions}. Errors in the code come back in {@link Execution#error()}. */
    public Execution runCode(String code, RunCodeOptions options) {
        ObjectNode body = Json.object().put("code", code);
        if (options.context() != null) {
            body.put("context_id", options.context().id());
        }
        if (options.language() != null) {
            body.put("language", options.language());
        }
        if (!options.envs().isEmpty()) {
            body.set("env_vars", Json.fromMap(options.envs()));
        }
        HttpRequest request = request("/execute",
                options.requestTimeout() != null ? options.requestTimeout() : requestTimeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body)))
                .build();
        InputStream in = open(request).body();
        AtomicBoolean timedOut = new AtomicBoolean();
        if (!options.timeout().isZero()) {
            // Closing the body drops the connection, which is how the interpreter learns to interrupt the kernel.
            CompletableFuture.delayedExecutor(options.timeout().toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
                timedOut.set(true);
                close(in);
            });
        }
        ExecutionBuilder execution = new ExecutionBuilder(options);
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.isBlank()) {
                    continue;
                }
                if (!execution.accept(Json.parse(line.getBytes(StandardCharsets.UTF_8)))) {
                    return execution.build();
                }
            }
        } catch (IOException | SandboxException e) {
            if (timedOut.get()) {
                throw new TimeoutException("the execution did not finish within " + options.timeout());
            }
            if (e instanceof SandboxException se) {
                throw se;
            }
            if (!stillRunning()) {
                throw new TimeoutException("the sandbox was killed or timed out while the code ran", 0,
                        "unavailable", e);
            }
            throw new SandboxException("the interpreter's stream broke: " + e.getMessage(), e);
        } finally {
            close(in);
        }
        if (timedOut.get()) {
            throw new TimeoutException("the execution did not finish within " + options.timeout());
        }
        // A stream that ends without end_of_execution still carries whatever arrived.
        return execution.build();
    }

    /** Creates a context for {@code language} (null = python) with working directory {@code cwd} (null = home). */
    public CodeContext createContext(String language, String cwd) {
        ObjectNode body = Json.object();
        if (language != null) {
            body.put("language", language);
        }
        if (cwd != null) {
            body.put("cwd", cwd);
        }
        JsonNode n = send(request("/contexts", requestTimeout).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body))).build());
        return context(n);
    }

    /** Every context, oldest first (the default python and javascript contexts included). */
    public List<CodeContext> listContexts() {
        List<CodeContext> out = new ArrayList<>();
        send(request("/contexts", requestTimeout).GET().build()).forEach(n -> out.add(context(n)));
        return out;
    }

    /** Removes a context and stops its kernel. */
    public void removeContext(String contextId) {
        send(request("/contexts/" + UrlEncoding.encodeUriComponent(contextId), requestTimeout).DELETE().build());
    }

    /** Restarts a context's kernel: its state is lost. */
    public void restartContext(String contextId) {
        send(request("/contexts/" + UrlEncoding.encodeUriComponent(contextId) + "/restart", requestTimeout)
                .POST(HttpRequest.BodyPublishers.noBody()).build());
    }

    private JsonNode send(HttpRequest request) {
        byte[] body;
        try (InputStream in = open(request).body()) {
            body = in.readAllBytes();
        } catch (IOException e) {
            throw new SandboxException("reading the interpreter's answer failed: " + e.getMessage(), e);
        }
        JsonNode n = Json.parseOrNull(body);
        return n == null ? Json.MAPPER.missingNode() : n;
    }

    /**
     * Sends a request and returns a 2xx response. A proxy answer "the sandbox is running but port is not open" is
     * retried for a short while: the interpreter starts alongside the sandbox and may open its port just after
     * the sandbox is reported ready, and a request that reached no port is safe to send again.
     */
    private HttpResponse<InputStream> open(HttpRequest request) {
        long deadline = System.nanoTime() + PORT_OPEN_GRACE.toNanos();
        while (true) {
            HttpResponse<InputStream> response = Http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            int status = response.statusCode();
            if (status >= 200 && status < 300) {
                return response;
            }
            byte[] body = Http.drain(response.body());
            boolean portClosed = status == 502
                    && new String(body, StandardCharsets.UTF_8).contains("port is not open");
            if (!portClosed || System.nanoTime() > deadline) {
                throw error(status, body);
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw error(status, body);
            }
        }
    }

    private HttpRequest.Builder request(String path, Duration timeout) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .header("User-Agent", Http.USER_AGENT)
                .header("E2b-Sandbox-Id", sandboxId)
                .header("E2b-Sandbox-Port", Integer.toString(ConnectionConfig.CODE_INTERPRETER_PORT));
        if (accessToken != null) {
            b.header("X-Access-Token", accessToken);
        }
        if (trafficAccessToken != null) {
            b.header("E2B-Traffic-Access-Token", trafficAccessToken);
        }
        return Http.timeout(b, timeout);
    }

    private boolean stillRunning() {
        try {
            return sandboxRunning.getAsBoolean();
        } catch (RuntimeException e) {
            return true; // cannot tell: report the original failure
        }
    }

    private static CodeContext context(JsonNode n) {
        return new CodeContext(Json.text(n, "id"), Json.text(n, "language"), Json.text(n, "cwd"));
    }

    private static SandboxException error(int status, byte[] body) {
        String text = new String(body, StandardCharsets.UTF_8).strip();
        JsonNode json = Json.parseOrNull(body);
        if (json != null && json.hasNonNull("message")) {
            text = json.get("message").asText();
        }
        return switch (status) {
            case 502 -> new TimeoutException("the sandbox is not running or timed out: " + text, status, null, null);
            case 404 -> new NotFoundException(text, status, null, null);
            case 400 -> new dev.boxwood.sdk.InvalidArgumentException(text, status, null, null);
            case 401, 403 -> new dev.boxwood.sdk.AuthenticationException(text, status, null, null);
            default -> new SandboxException(status + ": " + text, status, null, null);
        };
    }

    private static void close(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // The connection is being abandoned either way.
        }
    }

    /** Accumulates an execution from the NDJSON items, invoking the callbacks as items arrive. */
    private static final class ExecutionBuilder {
        private final RunCodeOptions options;
        private final List<Result> results = new ArrayList<>();
        private final List<String> stdout = new ArrayList<>();
        private final List<String> stderr = new ArrayList<>();
        private ExecutionError error;
        private Integer executionCount;

        ExecutionBuilder(RunCodeOptions options) {
            this.options = options;
        }

        /** Takes one item; false once the execution has ended. */
        boolean accept(JsonNode item) {
            switch (item.path("type").asText()) {
                case "stdout" -> {
                    String text = item.path("text").asText();
                    stdout.add(text);
                    if (options.onStdout() != null) {
                        options.onStdout().accept(text);
                    }
                }
                case "stderr" -> {
                    String text = item.path("text").asText();
                    stderr.add(text);
                    if (options.onStderr() != null) {
                        options.onStderr().accept(text);
                    }
                }
                case "result" -> {
                    Result result = Result.fromJson(item);
                    results.add(result);
                    if (options.onResult() != null) {
                        options.onResult().accept(result);
                    }
                }
                case "error" -> {
                    JsonNode tb = item.get("traceback");
                    String traceback = tb == null || tb.isNull() ? ""
                            : tb.isArray() ? String.join("\n", textList(tb)) : tb.asText();
                    error = new ExecutionError(Json.text(item, "name"), Json.text(item, "value"), traceback);
                    if (options.onError() != null) {
                        options.onError().accept(error);
                    }
                }
                case "number_of_executions" -> executionCount = item.path("execution_count").asInt();
                case "end_of_execution" -> {
                    return false;
                }
                default -> { }
            }
            return true;
        }

        Execution build() {
            return new Execution(results, new Logs(stdout, stderr), error, executionCount);
        }

        private static List<String> textList(JsonNode array) {
            List<String> out = new ArrayList<>();
            array.forEach(n -> out.add(n.asText()));
            return out;
        }
    }
}
