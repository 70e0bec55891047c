package dev.boxwood.server.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.loopback.LoopbackRuntime;
import dev.boxwood.server.loopback.TestServer;
import dev.boxwood.server.runtime.SandboxSpec;
import dev.boxwood.server.store.SandboxRow;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A new server on the same data dir takes back running sandboxes and accounts for every other one. */
class RestartRecoveryTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void survivorsAreReattachedAndTheRestCleanlyGone(@TempDir Path dir) throws Exception {
        LoopbackRuntime runtime = new LoopbackRuntime(); // outlives both servers, as sandboxes outlive the process
        String key;
        String survivor;
        String crashed;
        String expiring;
        try (TestServer first = new TestServer(dir, runtime, c -> {})) {
            key = first.newKey("restart");
            survivor = create(first, key, "{\"templateID\":\"base\",\"metadata\":{\"n\":\"1\"}}");
            crashed = create(first, key, "{\"templateID\":\"base\"}");
            expiring = create(first, key, "{\"templateID\":\"base\",\"timeout\":600}");
            first.call("POST", "/sandboxes/" + expiring + "/timeout", key, "{\"timeout\":2}");
        }
        runtime.crash(crashed);
        // Traces with no row: a create cut short (it has a directory in this data dir), and a sandbox of another
        // server on the same host (no directory here), which must be left alone.
        String orphan = "orphan00000000000000";
        runtime.start(new SandboxSpec(orphan, "base", 1, 128, 128));
        java.nio.file.Files.createDirectories(dir.resolve("sandboxes").resolve(orphan));
        String foreign = "foreign0000000000000";
        runtime.start(new SandboxSpec(foreign, "base", 1, 128, 128));

        try (TestServer second = new TestServer(dir, runtime, c -> {})) {
            var info = second.call("GET", "/sandboxes/" + survivor, key, null);
            assertThat(info.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(info.body()).get("metadata").get("n").asText()).isEqualTo("1");
            assertThat(second.call("GET", "/health", null, null, "E2b-Sandbox-Id", survivor, "E2b-Sandbox-Port", "49983")
                    .statusCode()).isEqualTo(204);
            assertThat(second.call("GET", "/sandboxes/" + survivor + "/logs", key, null).body()).contains("reattached");

            assertThat(second.call("GET", "/sandboxes/" + crashed, key, null).statusCode()).isEqualTo(404);
            assertThat(second.server.store().find(crashed).orElseThrow().status()).isEqualTo(SandboxRow.Status.LOST);
            assertThat(second.call("GET", "/sandboxes/" + crashed + "/logs", key, null).body()).contains("lost");
            assertThat(second.call("GET", "/health", null, null, "E2b-Sandbox-Id", crashed, "E2b-Sandbox-Port", "49983")
                    .statusCode()).isEqualTo(502);

            assertThat(runtime.destroyed).contains(orphan).doesNotContain(foreign);
            assertThat(runtime.boxes).doesNotContainKey(orphan).containsKey(foreign);
            runtime.destroy(foreign);

            // The expiry timer came back with the sandbox.
            Instant deadline = Instant.now().plusSeconds(30);
            while (second.call("GET", "/sandboxes/" + expiring, key, null).statusCode() == 200 && Instant.now().isBefore(deadline)) {
                Thread.sleep(100);
            }
            assertThat(second.call("GET", "/sandboxes/" + expiring, key, null).statusCode()).isEqualTo(404);
            assertThat(runtime.boxes).doesNotContainKey(expiring);
            assertThat(JSON.readTree(second.call("GET", "/v2/sandboxes", key, null).body()).findValuesAsText("sandboxID"))
                    .containsExactly(survivor);
            assertThat(second.call("DELETE", "/sandboxes/" + survivor, key, null).statusCode()).isEqualTo(204);
        }
        assertThat(runtime.boxes).isEmpty();
    }

    @Test
    void aSecondServerOnTheSameDataDirIsRefused(@TempDir Path dir) {
        try (TestServer first = new TestServer(dir)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new TestServer(dir))
                    .hasMessageContaining("another Boxwood server is already using the data directory");
            assertThat(first.call("GET", "/health", null, null).statusCode()).isEqualTo(200);
        }
        new TestServer(dir).close(); // the lock goes with the server
    }

    static String create(TestServer s, String key, String body) throws Exception {
        var r = s.call("POST", "/v2/sandboxes", key, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return JSON.readTree(r.body()).get("sandboxID").asText();
    }
}
