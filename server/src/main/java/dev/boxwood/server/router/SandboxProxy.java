package dev.boxwood.server.router;

import dev.boxwood.server.api.HttpJson;
import dev.boxwood.server.sandbox.LiveSandbox;
import dev.boxwood.server.sandbox.SandboxManager;
import java.net.ConnectException;
import java.net.URI;
import java.util.Optional;
import org.eclipse.jetty.client.Connection;
import org.eclipse.jetty.client.Destination;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.proxy.ProxyHandler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * Sandbox traffic: streams requests and responses between the client and a port inside the sandbox, both ways,
 * unbuffered and with back-pressure (Jetty's proxy). Requests that are not for a sandbox fall through to the next
 * handler, the control-plane API.
 */
public final class SandboxProxy extends ProxyHandler {
    private static final String TARGET = SandboxProxy.class.getName() + ".target";
    private static final String ROUTE = SandboxProxy.class.getName() + ".route";
    public static final String TRAFFIC_TOKEN_HEADER = "E2B-Traffic-Access-Token";

    private final SandboxRouter router;
    private final SandboxManager sandboxes;
    private final IngressSlots slots;

    /**
     * @param maxPerSandbox most requests and tunnels in flight to one sandbox at once; beyond it, 429
     */
    public SandboxProxy(SandboxRouter router, SandboxManager sandboxes, int maxPerSandbox) {
        this.router = router;
        this.sandboxes = sandboxes;
        this.slots = new IngressSlots(maxPerSandbox);
        sandboxes.beforePause(this::dropIdleConnections);
    }

    /**
     * Closes this proxy's idle keep-alive connections to a sandbox about to be paused. A CRIU checkpoint dumps and
     * restores established TCP connections, but one nobody uses is better gone than carried through a restore (and
     * a long pause); the next request opens a new one. Connections carrying a request (a stream) stay.
     */
    void dropIdleConnections(LiveSandbox sandbox) {
        HttpClient client = getHttpClient();
        if (client == null) return;
        String host = sandbox.running().address().getHostAddress();
        for (Destination d : client.getDestinations()) {
            if (!host.equals(d.getOrigin().getAddress().getHost())) continue;
            // Taking an idle connection without creating one, then closing it, removes it from the pool.
            for (int i = 0; i < client.getMaxConnectionsPerDestination(); i++) {
                Connection idle = d.getConnectionPool().acquire(false);
                if (idle == null) break;
                idle.close();
            }
        }
    }

    public SandboxProxy(SandboxRouter router, SandboxManager sandboxes) {
        this(router, sandboxes, IngressConfig.DEFAULT_MAX_PROXIED_PER_SANDBOX);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        Fields query = Request.extractQueryParameters(request);
        var in = new SandboxRouter.Incoming(request.getMethod(), Request.getServerName(request),
                request.getHttpURI().getPath(), request.getHeaders().get(SandboxRouter.ID_HEADER),
                request.getHeaders().get(SandboxRouter.PORT_HEADER), query::getValue);
        Route route = router.route(in);
        switch (route) {
            case Route.ControlPlane c -> {
                return false;
            }
            case Route.Invalid invalid -> {
                HttpJson.error(response, callback, invalid.status(), invalid.message());
                return true;
            }
            case Route.Sandbox target -> {
                Optional<LiveSandbox> sandbox = sandboxes.route(target.sandboxId());
                if (sandbox.isEmpty()) {
                    HttpJson.sandboxError(response, callback, target.sandboxId(), null, "The sandbox was not found");
                    return true;
                }
                // The agent's port is exempt, as at E2B: it checks its own access token.
                String trafficToken = sandbox.get().row().trafficToken();
                if (trafficToken != null && target.port() != dev.boxwood.protocol.Ports.AGENT
                        && !constantTimeEquals(trafficToken, request.getHeaders().get(TRAFFIC_TOKEN_HEADER))) {
                    String sent = request.getHeaders().get(TRAFFIC_TOKEN_HEADER);
                    proxyError(response, callback, 403, target, sent == null
                            ? "This sandbox's ports are private: send its traffic access token in the "
                                    + TRAFFIC_TOKEN_HEADER + " header"
                            : "The traffic access token is not valid for this sandbox");
                    return true;
                }
                if (!slots.tryAcquire(target.sandboxId())) {
                    proxyError(response, callback, 429, target, "Too many concurrent connections to this sandbox");
                    return true;
                }
                Runnable release = once(() -> slots.release(target.sandboxId()));
                URI base = sandbox.get().running().uri(target.port());
                if (UpgradeTunnel.wanted(request)) {
                    Thread.ofVirtual().name("boxwood-upgrade").start(() -> {
                        if (UpgradeTunnel.relay(request, response, callback, base, release) == UpgradeTunnel.Result.REFUSED) {
                            boolean stillLive = sandboxes.route(target.sandboxId()).isPresent();
                            HttpJson.sandboxError(response, callback, target.sandboxId(),
                                    stillLive ? target.port() : null,
                                    stillLive ? "The sandbox is running but port is not open" : "The sandbox was not found");
                        }
                    });
                    return true;
                }
                HttpURI uri = HttpURI.build(request.getHttpURI()).scheme(base.getScheme()).host(base.getHost())
                        .port(base.getPort()).asImmutable();
                request.setAttribute(TARGET, uri);
                request.setAttribute(ROUTE, target);
                try {
                    return super.handle(request, response, releasing(callback, release));
                } catch (RuntimeException | Error e) {
                    release.run();
                    throw e;
                }
            }
        }
    }

    /** E2B's proxy error shape, {@code {"sandboxId","message","port","code"}}, with another status. */
    private static void proxyError(Response response, Callback callback, int status, Route.Sandbox target, String message) {
        java.util.Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("sandboxId", target.sandboxId());
        body.put("message", message);
        body.put("port", target.port());
        body.put("code", status);
        HttpJson.write(response, callback, status, body);
    }

    private static boolean constantTimeEquals(String expected, String sent) {
        return sent != null && java.security.MessageDigest.isEqual(
                expected.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                sent.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static Runnable once(Runnable r) {
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (done.compareAndSet(false, true)) r.run();
        };
    }

    private static Callback releasing(Callback callback, Runnable release) {
        return new Callback() {
            @Override
            public void succeeded() {
                release.run();
                callback.succeeded();
            }

            @Override
            public void failed(Throwable x) {
                release.run();
                callback.failed(x);
            }

            @Override
            public InvocationType getInvocationType() {
                return callback.getInvocationType();
            }
        };
    }

    @Override
    protected HttpURI rewriteHttpURI(Request request) {
        return (HttpURI) request.getAttribute(TARGET);
    }

    @Override
    protected HttpClient newHttpClient() {
        HttpClient client = new HttpClient();
        // Streams (process output, watchers) stay open for minutes; the agent sends keepalives every 50 s.
        client.setIdleTimeout(640_000);
        client.setConnectTimeout(10_000);
        client.setMaxConnectionsPerDestination(2048);
        client.setMaxRequestsQueuedPerDestination(4096);
        return client;
    }

    @Override
    protected void onServerToProxyResponseFailure(Request clientToProxyRequest,
                                                  org.eclipse.jetty.client.Request proxyToServerRequest,
                                                  org.eclipse.jetty.client.Response serverToProxyResponse,
                                                  Response proxyToClientResponse, Callback proxyToClientCallback,
                                                  Throwable failure) {
        if (!proxyToClientResponse.isCommitted() && refused(failure)
                && clientToProxyRequest.getAttribute(ROUTE) instanceof Route.Sandbox target) {
            boolean stillLive = sandboxes.route(target.sandboxId()).isPresent();
            HttpJson.sandboxError(proxyToClientResponse, proxyToClientCallback, target.sandboxId(),
                    stillLive ? target.port() : null,
                    stillLive ? "The sandbox is running but port is not open" : "The sandbox was not found");
            return;
        }
        super.onServerToProxyResponseFailure(clientToProxyRequest, proxyToServerRequest, serverToProxyResponse,
                proxyToClientResponse, proxyToClientCallback, failure);
    }

    private static boolean refused(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ConnectException) return true;
            if (c instanceof java.net.NoRouteToHostException) return true;
        }
        return false;
    }
}
