package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.store.SandboxRow;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The control plane over real crun sandboxes and the real agent. */
class RealSandboxTest extends RealServerTest {

    @Test
    void teamsAreIsolatedAndTrafficIsRoutedByHeadersAndHost() throws Exception {
        try (BoxwoodServer server = real.start(DOMAIN)) {
            String a = server.teams().createKey(server.teams().ensureTeam("a"));
            String b = server.teams().createKey(server.teams().ensureTeam("b"));
            String id = create(server, a, "{\"templateID\":\"base\",\"envVars\":{\"GREETING\":\"hi\"}}");
            String token = token(server, a, id);

            assertThat(json(real.call(server, "GET", "/v2/sandboxes", b, null), 200)).isEmpty();
            assertThat(real.call(server, "GET", "/sandboxes/" + id, b, null).statusCode()).isEqualTo(404);
            assertThat(real.call(server, "POST", "/v2/sandboxes/" + id + "/connect", b, "{}").statusCode()).isEqualTo(404);
            assertThat(real.call(server, "DELETE", "/sandboxes/" + id, b, null).statusCode()).isEqualTo(404);

            // Header routing to the real agent: health, the init it received (env vars), token enforcement.
            assertThat(real.call(server, "GET", "/health", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983")
                    .statusCode()).isEqualTo(204);
            HttpResponse<String> envs = real.call(server, "GET", "/envs", null, null,
                    "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983", "X-Access-Token", token);
            assertThat(json(envs, 200).get("GREETING").asText()).isEqualTo("hi");
            assertThat(real.call(server, "GET", "/envs", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983",
                    "X-Access-Token", "wrong").statusCode()).isEqualTo(401);

            // Write a file by headers, read it back by Host name.
            HttpResponse<String> written = real.call(server, "POST", "/files?path=/home/user/routed.txt", null, "through the router",
                    "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983", "X-Access-Token", token,
                    "Content-Type", "application/octet-stream");
            assertThat(written.statusCode()).as(written.body()).isEqualTo(200);
            String viaHost = raw(server, "49983-" + id + "." + DOMAIN, "/files?path=/home/user/routed.txt", token);
            assertThat(viaHost).startsWith("HTTP/1.1 200").endsWith("through the router");

            HttpResponse<String> closed = real.call(server, "GET", "/", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "8080");
            assertThat(closed.statusCode()).isEqualTo(502);
            assertThat(closed.body()).contains("The sandbox is running but port is not open");

            // Real figures from the sandbox's cgroup and disk.
            JsonNode metrics = json(real.call(server, "GET", "/sandboxes/" + id + "/metrics", a, null), 200);
            assertThat(metrics.size()).isGreaterThanOrEqualTo(1);
            JsonNode m = metrics.get(metrics.size() - 1);
            assertThat(m.get("memUsed").asLong()).isPositive();
            assertThat(m.get("memTotal").asLong()).isEqualTo(256L << 20);
            assertThat(m.get("diskTotal").asLong()).isPositive();
            assertThat(m.get("cpuCount").asInt()).isEqualTo(1);

            // Logs carry the lifecycle and the agent's own output.
            JsonNode logs = json(real.call(server, "GET", "/sandboxes/" + id + "/logs", a, null), 200);
            assertThat(logs.get("logs").toString()).contains("created from template 'base'").contains("agent: ");

            json(real.call(server, "DELETE", "/sandboxes/" + id, a, null), 204);
            assertThat(real.call(server, "GET", "/health", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983")
                    .statusCode()).isEqualTo(502);
            // The rest of the teardown finishes in the background after the 204.
            assertThat(server.sandboxes().awaitTeardowns(java.time.Duration.ofSeconds(60))).isTrue();
            assertThat(real.runtime.crun.leftovers()).doesNotContain(id);
        }
    }

    @Test
    void restartKeepsRunningSandboxesAccountsForLostOnesAndStillExpires() throws Exception {
        String key;
        String survivor;
        String lost;
        String token;
        try (BoxwoodServer first = real.start(null)) {
            key = first.teams().createKey(first.teams().ensureTeam("restart"));
            survivor = create(first, key, "{\"templateID\":\"base\"}");
            lost = create(first, key, "{\"templateID\":\"base\"}");
            token = token(first, key, survivor);
            assertThat(real.call(first, "POST", "/files?path=/tmp/before-restart", null, "kept",
                    "E2b-Sandbox-Id", survivor, "E2b-Sandbox-Port", "49983", "X-Access-Token", token,
                    "Content-Type", "application/octet-stream").statusCode()).isEqualTo(200);
        }
        real.runtime.destroy(lost); // dies while no server is watching

        try (BoxwoodServer second = real.start(null)) {
            json(real.call(second, "GET", "/sandboxes/" + survivor, key, null), 200);
            HttpResponse<String> kept = real.call(second, "GET", "/files?path=/tmp/before-restart", null, null,
                    "E2b-Sandbox-Id", survivor, "E2b-Sandbox-Port", "49983", "X-Access-Token", token);
            assertThat(kept.statusCode()).isEqualTo(200);
            assertThat(kept.body()).isEqualTo("kept");

            assertThat(real.call(second, "GET", "/sandboxes/" + lost, key, null).statusCode()).isEqualTo(404);
            assertThat(second.store().find(lost).orElseThrow().status()).isEqualTo(SandboxRow.Status.LOST);
            assertThat(real.call(second, "GET", "/sandboxes/" + lost + "/logs", key, null).body()).contains("lost");

            json(real.call(second, "POST", "/sandboxes/" + survivor + "/timeout", key, "{\"timeout\":1}"), 204);
            Instant deadline = Instant.now().plusSeconds(60);
            // The row is marked ended once nothing of the sandbox runs; the host traces go in a background teardown.
            while (second.store().find(survivor).orElseThrow().status() == SandboxRow.Status.RUNNING
                    && Instant.now().isBefore(deadline)) {
                Thread.sleep(200);
            }
            assertThat(second.store().find(survivor).orElseThrow().status()).isEqualTo(SandboxRow.Status.EXPIRED);
            assertThat(real.call(second, "GET", "/sandboxes/" + survivor, key, null).statusCode()).isEqualTo(404);
            assertThat(real.call(second, "GET", "/health", null, null, "E2b-Sandbox-Id", survivor, "E2b-Sandbox-Port", "49983")
                    .statusCode()).isEqualTo(502);
            assertThat(second.sandboxes().awaitTeardowns(java.time.Duration.ofSeconds(60))).isTrue();
            assertThat(real.runtime.crun.leftovers()).doesNotContain(survivor, lost);
            assertThat(real.dataDir.resolve("sandboxes").resolve(survivor)).doesNotExist();
        }
    }

    static String raw(BoxwoodServer server, String host, String path, String token) throws Exception {
        try (Socket socket = new Socket(server.uri().getHost(), server.uri().getPort())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nX-Access-Token: " + token
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
