package dev.boxwood.server.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.loopback.LoopbackRuntime;
import dev.boxwood.server.loopback.TestServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Create, inspect, list, extend, kill and expire sandboxes through the HTTP API. */
class LifecycleTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;
    TestServer s;
    String key;

    @BeforeEach
    void start() {
        // room for parallelCreatesRunAtTheSameTime's four boots at once, whatever the machine's CPU count
        s = new TestServer(dir, new LoopbackRuntime(), c -> c.maxConcurrentBoots(4));
        key = s.newKey("lifecycle");
    }

    @AfterEach
    void stop() {
        s.close();
    }

    JsonNode ok(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        return r.body().isEmpty() ? null : JSON.readTree(r.body());
    }

    String create(String body) throws Exception {
        return ok(s.call("POST", "/v2/sandboxes", key, body), 201).get("sandboxID").asText();
    }

    @Test
    void aTeamAtItsSandboxLimitIsRefusedWith429UntilItKillsOneWhileOtherTeamsCreate() throws Exception {
        s.close();
        s = new TestServer(dir, new LoopbackRuntime(), c -> c.maxConcurrentBoots(4).maxSandboxesPerTeam(2));
        key = s.newKey("limited");
        // three at once: the creates under way count, so exactly two get through
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<HttpResponse<String>>> racing = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            racing.add(pool.submit(() -> s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"}")));
        }
        List<String> ids = new ArrayList<>();
        int refused = 0;
        for (Future<HttpResponse<String>> f : racing) {
            HttpResponse<String> r = f.get();
            if (r.statusCode() == 201) {
                ids.add(JSON.readTree(r.body()).get("sandboxID").asText());
            } else {
                JsonNode error = ok(r, 429);
                assertThat(error.get("code").asInt()).isEqualTo(429);
                assertThat(error.get("message").asText()).contains("limit of 2 running sandboxes");
                refused++;
            }
        }
        pool.shutdown();
        assertThat(ids).hasSize(2);
        assertThat(refused).isEqualTo(1);
        assertThat(s.runtime.boxes).hasSize(2); // the refused create booted nothing
        // the limit is the team's: another team creates
        String other = s.newKey("other");
        assertThat(s.call("POST", "/v2/sandboxes", other, "{\"templateID\":\"base\"}").statusCode()).isEqualTo(201);
        ok(s.call("DELETE", "/sandboxes/" + ids.getFirst(), key, null), 204);
        create("{\"templateID\":\"base\"}");
        ok(s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"}"), 429);
    }

    @Test
    void createReturnsWhatTheSdkReadsAndInitialisesTheAgent() throws Exception {
        JsonNode sb = ok(s.call("POST", "/v2/sandboxes", key,
                "{\"templateID\":\"base\",\"envVars\":{\"FOO\":\"bar\"},\"metadata\":{\"who\":\"test\"}}"), 201);
        String id = sb.get("sandboxID").asText();
        assertThat(id).matches("[a-z0-9]{20}");
        assertThat(sb.get("templateID").asText()).isEqualTo("base");
        assertThat(sb.get("clientID").asText()).isEqualTo("6532622b");
        assertThat(sb.get("envdVersion").asText()).isEqualTo("0.6.13");
        assertThat(sb.has("domain")).isTrue();
        assertThat(sb.get("domain").isNull()).isTrue();
        String token = sb.get("envdAccessToken").asText();
        assertThat(token).isNotBlank();

        LoopbackRuntime.Box box = s.runtime.boxes.get(id);
        assertThat(box.accessToken).isEqualTo(token);
        assertThat(box.initBody).containsEntry("envVars", Map.of("FOO", "bar"))
                .containsEntry("defaultUser", "user").containsEntry("defaultWorkdir", "/home/user");

        JsonNode detail = ok(s.call("GET", "/sandboxes/" + id, key, null), 200);
        assertThat(detail.get("state").asText()).isEqualTo("running");
        assertThat(detail.get("envdAccessToken").asText()).isEqualTo(token);
        assertThat(detail.get("metadata").get("who").asText()).isEqualTo("test");
        Duration ttl = Duration.between(Instant.parse(detail.get("startedAt").asText()), Instant.parse(detail.get("endAt").asText()));
        assertThat(ttl).isEqualTo(Duration.ofSeconds(300)); // v2 default
        assertThat(detail.get("cpuCount").asInt()).isPositive();
        assertThat(detail.get("memoryMB").asInt()).isEqualTo(512);
    }

    @Test
    void v1CreateDefaultsTo15SecondsAndResourcesAreHonoured() throws Exception {
        String id = ok(s.call("POST", "/sandboxes", key,
                "{\"templateID\":\"base\",\"secure\":true,\"allow_internet_access\":true,\"cpuCount\":1,\"memoryMB\":256,\"diskSizeMB\":1024}"), 201)
                .get("sandboxID").asText();
        JsonNode detail = ok(s.call("GET", "/sandboxes/" + id, key, null), 200);
        assertThat(Duration.between(Instant.parse(detail.get("startedAt").asText()), Instant.parse(detail.get("endAt").asText())))
                .isEqualTo(Duration.ofSeconds(15));
        assertThat(s.runtime.boxes.get(id).spec.memoryMB()).isEqualTo(256);
        assertThat(s.runtime.boxes.get(id).spec.cpuCount()).isEqualTo(1);
        assertThat(s.runtime.boxes.get(id).spec.diskSizeMB()).isEqualTo(1024);
        assertThat(detail.get("allowInternetAccess").asBoolean()).isTrue();
    }

    @Test
    void listFiltersByTripleEncodedMetadataAndStateAndPaginates() throws Exception {
        List<String> mine = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            mine.add(create("{\"templateID\":\"base\",\"metadata\":{\"sandboxTestId\":\"a b&c=d\",\"k2\":\"v2\"}}"));
        }
        String other = create("{\"templateID\":\"base\",\"metadata\":{\"sandboxTestId\":\"other\"}}");
        // Exactly what the released SDK sends for {sandboxTestId:'a b&c=d', k2:'v2'}.
        String q = "metadata=sandboxTestId%3Da%252520b%252526c%25253Dd%26k2%3Dv2";
        JsonNode all = ok(s.call("GET", "/v2/sandboxes?" + q + "&state=running,paused", key, null), 200);
        Set<String> listed = new HashSet<>();
        all.forEach(n -> listed.add(n.get("sandboxID").asText()));
        assertThat(listed).containsExactlyInAnyOrderElementsOf(mine);
        assertThat(ok(s.call("GET", "/v2/sandboxes?state=paused", key, null), 200)).isEmpty();

        Set<String> paged = new HashSet<>();
        String token = null;
        int pages = 0;
        do {
            HttpResponse<String> r = s.call("GET", "/v2/sandboxes?limit=1&" + q + (token == null ? "" : "&nextToken=" + token), key, null);
            JsonNode page = ok(r, 200);
            assertThat(page).hasSize(1);
            paged.add(page.get(0).get("sandboxID").asText());
            token = r.headers().firstValue("X-Next-Token").orElse(null);
            pages++;
        } while (token != null && pages < 10);
        assertThat(pages).isEqualTo(3);
        assertThat(paged).containsExactlyInAnyOrderElementsOf(mine);

        JsonNode v1 = ok(s.call("GET", "/sandboxes", key, null), 200);
        assertThat(v1).hasSize(4);
        ok(s.call("DELETE", "/sandboxes/" + other, key, null), 204);
        assertThat(ok(s.call("GET", "/v2/sandboxes?state=running", key, null), 200)).hasSize(3);
    }

    @Test
    void timeoutConnectAndRefreshMoveTheEnd() throws Exception {
        String id = create("{\"templateID\":\"base\",\"timeout\":60}");
        Instant end0 = Instant.parse(ok(s.call("GET", "/sandboxes/" + id, key, null), 200).get("endAt").asText());
        ok(s.call("POST", "/sandboxes/" + id + "/timeout", key, "{\"timeout\":600}"), 204);
        Instant end1 = Instant.parse(ok(s.call("GET", "/sandboxes/" + id, key, null), 200).get("endAt").asText());
        assertThat(end1).isAfter(end0.plusSeconds(500));
        // connect never shortens ...
        JsonNode c = ok(s.call("POST", "/v2/sandboxes/" + id + "/connect", key, "{\"timeout\":10}"), 200);
        assertThat(c.get("sandboxID").asText()).isEqualTo(id);
        assertThat(c.get("envdAccessToken").asText()).isEqualTo(s.runtime.boxes.get(id).accessToken);
        assertThat(Instant.parse(ok(s.call("GET", "/sandboxes/" + id, key, null), 200).get("endAt").asText())).isEqualTo(end1);
        // ... but setTimeout may.
        ok(s.call("POST", "/sandboxes/" + id + "/timeout", key, "{\"timeout\":30}"), 204);
        Instant end2 = Instant.parse(ok(s.call("GET", "/sandboxes/" + id, key, null), 200).get("endAt").asText());
        assertThat(end2).isBefore(end1);
        ok(s.call("POST", "/v2/sandboxes/" + id + "/connect", key, ""), 200); // empty body: default 300 s
        Instant end3 = Instant.parse(ok(s.call("GET", "/sandboxes/" + id, key, null), 200).get("endAt").asText());
        assertThat(end3).isAfter(end2.plusSeconds(200));
        ok(s.call("POST", "/sandboxes/" + id + "/connect", key, "{\"timeout\":900}"), 200);
        ok(s.call("POST", "/sandboxes/" + id + "/refreshes", key, "{\"duration\":60}"), 204);
        assertThat(s.call("POST", "/sandboxes/" + id + "/connect", key, "{}").statusCode()).isEqualTo(400);
        assertThat(s.call("POST", "/v2/sandboxes/nosuchsandbox/connect", key, "{}").statusCode()).isEqualTo(404);
    }

    @Test
    void killEndsTheSandboxOnceAndKeepsItsLogs() throws Exception {
        String id = create("{\"templateID\":\"base\"}");
        ok(s.call("DELETE", "/sandboxes/" + id, key, null), 204);
        assertThat(s.runtime.destroyed).containsExactly(id);
        assertThat(s.call("DELETE", "/sandboxes/" + id, key, null).statusCode()).isEqualTo(404);
        assertThat(s.call("GET", "/sandboxes/" + id, key, null).statusCode()).isEqualTo(404);
        JsonNode logs = ok(s.call("GET", "/sandboxes/" + id + "/logs", key, null), 200);
        assertThat(logs.get("logs").toString()).contains("created from template 'base'").contains("killed");
        assertThat(ok(s.call("GET", "/v2/sandboxes/" + id + "/logs", key, null), 200).get("logs")).hasSize(2);
    }

    @Test
    void expiryKillsAndCleansUp() throws Exception {
        String id = create("{\"templateID\":\"base\",\"timeout\":1}");
        Instant deadline = Instant.now().plusSeconds(30);
        while (s.call("GET", "/sandboxes/" + id, key, null).statusCode() == 200 && Instant.now().isBefore(deadline)) {
            Thread.sleep(100);
        }
        assertThat(s.call("GET", "/sandboxes/" + id, key, null).statusCode()).isEqualTo(404);
        assertThat(s.runtime.destroyed).contains(id);
        assertThat(s.runtime.boxes).doesNotContainKey(id);
        HttpResponse<String> health = s.call("GET", "/health", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983");
        assertThat(health.statusCode()).isEqualTo(502);
        assertThat(JSON.readTree(health.body())).isEqualTo(JSON.readTree(
                "{\"sandboxId\":\"" + id + "\",\"message\":\"The sandbox was not found\",\"code\":502}"));
        assertThat(ok(s.call("GET", "/sandboxes/" + id + "/logs", key, null), 200).toString()).contains("timed out");
        assertThat(s.server.store().find(id).orElseThrow().status().db()).isEqualTo("expired");
    }

    @Test
    void metricsAndTemplates() throws Exception {
        String id = create("{\"templateID\":\"base\"}");
        JsonNode metrics = ok(s.call("GET", "/sandboxes/" + id + "/metrics", key, null), 200);
        assertThat(metrics.size()).isGreaterThanOrEqualTo(1);
        JsonNode m = metrics.get(0);
        for (String f : List.of("timestamp", "timestampUnix", "cpuCount", "cpuUsedPct", "memUsed", "memTotal", "memCache", "diskUsed", "diskTotal")) {
            assertThat(m.has(f)).as(f).isTrue();
        }
        assertThat(m.get("memTotal").asLong()).isEqualTo(512L << 20);
        long future = Instant.now().plusSeconds(3600).getEpochSecond();
        assertThat(ok(s.call("GET", "/sandboxes/" + id + "/metrics?start=" + future, key, null), 200)).isEmpty();
        JsonNode batch = ok(s.call("GET", "/sandboxes/metrics?sandbox_ids=" + id, key, null), 200);
        assertThat(batch.get("sandboxes").get(id).get("memTotal").asLong()).isEqualTo(512L << 20);
        assertThat(s.call("GET", "/sandboxes/metrics?sandbox_ids=" + id + ",nosuchsandbox", key, null).statusCode()).isEqualTo(404);
        JsonNode templates = ok(s.call("GET", "/templates", key, null), 200);
        assertThat(templates.findValuesAsText("templateID")).contains("base");
        assertThat(templates.get(0).get("spawnCount").asLong()).isEqualTo(1);
    }

    @Test
    void parallelCreatesRunAtTheSameTime() throws Exception {
        int n = 4;
        // Each start waits until all n are inside start(): a create that held a shared lock would time this out (the
        // boot gate admits n here, see start()).
        s.runtime.startBarrier = new CyclicBarrier(n);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) results.add(pool.submit(() -> s.call("POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"}")));
            Set<String> ids = new HashSet<>();
            for (Future<HttpResponse<String>> f : results) ids.add(ok(f.get(), 201).get("sandboxID").asText());
            assertThat(ids).hasSize(n);
        }
    }
}
