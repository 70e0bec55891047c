package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.runtime.ForwardingRuntime;
import dev.boxwood.server.runtime.RunningSandbox;
import dev.boxwood.server.runtime.SandboxRuntime;
import dev.boxwood.server.runtime.SandboxSpec;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Warm pools over real crun sandboxes: what a claim hands out, who sees pooled sandboxes, refill, fallbacks, teardown. */
class WarmPoolTest extends RealServerTest {
    GatedRuntime gated;

    @BeforeEach
    void setUp() throws Exception {
        gated = new GatedRuntime(real.runtime);
        // A second name for the base template, to ask for a template that has no pool.
        Files.createSymbolicLink(real.dataDir.resolve("templates/other"), RealServer.TEMPLATES.resolve("base"));
    }

    BoxwoodServer start(Map<String, Integer> pools) {
        return start(pools, Config.defaults().maxConcurrentBoots());
    }

    BoxwoodServer start(Map<String, Integer> pools, int maxConcurrentBoots) {
        return start(pools, maxConcurrentBoots, 256);
    }

    BoxwoodServer start(Map<String, Integer> pools, int maxConcurrentBoots, int memoryMB) {
        Config config = Config.builder().dataDir(real.dataDir).port(0).metricsInterval(Duration.ofSeconds(1))
                .defaults(1, memoryMB, 512).pools(pools).maxConcurrentBoots(maxConcurrentBoots).build();
        return new BoxwoodServer(config, gated).start();
    }

    /** Runs {@code sh -c script} as the default user through the router and the agent's Connect RPC; its stdout. */
    String run(BoxwoodServer server, String id, String token, String script) throws Exception {
        byte[] message = JSON.writeValueAsBytes(Map.of("process", Map.of("cmd", "/bin/sh", "args", List.of("-c", script))));
        ByteBuffer envelope = ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length).put(message);
        HttpRequest request = HttpRequest.newBuilder(server.uri().resolve("/process.Process/Start"))
                .timeout(Duration.ofSeconds(60))
                .header("E2b-Sandbox-Id", id).header("E2b-Sandbox-Port", "49983").header("X-Access-Token", token)
                .header("Content-Type", "application/connect+json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(envelope.array())).build();
        HttpResponse<byte[]> response = real.http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        assertThat(response.statusCode()).isEqualTo(200);
        ByteBuffer in = ByteBuffer.wrap(response.body());
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        while (in.remaining() >= 5) {
            in.get();
            byte[] frame = new byte[in.getInt()];
            in.get(frame);
            JsonNode data = JSON.readTree(frame).path("event").path("data");
            if (data.has("stdout")) stdout.writeBytes(Base64.getDecoder().decode(data.get("stdout").asText()));
        }
        return stdout.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aClaimedSandboxIsPersonalisedUnlistedUntilClaimedAndThePoolRefills() throws Exception {
        try (BoxwoodServer server = start(Map.of("base", 1))) {
            String key = server.teams().createKey(server.teams().ensureTeam("a"));
            await("the pool to fill", () -> server.pools().available().get("base") == 1);
            String pooled = server.pools().pooledIds().getFirst();
            assertThat(cpuShares(pooled)).as("a waiting pooled sandbox yields the cores to running ones").isEqualTo(256);
            assertThat(Files.readString(CPU.resolve(pooled).resolve("cgroup.procs")).strip())
                    .as("its processes run in the cgroup of that weight").isNotEmpty();
            assertThat(json(real.call(server, "GET", "/v2/sandboxes", key, null), 200)).isEmpty();
            assertThat(real.call(server, "GET", "/sandboxes/" + pooled, key, null).statusCode()).isEqualTo(404);
            assertThat(real.call(server, "GET", "/health", null, null, "E2b-Sandbox-Id", pooled, "E2b-Sandbox-Port", "49983")
                    .statusCode()).as("a pooled sandbox is not routable").isNotEqualTo(204);

            String id = create(server, key, "{\"templateID\":\"base\",\"timeout\":120,\"envVars\":{\"GREETING\":\"from-claim\"},"
                    + "\"metadata\":{\"owner\":\"pool-test\"}}");
            assertThat(id).isEqualTo(pooled);
            assertThat(cpuShares(id)).as("claimed: the weight of a cold-booted sandbox").isEqualTo(1024);
            JsonNode info = json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200);
            assertThat(info.get("metadata").get("owner").asText()).isEqualTo("pool-test");
            Instant started = Instant.parse(info.get("startedAt").asText());
            Instant end = Instant.parse(info.get("endAt").asText());
            assertThat(Duration.between(started, end)).isEqualTo(Duration.ofSeconds(120));
            String token = info.get("envdAccessToken").asText();

            // The request's env vars reach commands; the hostname is the sandbox's id; the home dir is untouched.
            String out = run(server, id, token, "echo \"$GREETING\"; hostname; ls -A /home/user | grep -v '^\\.' | wc -l");
            assertThat(out.lines().toList()).containsExactly("from-claim", id, "0");
            assertThat(real.call(server, "GET", "/envs", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983",
                    "X-Access-Token", "wrong").statusCode()).isEqualTo(401);
            assertThat(real.call(server, "GET", "/envs", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983")
                    .statusCode()).isEqualTo(401);
            assertThat(json(real.call(server, "GET", "/v2/sandboxes", key, null), 200)).hasSize(1);

            await("the pool to refill", () -> server.pools().available().get("base") == 1);
            assertThat(server.pools().pooledIds()).doesNotContain(id);
            assertThat(cpuShares(server.pools().pooledIds().getFirst())).isEqualTo(256);
            assertThat(cpuShares(id)).isEqualTo(1024);
            assertThat(json(real.call(server, "GET", "/v2/sandboxes", key, null), 200)).hasSize(1);
        }
    }

    static final java.nio.file.Path CPU = java.nio.file.Path.of("/sys/fs/cgroup/cpu/boxwood");

    static int cpuShares(String id) throws java.io.IOException {
        return Integer.parseInt(Files.readString(CPU.resolve(id).resolve("cpu.shares")).strip());
    }

    @Test
    void concurrentClaimsGetDifferentSandboxesAndMismatchesOrAnEmptyPoolBootCold() throws Exception {
        try (BoxwoodServer server = start(Map.of("base", 2))) {
            String key = server.teams().createKey(server.teams().ensureTeam("a"));
            await("the pool to fill", () -> server.pools().available().get("base") == 2);
            Set<String> pooled = new HashSet<>(server.pools().pooledIds());
            gated.closeGate(); // refills now wait, so the pool stays empty after the two claims
            try {
                claimTwiceThenBootCold(server, key, pooled);
            } finally {
                gated.openGate();
            }
            await("the pool to refill", () -> server.pools().available().get("base") == 2);
            assertThat(json(real.call(server, "GET", "/v2/sandboxes", key, null), 200)).hasSize(5);
        }
    }

    private void claimTwiceThenBootCold(BoxwoodServer server, String key, Set<String> pooled) throws Exception {
        {

            List<Future<String>> claims = new ArrayList<>();
            try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 2; i++) {
                    claims.add(threads.submit((Callable<String>) () -> create(server, key, "{\"templateID\":\"base\"}")));
                }
            }
            Set<String> claimed = new HashSet<>();
            for (Future<String> f : claims) claimed.add(f.get());
            assertThat(claimed).as("two claims, two different pooled sandboxes").isEqualTo(pooled);
            assertThat(server.pools().available().get("base")).isZero();
            // Claimed without env vars, so without an /init at claim time: each holds its own token and only that.
            List<String> ids = List.copyOf(claimed);
            List<String> tokens = new ArrayList<>();
            for (String id : ids) {
                tokens.add(json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200).get("envdAccessToken").asText());
            }
            assertThat(tokens.get(0)).startsWith("bxa_").isNotEqualTo(tokens.get(1));
            for (int i = 0; i < 2; i++) {
                assertThat(run(server, ids.get(i), tokens.get(i), "echo ok")).isEqualTo("ok\n");
                assertThat(real.call(server, "GET", "/envs", null, null, "E2b-Sandbox-Id", ids.get(i), "E2b-Sandbox-Port",
                        "49983", "X-Access-Token", tokens.get(1 - i)).statusCode()).isEqualTo(401);
                assertThat(real.call(server, "GET", "/envs", null, null, "E2b-Sandbox-Id", ids.get(i), "E2b-Sandbox-Port",
                        "49983").statusCode()).isEqualTo(401);
            }

            String cold = create(server, key, "{\"templateID\":\"base\"}");
            String otherMemory = create(server, key, "{\"templateID\":\"base\",\"memoryMB\":300}");
            String otherTemplate = create(server, key, "{\"templateID\":\"other\"}");
            assertThat(List.of(cold, otherMemory, otherTemplate)).doesNotContainAnyElementsOf(pooled)
                    .doesNotContainAnyElementsOf(gated.poolBoots);
            assertThat(json(real.call(server, "GET", "/sandboxes/" + otherMemory, key, null), 200).get("memoryMB").asInt())
                    .isEqualTo(300);
        }
    }

    @Test
    void sixConcurrentCreatesWithABoundOfTwoAllSucceedAndTheRuntimeNeverBootsMoreThanTwoAtOnce() throws Exception {
        try (BoxwoodServer server = start(Map.of(), 2)) {
            String key = server.teams().createKey(server.teams().ensureTeam("burst"));
            List<Future<HttpResponse<String>>> creates = new ArrayList<>();
            try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 6; i++) {
                    creates.add(threads.submit((Callable<HttpResponse<String>>) () ->
                            real.call(server, "POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"timeout\":120}")));
                }
            }
            Set<String> ids = new HashSet<>();
            for (Future<HttpResponse<String>> f : creates) ids.add(json(f.get(), 201).get("sandboxID").asText());
            assertThat(ids).hasSize(6);
            assertThat(gated.starts.get()).isEqualTo(6);
            assertThat(gated.peakStarts.get()).as("runtime boots in flight at once").isBetween(1, 2);
            assertThat(server.sandboxes().boots().peak()).isBetween(1, 2);
            assertThat(server.sandboxes().boots().waiting()).isZero();
            assertThat(json(real.call(server, "GET", "/v2/sandboxes", key, null), 200)).hasSize(6);
        }
    }

    /**
     * A pooled code-interpreter sandbox enters the pool only once its default kernels answer, so the first execute
     * right after the claim runs at once (no retries here, unlike tests of cold sandboxes).
     */
    @Test
    void aClaimedCodeInterpreterSandboxRunsCodeThroughTheInterpreterRightAfterTheClaim() throws Exception {
        java.nio.file.Path template = RealServer.TEMPLATES.resolve("code-interpreter-v1");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(template.resolve("rootfs")),
                "the code-interpreter-v1 template is not built");
        Files.createSymbolicLink(real.dataDir.resolve("templates/code-interpreter-v1"), template);
        try (BoxwoodServer server = start(Map.of("code-interpreter-v1", 1), 2, 1024)) {
            String key = server.teams().createKey(server.teams().ensureTeam("kernels"));
            await("the pool to fill", () -> server.pools().available().get("code-interpreter-v1") == 1);
            String pooled = server.pools().pooledIds().getFirst();
            // Straight to the pooled sandbox (it is not routable yet): its kernels are up already, no waiting (0 ms).
            java.net.URI interpreter = real.runtime.reattach(pooled).orElseThrow().uri(dev.boxwood.protocol.Ports.INTERPRETER);
            assertThat(real.http.send(java.net.http.HttpRequest.newBuilder(interpreter.resolve("/health?kernels=0")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            String id = create(server, key, "{\"templateID\":\"code-interpreter-v1\",\"timeout\":120,"
                    + "\"envVars\":{\"GREETING\":\"from-claim\"}}");
            assertThat(id).isEqualTo(pooled);
            String token = json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200).get("envdAccessToken").asText();
            String body = JSON.writeValueAsString(Map.of("code", "import os\nstr(6 * 7) + os.environ['GREETING']"));
            HttpResponse<String> r = real.call(server, "POST", "/execute", null, body, "E2b-Sandbox-Id", id,
                    "E2b-Sandbox-Port", "49999", "X-Access-Token", token, "Content-Type", "application/json");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).contains("42from-claim").doesNotContain("\"type\":\"error\"");
        }
    }

    /**
     * A claim with env vars still hands them over with {@code /init}; a pooled sandbox whose agent does not answer it
     * (here: stopped) is dropped and the create boots cold.
     */
    @Test
    void aPooledSandboxThatCannotBeInitialisedIsDestroyedAndTheCreateBootsCold() throws Exception {
        try (BoxwoodServer server = start(Map.of("base", 1))) {
            String key = server.teams().createKey(server.teams().ensureTeam("a"));
            await("the pool to fill", () -> server.pools().available().get("base") == 1);
            String pooled = server.pools().pooledIds().getFirst();
            gated.closeGate(); // no refill meanwhile: the create must boot cold
            try {
                long tini = real.runtime.reattach(pooled).orElseThrow().pid();
                for (ProcessHandle agent : ProcessHandle.of(tini).orElseThrow().children().toList()) {
                    assertThat(new ProcessBuilder("kill", "-STOP", Long.toString(agent.pid())).start().waitFor()).isZero();
                }
                String id = create(server, key, "{\"templateID\":\"base\",\"timeout\":120,\"envVars\":{\"A\":\"b\"}}");
                assertThat(id).isNotEqualTo(pooled);
                assertThat(real.runtime.reattach(pooled)).as("the stuck pooled sandbox is destroyed").isEmpty();
                assertThat(run(server, id, json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200)
                        .get("envdAccessToken").asText(), "echo up")).isEqualTo("up\n");
            } finally {
                gated.openGate();
            }
        }
    }

    /** Claims no longer talk to the sandbox: an idle pooled agent that stops answering is found, destroyed and replaced. */
    @Test
    void aPooledAgentThatStopsAnsweringWhileItWaitsIsReplaced() throws Exception {
        try (BoxwoodServer server = start(Map.of("base", 1))) {
            String key = server.teams().createKey(server.teams().ensureTeam("a"));
            await("the pool to fill", () -> server.pools().available().get("base") == 1);
            String stuck = server.pools().pooledIds().getFirst();
            long tini = real.runtime.reattach(stuck).orElseThrow().pid();
            for (ProcessHandle agent : ProcessHandle.of(tini).orElseThrow().children().toList()) {
                assertThat(new ProcessBuilder("kill", "-STOP", Long.toString(agent.pid())).start().waitFor()).isZero();
            }
            await("the stuck sandbox to leave the pool", () -> !server.pools().pooledIds().contains(stuck));
            await("the stuck sandbox to be destroyed", () -> real.runtime.reattach(stuck).isEmpty());
            await("the pool to refill", () -> server.pools().available().get("base") == 1);
            String id = create(server, key, "{\"templateID\":\"base\",\"timeout\":120}");
            assertThat(id).isNotEqualTo(stuck);
            assertThat(run(server, id, json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200)
                    .get("envdAccessToken").asText(), "echo up")).isEqualTo("up\n");
        }
    }

    @Test
    void shutdownDestroysThePoolAndARestartDestroysAnUnclaimedSandboxAnEarlierProcessLeft() throws Exception {
        String pooled;
        try (BoxwoodServer server = start(Map.of("base", 1))) {
            await("the pool to fill", () -> server.pools().available().get("base") == 1);
            pooled = server.pools().pooledIds().getFirst();
            assertThat(real.runtime.reattach(pooled)).isPresent();
        }
        assertThat(real.runtime.reattach(pooled)).isEmpty();
        assertThat(real.dataDir.resolve("sandboxes").resolve(pooled)).doesNotExist();

        // A server that died with a pool left booted, unrecorded sandboxes: the next one removes them at start.
        String orphan = dev.boxwood.server.sandbox.SandboxManager.newSandboxId();
        real.runtime.start(new SandboxSpec(orphan, "base", 1, 256, 512));
        assertThat(real.runtime.reattach(orphan)).isPresent();
        try (BoxwoodServer server = start(Map.of())) {
            assertThat(real.runtime.reattach(orphan)).isEmpty();
            assertThat(real.dataDir.resolve("sandboxes").resolve(orphan)).doesNotExist();
            assertThat(server.pools().pooledIds()).isEmpty();
        }
    }

    /** The test's real runtime, where boots of the pool's refill threads can be held back to keep a pool empty. */
    static final class GatedRuntime extends ForwardingRuntime {
        final Set<String> poolBoots = java.util.concurrent.ConcurrentHashMap.newKeySet();
        volatile CountDownLatch gate = new CountDownLatch(0);
        final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger peakStarts = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger starts = new java.util.concurrent.atomic.AtomicInteger();

        GatedRuntime(SandboxRuntime inner) {
            super(inner);
        }

        void closeGate() {
            gate = new CountDownLatch(1);
        }

        void openGate() {
            gate.countDown();
        }

        @Override
        public RunningSandbox start(SandboxSpec spec) {
            if (Thread.currentThread().getName().startsWith("boxwood-pool-")) {
                poolBoots.add(spec.sandboxId());
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            peakStarts.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                RunningSandbox running = inner.start(spec);
                starts.incrementAndGet();
                return running;
            } finally {
                inFlight.decrementAndGet();
            }
        }
    }
}
