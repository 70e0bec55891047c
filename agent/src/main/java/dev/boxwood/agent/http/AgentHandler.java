package dev.boxwood.agent.http;

import dev.boxwood.agent.Settings;
import dev.boxwood.protocol.Json;
import dev.boxwood.protocol.envd.InitRequest;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's front door: CORS, {@code /health}, {@code /init}, the access-token check, then the routes. Every
 * failure becomes an error response; nothing escapes to kill the connection without an answer.
 */
public final class AgentHandler extends Handler.Abstract {
    private static final Logger LOG = LoggerFactory.getLogger(AgentHandler.class);
    static final String UNAUTHORIZED =
            "unauthorized access, please provide a valid access token or method signing if supported";
    private static final int INIT_LIMIT = 1 << 20;

    /** A handler for one path (or path prefix) behind the token check. */
    public interface Route {
        void handle(Request request, Response response, Callback callback) throws Exception;
    }

    private final Settings settings;
    private final String initToken;
    private final Map<String, Route> exact;
    private final Map<String, Route> prefixed;
    /** Handles {@code /files}; it checks the token or a URL signature itself. */
    private final Route files;

    public AgentHandler(Settings settings, String initToken, Map<String, Route> exact, Map<String, Route> prefixed,
                        Route files) {
        this.settings = settings;
        this.initToken = initToken;
        this.exact = Map.copyOf(exact);
        this.prefixed = Map.copyOf(prefixed);
        this.files = files;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        try {
            dispatch(request, response, callback);
        } catch (Bodies.TooLarge e) {
            Replies.error(response, callback, 413, e.getMessage());
        } catch (Throwable t) {
            LOG.warn("{} {} failed", request.getMethod(), request.getHttpURI().getPath(), t);
            if (!response.isCommitted()) {
                try {
                    Replies.error(response, callback, 500, "internal error: " + t);
                    return true;
                } catch (Throwable ignored) {
                    // fall through and fail the exchange
                }
            }
            callback.failed(t);
        }
        return true;
    }

    private void dispatch(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        cors(request, response);
        if (method.equals("OPTIONS")) {
            Replies.empty(response, callback, 204);
            return;
        }
        if (path.equals("/health")) {
            if (method.equals("GET") || method.equals("HEAD")) Replies.empty(response, callback, 204);
            else Replies.error(response, callback, 405, "method not allowed");
            return;
        }
        if (path.equals("/init")) {
            init(request, response, callback);
            return;
        }
        if (path.equals("/files")) {
            files.handle(request, response, callback);
            return;
        }
        if (!authorized(request)) {
            Bodies.discard(request);
            Replies.error(response, callback, 401, UNAUTHORIZED);
            return;
        }
        Route route = exact.get(path);
        if (route == null) {
            int slash = path.indexOf('/', 1);
            if (slash > 0) route = prefixed.get(path.substring(0, slash + 1));
        }
        if (route == null) {
            Bodies.discard(request);
            Replies.error(response, callback, 404, "path '" + path + "' not found");
            return;
        }
        route.handle(request, response, callback);
    }

    /** True when no token is set yet or the request carries the right one. */
    public boolean authorized(Request request) {
        String token = settings.accessToken();
        if (token == null) return true;
        return constantTimeEquals(token, request.getHeaders().get("X-Access-Token"));
    }

    private void init(Request request, Response response, Callback callback) throws Exception {
        if (!request.getMethod().equals("POST")) {
            Replies.error(response, callback, 405, "method not allowed");
            return;
        }
        if (initToken != null && !constantTimeEquals(initToken, request.getHeaders().get("X-Boxwood-Init-Token"))) {
            Bodies.discard(request);
            Replies.error(response, callback, 401, "invalid init token");
            return;
        }
        byte[] body = Bodies.read(request, INIT_LIMIT);
        InitRequest init;
        try {
            init = body.length == 0 ? new InitRequest(null, null, null, null)
                    : Json.mapper().readValue(body, InitRequest.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            Replies.error(response, callback, 400, "malformed init body: " + e.getOriginalMessage());
            return;
        }
        if (init == null) init = new InitRequest(null, null, null, null);
        settings.apply(init);
        Replies.empty(response, callback, 204);
    }

    private static void cors(Request request, Response response) {
        var h = response.getHeaders();
        h.put(HttpHeader.ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        h.put(HttpHeader.ACCESS_CONTROL_EXPOSE_HEADERS,
                "Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin, Connect-Protocol-Version, Location, "
                        + "Cache-Control, X-Content-Type-Options, Content-Encoding, Content-Length");
        if (request.getMethod().equals("OPTIONS")) {
            h.put(HttpHeader.ACCESS_CONTROL_ALLOW_METHODS, "HEAD, GET, POST, PUT, PATCH, DELETE");
            String asked = request.getHeaders().get(HttpHeader.ACCESS_CONTROL_REQUEST_HEADERS);
            h.put(HttpHeader.ACCESS_CONTROL_ALLOW_HEADERS, asked == null ? "*" : asked);
            h.put(HttpHeader.ACCESS_CONTROL_MAX_AGE, "7200");
        }
    }

    public static boolean constantTimeEquals(String expected, String given) {
        if (given == null) return false;
        return MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
    }
}
