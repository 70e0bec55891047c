package dev.boxwood.server.loopback;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.boxwood.server.runtime.ResourceUsage;
import dev.boxwood.server.runtime.RunningSandbox;
import dev.boxwood.server.runtime.RuntimeFailure;
import dev.boxwood.server.runtime.SandboxRuntime;
import dev.boxwood.server.runtime.SandboxSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link SandboxRuntime} for control-plane tests on machines without crun: each "sandbox" is a real HTTP server
 * on its own loopback address (127.99.x.y) and the agent's port, speaking the agent's {@code /health} and
 * {@code /init} contract, plus a few endpoints that let tests see what the router delivered. Isolation is not its
 * job: the tests that use it are about the API, lifecycle and routing, not the sandbox itself.
 */
public final class LoopbackRuntime implements SandboxRuntime {
    /** Starts anywhere in the 62500 addresses: test JVMs running at the same time then rarely pick the same one. */
    private static final AtomicInteger NEXT_ADDRESS =
            new AtomicInteger(java.util.concurrent.ThreadLocalRandom.current().nextInt(62_500));

    /** One fake sandbox; {@code accessToken} is what {@code /init} delivered. */
    public static final class Box {
        public final String id;
        public final SandboxSpec spec;
        final HttpServer server;
        final InetAddress address;
        final String initToken;
        public volatile String accessToken;
        public volatile Map<String, Object> initBody;
        /** Released by tests to let {@code /stream} send its second chunk. */
        public final CountDownLatch streamGate = new CountDownLatch(1);

        Box(String id, SandboxSpec spec, HttpServer server, InetAddress address, String initToken) {
            this.id = id;
            this.spec = spec;
            this.server = server;
            this.address = address;
            this.initToken = initToken;
        }

        RunningSandbox running() {
            return new RunningSandbox(id, address, ProcessHandle.current().pid(), initToken);
        }
    }

    public final Map<String, Box> boxes = new ConcurrentHashMap<>();
    public final List<String> started = new CopyOnWriteArrayList<>();
    public final List<String> destroyed = new CopyOnWriteArrayList<>();
    /** When set, {@link #start} fails with this message (after leaving traces, as a real runtime could). */
    public volatile String failStartWith;
    /** When set, every start waits here, so a test can prove that several starts run at the same time. */
    public volatile java.util.concurrent.CyclicBarrier startBarrier;

    @Override
    public RunningSandbox start(SandboxSpec spec) {
        started.add(spec.sandboxId());
        if (startBarrier != null) {
            try {
                startBarrier.await(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new RuntimeFailure("starts did not run in parallel: " + e);
            }
        }
        try {
            InetAddress address = null;
            HttpServer server = null;
            // Another test JVM may hold an address: take the next one.
            for (int attempt = 0; server == null; attempt++) {
                int n = NEXT_ADDRESS.getAndIncrement();
                address = InetAddress.getByName("127.99." + (n / 250 % 250) + "." + (n % 250 + 1));
                try {
                    server = HttpServer.create(new InetSocketAddress(address, dev.boxwood.protocol.Ports.AGENT), 64);
                } catch (java.net.BindException e) {
                    if (attempt >= 50) throw e;
                }
            }
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            Box box = new Box(spec.sandboxId(), spec, server, address, "init-" + spec.sandboxId());
            server.createContext("/", ex -> serve(box, ex));
            server.start();
            boxes.put(spec.sandboxId(), box);
            if (failStartWith != null) throw new RuntimeFailure(failStartWith);
            return box.running();
        } catch (IOException e) {
            throw new RuntimeFailure("cannot start loopback sandbox: " + e.getMessage(), e);
        }
    }

    /** Simulates a sandbox dying behind the server's back (e.g. the host rebooted). */
    public void crash(String id) {
        Box box = boxes.remove(id);
        if (box != null) box.server.stop(0);
    }

    @Override
    public void destroy(String sandboxId) {
        destroyed.add(sandboxId);
        crash(sandboxId);
    }

    @Override
    public Optional<RunningSandbox> reattach(String sandboxId) {
        return Optional.ofNullable(boxes.get(sandboxId)).map(Box::running);
    }

    @Override
    public List<String> leftovers() {
        return new ArrayList<>(boxes.keySet());
    }

    @Override
    public ResourceUsage usage(String sandboxId) {
        Box box = boxes.get(sandboxId);
        if (box == null) throw new RuntimeFailure("no such sandbox " + sandboxId);
        long cpu = ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos()).orElse(0L);
        return new ResourceUsage(cpu, box.spec.cpuCount(), 64L << 20, (long) box.spec.memoryMB() << 20, 8L << 20,
                16L << 20, (long) box.spec.diskSizeMB() << 20);
    }

    @SuppressWarnings("unchecked")
    private static void serve(Box box, HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        try (ex) {
            switch (path) {
                case "/health" -> send(ex, 204, "");
                case "/init" -> {
                    if (!box.initToken.equals(ex.getRequestHeaders().getFirst("X-Boxwood-Init-Token"))) {
                        send(ex, 401, "{\"code\":401,\"message\":\"bad init token\"}");
                        return;
                    }
                    Map<String, Object> body = new com.fasterxml.jackson.databind.ObjectMapper()
                            .readValue(ex.getRequestBody(), Map.class);
                    box.initBody = body;
                    box.accessToken = (String) body.get("accessToken");
                    send(ex, 204, "");
                }
                case "/stream" -> {
                    ex.sendResponseHeaders(200, 0);
                    OutputStream out = ex.getResponseBody();
                    out.write("first\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    try {
                        box.streamGate.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    out.write("second\n".getBytes(StandardCharsets.UTF_8));
                }
                default -> {
                    // Echo: who received what, so tests can check routing and header/body pass-through.
                    byte[] body = ex.getRequestBody().readAllBytes();
                    String token = ex.getRequestHeaders().getFirst("X-Access-Token");
                    String text = "sandbox=" + box.id + "\nmethod=" + ex.getRequestMethod() + "\npath=" + path
                            + "\nquery=" + ex.getRequestURI().getRawQuery()
                            + "\ntoken-ok=" + (token != null && token.equals(box.accessToken))
                            + "\nlang_version=" + ex.getRequestHeaders().getFirst("lang_version")
                            + "\nbody=" + new String(body, StandardCharsets.UTF_8);
                    send(ex, 200, text);
                }
            }
        }
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, status == 204 ? -1 : bytes.length);
        if (status != 204) ex.getResponseBody().write(bytes);
    }
}
