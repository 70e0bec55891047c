package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.store.SandboxRow;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pause, resume, connect, auto-pause and auto-resume of real crun sandboxes (cgroup freezer) through the API.
 * {@link RuncPauseResumeTest} runs the same under runc, where a pause is a CRIU checkpoint: each asserts its own kind
 * of pause in {@link #assertPausedKind}.
 */
class PauseResumeTest extends RealServerTest {
    static final String COUNTER = "i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.1; done";
    /** Starts the counter loop in the background and returns its pid inside the sandbox. */
    String startCounter(String id) {
        var r = real.runtime.exec(id, List.of("sh", "-c", "nohup sh -c '" + COUNTER + "' >/dev/null 2>&1 & echo $!"));
        assertThat(r.ok()).as(r.output()).isTrue();
        return r.output().strip();
    }

    long counter(String id) throws Exception {
        Path file = real.dataDir.resolve("sandboxes").resolve(id).resolve("disk/upper/tmp/counter");
        for (int i = 0; i < 300; i++) { // a busy machine may take a while to start the loop
            String text = Files.exists(file) ? Files.readString(file).strip() : "";
            if (!text.isEmpty()) return Long.parseLong(text);
            Thread.sleep(100);
        }
        throw new AssertionError("no counter in " + id);
    }

    /** The loop runs: its counter moves past {@code before} (within 30 s on a busy machine). */
    void awaitAdvance(String id, long before) throws Exception {
        for (int i = 0; i < 300 && counter(id) <= before; i++) Thread.sleep(100);
        assertThat(counter(id)).isGreaterThan(before);
    }

    /**
     * The pause is the runtime's own kind: under crun the cgroup freezer holds the sandbox's processes, frozen, with
     * their memory.
     */
    void assertPausedKind(String id) throws Exception {
        assertThat(Files.readString(Path.of("/sys/fs/cgroup/freezer/boxwood", id, "freezer.state")).strip())
                .isEqualTo("FROZEN");
        assertThat(real.runtime.oci.usage(id).memUsedBytes()).isPositive();
    }

    /** Pause and resume cycles through the v1 endpoints in the first test. */
    int cycles() {
        return 10;
    }

    String state(BoxwoodServer server, String key, String id) throws Exception {
        return json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200).get("state").asText();
    }

    @Test
    void pauseFreezesResumeThawsAndFilesAndProcessesSurvive() throws Exception {
        try (BoxwoodServer server = real.start(null)) {
            String key = server.teams().createKey(server.teams().ensureTeam("pause"));
            String id = create(server, key, "{\"templateID\":\"base\",\"timeout\":120,\"metadata\":{\"k\":\"v\"}}");
            String token = json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200).get("envdAccessToken").asText();
            byte[] payload = new byte[200_000];
            new java.util.Random(7).nextBytes(payload);
            String content = java.util.Base64.getEncoder().encodeToString(payload);
            assertThat(agent(server, id, "POST", "/files?path=/home/user/kept.txt", token, content).statusCode()).isEqualTo(200);
            String pid = startCounter(id);
            counter(id); // the loop has started before the freeze

            json(real.call(server, "POST", "/sandboxes/" + id + "/pause", key, "{}"), 204);
            assertThat(real.call(server, "POST", "/sandboxes/" + id + "/pause", key, null).statusCode()).isEqualTo(409);
            assertThat(state(server, key, id)).isEqualTo("paused");
            JsonNode paused = json(real.call(server, "GET", "/v2/sandboxes?state=paused", key, null), 200);
            assertThat(paused).extracting(n -> n.get("sandboxID").asText()).containsExactly(id);
            assertThat(paused.get(0).get("state").asText()).isEqualTo("paused");
            assertThat(json(real.call(server, "GET", "/v2/sandboxes?state=running", key, null), 200)).isEmpty();
            assertPausedKind(id);
            // Frozen: the loop does not advance, and the router does not hand traffic to a frozen agent.
            long frozenAt = counter(id);
            Thread.sleep(600);
            assertThat(counter(id)).isEqualTo(frozenAt);
            HttpResponse<String> routed = agent(server, id, "GET", "/health", token, null);
            assertThat(routed.statusCode()).isEqualTo(502);
            // The timeout clock stopped: the paused sandbox is kept for the retention, not its 120 s timeout.
            JsonNode detail = json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200);
            assertThat(Instant.parse(detail.get("endAt").asText())).isAfter(Instant.now().plusSeconds(3600));
            assertThat(real.call(server, "POST", "/sandboxes/" + id + "/timeout", key, "{\"timeout\":30}").statusCode())
                    .isEqualTo(409);

            // connect resumes a paused sandbox (201) and only extends a running one (200).
            json(real.call(server, "POST", "/v2/sandboxes/" + id + "/connect", key, "{\"timeout\":60}"), 201);
            json(real.call(server, "POST", "/v2/sandboxes/" + id + "/connect", key, "{\"timeout\":60}"), 200);
            assertThat(state(server, key, id)).isEqualTo("running");
            HttpResponse<String> read = agent(server, id, "GET", "/files?path=/home/user/kept.txt", token, null);
            assertThat(read.statusCode()).isEqualTo(200);
            assertThat(read.body()).isEqualTo(content);
            awaitAdvance(id, counter(id));
            assertThat(real.runtime.exec(id, List.of("kill", "-0", pid)).ok()).isTrue();

            // Cycles through the v1 resume endpoint; resuming a running sandbox is a conflict.
            assertThat(real.call(server, "POST", "/sandboxes/" + id + "/resume", key, "{}").statusCode()).isEqualTo(409);
            for (int i = 0; i < cycles(); i++) {
                json(real.call(server, "POST", "/sandboxes/" + id + "/pause", key, null), 204);
                JsonNode resumed = json(real.call(server, "POST", "/sandboxes/" + id + "/resume", key, "{\"timeout\":60}"), 201);
                assertThat(resumed.get("sandboxID").asText()).isEqualTo(id);
            }
            assertThat(agent(server, id, "GET", "/files?path=/home/user/kept.txt", token, null).body()).isEqualTo(content);
            awaitAdvance(id, counter(id));

            // Killing a paused sandbox removes everything.
            json(real.call(server, "POST", "/sandboxes/" + id + "/pause", key, null), 204);
            json(real.call(server, "DELETE", "/sandboxes/" + id, key, null), 204);
            assertThat(server.store().find(id).orElseThrow().status()).isEqualTo(SandboxRow.Status.KILLED);
            assertThat(server.sandboxes().awaitTeardowns(java.time.Duration.ofSeconds(60))).isTrue();
            assertThat(real.runtime.oci.leftovers()).doesNotContain(id);
            assertThat(real.dataDir.resolve("sandboxes").resolve(id)).doesNotExist();
            assertThat(Path.of("/sys/fs/cgroup/freezer/boxwood", id)).doesNotExist();

            // Bad input: a dead or unknown sandbox cannot be paused or resumed.
            assertThat(real.call(server, "POST", "/sandboxes/" + id + "/pause", key, null).statusCode()).isEqualTo(404);
            assertThat(real.call(server, "POST", "/sandboxes/" + id + "/resume", key, null).statusCode()).isEqualTo(404);
            assertThat(real.call(server, "POST", "/sandboxes/nosuchsandbox/resume", key, null).statusCode()).isEqualTo(404);
            assertThat(real.call(server, "POST", "/v2/sandboxes/nosuchsandbox/connect", key, "{}").statusCode()).isEqualTo(404);
        }
    }

    @Test
    void aLiveKernelsVariablesSurvivePauseAndResume() throws Exception {
        Path template = RealServer.TEMPLATES.resolve("code-interpreter-v1");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(template.resolve("rootfs")),
                "the code-interpreter-v1 template is not built");
        Files.createSymbolicLink(real.dataDir.resolve("templates/code-interpreter-v1"), template);
        try (BoxwoodServer server = real.start(null)) {
            String key = server.teams().createKey(server.teams().ensureTeam("kernel"));
            String id = create(server, key, "{\"templateID\":\"code-interpreter-v1\",\"memoryMB\":1024,\"timeout\":300}");
            String token = json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200).get("envdAccessToken").asText();
            assertThat(execute(server, id, token, "secret = 6 * 7\nsecret")).contains("42");

            json(real.call(server, "POST", "/sandboxes/" + id + "/pause", key, null), 204);
            json(real.call(server, "POST", "/v2/sandboxes/" + id + "/connect", key, "{}"), 201);
            // Same kernel process, same memory: the variable is still there.
            assertThat(execute(server, id, token, "secret + 1")).contains("43");
        }
    }

    String execute(BoxwoodServer server, String id, String token, String code) throws Exception {
        String body = JSON.writeValueAsString(java.util.Map.of("code", code));
        HttpResponse<String> r = null;
        // The interpreter's kernel starts with the sandbox; give it time on a busy machine.
        for (int i = 0; i < 120; i++) {
            r = real.call(server, "POST", "/execute", null, body, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49999",
                    "X-Access-Token", token, "Content-Type", "application/json");
            if (r.statusCode() == 200) return r.body();
            Thread.sleep(500);
        }
        throw new AssertionError("execute failed: " + r.statusCode() + " " + r.body());
    }

    @Test
    void pausedSandboxStaysPausedAcrossARestartAndResumes() throws Exception {
        String key;
        String id;
        String token;
        long frozenAt;
        try (BoxwoodServer first = real.start(null)) {
            key = first.teams().createKey(first.teams().ensureTeam("restart"));
            id = create(first, key, "{\"templateID\":\"base\"}");
            token = json(real.call(first, "GET", "/sandboxes/" + id, key, null), 200).get("envdAccessToken").asText();
            assertThat(agent(first, id, "POST", "/files?path=/home/user/a.txt", token, "across restarts").statusCode())
                    .isEqualTo(200);
            startCounter(id);
            counter(id);
            json(real.call(first, "POST", "/sandboxes/" + id + "/pause", key, null), 204);
            frozenAt = counter(id);
        }
        try (BoxwoodServer second = real.start(null)) {
            assertThat(state(second, key, id)).isEqualTo("paused");
            assertPausedKind(id);
            Thread.sleep(300);
            assertThat(counter(id)).isEqualTo(frozenAt);
            json(real.call(second, "POST", "/v2/sandboxes/" + id + "/connect", key, "{}"), 201);
            assertThat(agent(second, id, "GET", "/files?path=/home/user/a.txt", token, null).body()).isEqualTo("across restarts");
            awaitAdvance(id, frozenAt);
        }
    }

    @Test
    void autoPauseAtTimeoutThenTrafficResumes() throws Exception {
        try (BoxwoodServer server = real.start(null)) {
            String key = server.teams().createKey(server.teams().ensureTeam("auto"));
            String id = create(server, key, "{\"templateID\":\"base\",\"timeout\":2,\"autoPause\":true,"
                    + "\"autoResume\":{\"enabled\":true}}");
            String token = json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200).get("envdAccessToken").asText();
            JsonNode lifecycle = json(real.call(server, "GET", "/sandboxes/" + id, key, null), 200).get("lifecycle");
            assertThat(lifecycle.get("onTimeout").asText()).isEqualTo("pause");
            assertThat(lifecycle.get("autoResume").asBoolean()).isTrue();
            assertThat(agent(server, id, "POST", "/files?path=/home/user/b.txt", token, "auto").statusCode()).isEqualTo(200);
            Instant deadline = Instant.now().plusSeconds(60);
            while (!state(server, key, id).equals("paused") && Instant.now().isBefore(deadline)) Thread.sleep(200);
            assertThat(state(server, key, id)).isEqualTo("paused");
            assertPausedKind(id);

            // A request through the router resumes it transparently.
            HttpResponse<String> read = agent(server, id, "GET", "/files?path=/home/user/b.txt", token, null);
            assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
            assertThat(read.body()).isEqualTo("auto");
            assertThat(state(server, key, id)).isEqualTo("running");

            // A sandbox created without auto-resume stays paused to traffic; the lifecycle shape works on create.
            String other = create(server, key, "{\"templateID\":\"base\",\"timeout\":2,\"lifecycle\":{\"onTimeout\":\"pause\"}}");
            deadline = Instant.now().plusSeconds(60);
            while (!state(server, key, other).equals("paused") && Instant.now().isBefore(deadline)) Thread.sleep(200);
            assertThat(state(server, key, other)).isEqualTo("paused");
            String otherToken = json(real.call(server, "GET", "/sandboxes/" + other, key, null), 200)
                    .get("envdAccessToken").asText();
            assertThat(agent(server, other, "GET", "/health", otherToken, null).statusCode()).isEqualTo(502);
            assertThat(state(server, key, other)).isEqualTo("paused");
        }
    }

    @Test
    void pausedSandboxIsRemovedAfterTheRetention() throws Exception {
        var config = dev.boxwood.server.Config.builder().dataDir(real.dataDir).port(0)
                .metricsInterval(java.time.Duration.ofSeconds(1)).defaults(1, 256, 512)
                .pausedRetention(java.time.Duration.ofSeconds(2)).build();
        try (BoxwoodServer server = new BoxwoodServer(config, real.runtime).start()) {
            String key = server.teams().createKey(server.teams().ensureTeam("retention"));
            String id = create(server, key, "{\"templateID\":\"base\",\"timeout\":300}");
            json(real.call(server, "POST", "/sandboxes/" + id + "/pause", key, null), 204);
            Instant deadline = Instant.now().plusSeconds(60);
            while (server.store().find(id).orElseThrow().status() == SandboxRow.Status.PAUSED
                    && Instant.now().isBefore(deadline)) {
                Thread.sleep(200);
            }
            assertThat(server.store().find(id).orElseThrow().status()).isEqualTo(SandboxRow.Status.EXPIRED);
            // The host traces go in the background teardown that follows.
            assertThat(server.sandboxes().awaitTeardowns(java.time.Duration.ofSeconds(60))).isTrue();
            assertThat(real.runtime.oci.leftovers()).doesNotContain(id);
        }
    }
}
