package dev.boxwood.agent.interpreter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.agent.http.ServerResources;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;

/**
 * E2B's code-interpreter HTTP API on port 49999 (protocol §4.2): {@code /health}, {@code /execute} (NDJSON
 * stream) and {@code /contexts}. Like E2B's own server it checks no token: the server in front of the sandbox
 * decides who may reach this port. One extension: {@code "silent": true} in an {@code /execute} body runs the cell as
 * Jupyter's silent execute (no history, no execution count, no result), as the warm pool's first cell does.
 */
public final class InterpreterServer implements AutoCloseable {
    public static final int PORT = 49999;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_REQUEST_BYTES = 4L << 20;

    private final Interpreter interpreter;
    private final Server server;
    private final ServerResources owned;

    /** A server with Jetty resources of its own, stopped with it (tests, benchmarks). */
    public InterpreterServer(Interpreter interpreter, String host, int port) throws Exception {
        this(interpreter, host, port, null);
    }

    /** A server on Jetty resources it shares with the agent's ({@code null}: resources of its own, stopped with it). */
    public InterpreterServer(Interpreter interpreter, String host, int port, ServerResources shared) throws Exception {
        this.interpreter = interpreter;
        this.owned = shared == null ? ServerResources.start() : null;
        this.server = (shared != null ? shared : owned).newServer();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(host);
        connector.setPort(port);
        connector.setIdleTimeout(640_000); // E2B's keep-alive: long executions stream keepalives well within it
        server.addConnector(connector);
        server.setHandler(new Routes());
    }

    /**
     * True when a Python kernel is installed here, i.e. this sandbox's template has the interpreter, unless env
     * {@code BOXWOOD_INTERPRETER=off} (for agents that must not start kernels, e.g. in other components' tests).
     */
    public static boolean available() {
        if ("off".equalsIgnoreCase(System.getenv("BOXWOOD_INTERPRETER"))) return false;
        return dev.boxwood.agent.interpreter.jupyter.KernelSpecs.discover(
                dev.boxwood.agent.interpreter.jupyter.KernelSpecs.searchPath()).containsKey("python3");
    }

    /**
     * What {@code Agent.main} calls: starts the interpreter on 0.0.0.0:49999 (env {@code BOXWOOD_INTERPRETER_PORT}
     * overrides) if a kernel is installed, pre-starting the default contexts. Returns null when there is no kernel.
     *
     * @param settings the agent's settings, which hold the sandbox-wide env vars {@code /init} set
     * @param jetty the Jetty resources the agent's own server runs on
     */
    public static InterpreterServer startIfAvailable(dev.boxwood.agent.Settings settings, ServerResources jetty) {
        if (!available()) return null;
        try {
            Interpreter interpreter = new Interpreter(InterpreterConfig.defaults(new SandboxEnv(settings)));
            String port = System.getenv("BOXWOOD_INTERPRETER_PORT");
            InterpreterServer server = new InterpreterServer(interpreter, "0.0.0.0",
                    port != null && port.matches("\\d+") ? Integer.parseInt(port) : PORT, jetty);
            server.start();
            interpreter.startDefaultContexts();
            // On SIGTERM, take the kernels along (a SIGKILLed agent's kernels notice through JPY_PARENT_PID).
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    server.close();
                } catch (Exception ignored) {
                    // exiting anyway
                }
            }, "interpreter-shutdown"));
            return server;
        } catch (Exception e) {
            System.err.println("interpreter: not started: " + e);
            return null;
        }
    }

    public void start() throws Exception {
        server.start();
    }

    public int port() {
        return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    }

    public Interpreter interpreter() {
        return interpreter;
    }

    @Override
    public void close() throws Exception {
        try {
            server.stop();
            interpreter.close();
        } finally {
            if (owned != null) owned.close();
        }
    }

    private final class Routes extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String path = Request.getPathInContext(request);
            String method = request.getMethod();
            try {
                if (path.equals("/health") && HttpMethod.GET.is(method)) {
                    // ?kernels=<ms>: Boxwood's warm pool waits (that long at most) for the default kernels to be up
                    String query = request.getHttpURI().getQuery();
                    if (query != null && query.matches("kernels=\\d{1,6}")
                            && !interpreter.awaitDefaultKernels(Long.parseLong(query.substring("kernels=".length())))) {
                        json(response, callback, 503, JSON.getNodeFactory().textNode("kernels starting"));
                    } else {
                        json(response, callback, 200, JSON.getNodeFactory().textNode("OK"));
                    }
                } else if (path.equals("/execute") && HttpMethod.POST.is(method)) {
                    execute(request, response, callback);
                } else if (path.equals("/contexts") && HttpMethod.GET.is(method)) {
                    ArrayNode list = JSON.createArrayNode();
                    interpreter.listContexts().forEach(c -> list.add(JSON.valueToTree(c)));
                    json(response, callback, 200, list);
                } else if (path.equals("/contexts") && HttpMethod.POST.is(method)) {
                    JsonNode body = body(request);
                    var context = interpreter.createContext(text(body, "language"), text(body, "cwd"));
                    json(response, callback, 200, JSON.valueToTree(context));
                } else if (path.startsWith("/contexts/") && path.endsWith("/restart") && HttpMethod.POST.is(method)) {
                    interpreter.restartContext(path.substring("/contexts/".length(), path.length() - "/restart".length()));
                    json(response, callback, 200, JSON.getNodeFactory().nullNode());
                } else if (path.startsWith("/contexts/") && HttpMethod.DELETE.is(method)) {
                    interpreter.removeContext(path.substring("/contexts/".length()));
                    json(response, callback, 200, JSON.getNodeFactory().nullNode());
                } else {
                    text(response, callback, 404, "Not found");
                }
            } catch (InterpreterException e) {
                text(response, callback, e.status(), e.getMessage());
            } catch (IOException | RuntimeException e) {
                text(response, callback, 500, String.valueOf(e.getMessage()));
            }
            return true;
        }
    }

    private void execute(Request request, Response response, Callback callback)
            throws IOException, InterpreterException {
        JsonNode body = body(request);
        Map<String, String> envVars = new LinkedHashMap<>();
        body.path("env_vars").properties().forEach(e -> envVars.put(e.getKey(), e.getValue().asText()));
        JsonNode timeout = body.get("timeout_ms");
        Interpreter.ExecuteRequest execute = new Interpreter.ExecuteRequest(
                body.hasNonNull("code") ? body.get("code").asText() : null, text(body, "context_id"),
                text(body, "language"), envVars, timeout != null && timeout.canConvertToLong() ? timeout.asLong() : null,
                request.getHeaders().get("X-Access-Token"), body.path("silent").asBoolean(false));
        CodeContext context = interpreter.resolve(execute);
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/x-ndjson");
        boolean[] failed = {false};
        boolean[] ended = {false};
        interpreter.execute(context, execute, line -> {
            byte[] bytes = (JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8);
            // end_of_execution is the last line: it goes out with the final chunk in one write, and the client has
            // its whole answer before the context's bookkeeping after a run (resetting per-execution env vars)
            boolean last = "end_of_execution".equals(line.path("type").asText());
            try (Blocker.Callback written = Blocker.callback()) {
                response.write(last, ByteBuffer.wrap(bytes), written);
                written.block();
                ended[0] |= last;
            } catch (IOException e) {
                failed[0] = true;
                throw e;
            }
        });
        if (failed[0]) callback.failed(new IOException("client disconnected"));
        else if (ended[0]) callback.succeeded();
        else response.write(true, null, callback);
    }

    private static JsonNode body(Request request) throws IOException, InterpreterException {
        // Read at most one byte past the limit: a huge body must not be buffered before it is refused.
        byte[] bytes;
        try (java.io.InputStream in = Content.Source.asInputStream(request)) {
            bytes = in.readNBytes((int) MAX_REQUEST_BYTES + 1);
        }
        if (bytes.length > MAX_REQUEST_BYTES) throw new InterpreterException(413, "Request body over 4 MiB");
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (text.isBlank()) return JSON.createObjectNode();
        try {
            JsonNode node = JSON.readTree(text);
            if (!(node instanceof ObjectNode)) throw new InterpreterException(400, "Body must be a JSON object");
            return node;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InterpreterException(400, "Malformed JSON: " + e.getOriginalMessage());
        }
    }

    private static String text(JsonNode body, String field) {
        JsonNode value = body.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static void json(Response response, Callback callback, int status, JsonNode body) throws IOException {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(JSON.writeValueAsBytes(body)), callback);
    }

    private static void text(Response response, Callback callback, int status, String message) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
        response.write(true, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)), callback);
    }
}
