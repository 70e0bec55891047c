package dev.boxwood.server.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.runtime.CrunRuntime;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Egress rules through E2B's API on real sandboxes with the real agent: create with {@code network} and
 * {@code allow_internet_access}, {@code PUT /sandboxes/{id}/network}, bad input, and rules kept across a restart of
 * the server (a new server process on the same data and run directories).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EgressApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    TestInternet internet;
    SandboxDirs dirs;
    CrunRuntime runtime;
    /** Every runtime made (one per server start): each trains the agent's start-up cache in the background. */
    final List<CrunRuntime> runtimes = new java.util.ArrayList<>();
    BoxwoodServer server;
    String key;

    @BeforeAll
    void setUp() throws Exception {
        dirs = SandboxDirs.create("boxwood-egress-api-");
        assumeTrue(Files.isRegularFile(agentJar()), "needs the agent jar");
        internet = new TestInternet();
        startServer();
        key = server.teams().createKey(server.teams().ensureTeam("egress"));
    }

    static Path agentJar() {
        return Path.of(System.getProperty("boxwood.home", "..")).toAbsolutePath().normalize()
                .resolve("agent/target/boxwood-agent.jar");
    }

    private void startServer() {
        runtime = new CrunRuntime(new CrunRuntime.Config(dirs.data(), dirs.run(), Path.of(System.getProperty("java.home")), agentJar(),
                null, 512, true, Duration.ofSeconds(60)));
        runtime.network().useResolvers(TestInternet.resolvers());
        runtimes.add(runtime);
        server = new BoxwoodServer(Config.builder().dataDir(dirs.data()).port(0).defaults(1, 256, 512).build(), runtime).start();
    }

    @AfterAll
    void tearDown() {
        if (server != null) server.close();
        for (CrunRuntime r : runtimes) {
            try {
                // a training sandbox cut off by the directories' removal would leave its firewall chains behind
                r.startupCache().awaitBuilt();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (runtime != null) {
            for (String id : runtime.leftovers()) runtime.destroy(id);
        }
        runtimes.forEach(r -> r.network().close());
        if (internet != null) internet.close();
        if (dirs != null) dirs.remove();
    }

    private HttpResponse<String> call(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri().resolve(path)).timeout(Duration.ofSeconds(90))
                .header("X-API-Key", key).header("Content-Type", "application/json");
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        return r.body().isEmpty() ? null : JSON.readTree(r.body());
    }

    private String probe(String id, String host, int port) {
        return runtime.exec(id, List.of("python3", "-c", TestInternet.PROBE, "http", host, Integer.toString(port)))
                .output().strip();
    }

    @Test
    void badRulesAre400AndUnknownSandboxes404() throws Exception {
        for (String network : List.of("{\"denyOut\":[\"example.com\"]}", "{\"allowOut\":[\"10.0.0.1/8\"]}",
                "{\"allowOut\":[\"bad..name\"]}", "{\"allowOut\":[\"\"]}", "{\"allowOut\":\"1.2.3.4\"}",
                "{\"denyOut\":[\"1.2.3.4/40\"]}")) {
            JsonNode error = json(call("POST", "/v2/sandboxes", "{\"templateID\":\"base\",\"network\":" + network + "}"), 400);
            assertThat(error.get("code").asInt()).isEqualTo(400);
            assertThat(error.get("message").asText()).as(network).isNotBlank();
        }
        assertThat(runtime.leftovers()).isEmpty(); // refused before anything booted
        json(call("PUT", "/sandboxes/nosuchsandbox/network", "{\"allowOut\":[\"1.2.3.4\"]}"), 404);
    }

    @Test
    void rulesAtCreateUpdatedAtRunTimeAndKeptAcrossARestart() throws Exception {
        String id = json(call("POST", "/v2/sandboxes", "{\"templateID\":\"base\",\"allow_internet_access\":false,"
                + "\"network\":{\"allowOut\":[\"" + TestInternet.A + "\",\"allowed.test\"]}}"), 201).get("sandboxID").asText();
        assertThat(json(call("GET", "/sandboxes/" + id, null), 200).get("allowInternetAccess").asBoolean()).isFalse();
        assertThat(probe(id, TestInternet.A, 8080)).contains("hello " + TestInternet.A);
        assertThat(probe(id, TestInternet.C, 8080)).startsWith("FAIL");
        assertThat(probe(id, "allowed.test", 80)).contains("hello " + TestInternet.A + ":80");

        json(call("PUT", "/sandboxes/" + id + "/network", "{\"allowOut\":[\"1.2.3.0/33\"]}"), 400);
        json(call("PUT", "/sandboxes/" + id + "/network", "{\"egressProxy\":{\"address\":\"p:1\"}}"), 400);
        json(call("PUT", "/sandboxes/" + id + "/network", "{\"allow_internet_access\":false,"
                + "\"allowOut\":[\"198.51.100.0/24\",\"*.wild.test\"]}"), 204);
        assertThat(probe(id, TestInternet.C, 8080)).contains("hello " + TestInternet.C);
        assertThat(probe(id, TestInternet.A, 8080)).startsWith("FAIL");
        assertThat(probe(id, "allowed.test", 80)).startsWith("FAIL gaierror"); // not even resolved
        JsonNode info = json(call("GET", "/sandboxes/" + id, null), 200);
        assertThat(info.get("allowInternetAccess").asBoolean()).isFalse();
        assertThat(info.at("/network/allowOut").toString()).isEqualTo("[\"198.51.100.0/24\",\"*.wild.test\"]");
        assertThat(info.at("/network/denyOut").size()).isZero();

        // A new server process: the proxy and DNS are this process's, so they only work again if the server
        // re-applies the rules it stored.
        server.close();
        runtime.network().close();
        startServer();
        assertThat(probe(id, TestInternet.C, 8080)).contains("hello " + TestInternet.C);
        assertThat(probe(id, TestInternet.A, 8080)).startsWith("FAIL");
        assertThat(probe(id, "x.wild.test", 80)).contains("hello " + TestInternet.C + ":80");
        assertThat(probe(id, "allowed.test", 80)).startsWith("FAIL gaierror"); // not even resolved

        // Omitted fields clear: an empty update opens the sandbox again.
        json(call("PUT", "/sandboxes/" + id + "/network", "{}"), 204);
        assertThat(probe(id, TestInternet.A, 8080)).contains("hello " + TestInternet.A);
        assertThat(json(call("GET", "/sandboxes/" + id, null), 200).get("allowInternetAccess").asBoolean()).isTrue();

        json(call("DELETE", "/sandboxes/" + id, null), 204);
        json(call("PUT", "/sandboxes/" + id + "/network", "{}"), 404);
    }
}
