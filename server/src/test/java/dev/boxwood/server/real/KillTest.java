package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.runtime.ForwardingRuntime;
import dev.boxwood.server.runtime.RunningSandbox;
import dev.boxwood.server.store.SandboxRow;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * Kill → 204 answers once nothing of the sandbox runs and it is unreachable; the rest of its teardown finishes in the
 * background, and a server that stops before it did leaves nothing that the next start does not remove.
 */
class KillTest extends RealServerTest {

    BoxwoodServer start(dev.boxwood.server.runtime.SandboxRuntime runtime) {
        Config config = Config.builder().dataDir(real.dataDir).port(0).metricsInterval(Duration.ofSeconds(1))
                .defaults(1, 256, 512).build();
        return new BoxwoodServer(config, runtime).start();
    }

    /** No task left in the sandbox's pids cgroup (or no cgroup any more). */
    static boolean nothingRuns(String id) {
        Path procs = Path.of("/sys/fs/cgroup/pids/boxwood", id, "cgroup.procs");
        try {
            return !Files.exists(procs) || Files.readString(procs).isBlank();
        } catch (IOException e) {
            return !Files.exists(procs);
        }
    }

    boolean agentAnswers(RunningSandbox sandbox) {
        try {
            real.http.send(HttpRequest.newBuilder(sandbox.agentUri().resolve("/health")).timeout(Duration.ofSeconds(2))
                    .build(), HttpResponse.BodyHandlers.discarding());
            return true;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Test
    void aKilledSandboxRunsNothingAndIsUnreachableAtOnceAndItsHostResourcesGoShortlyAfter() throws Exception {
        try (BoxwoodServer server = start(real.runtime)) {
            String key = server.teams().createKey(server.teams().ensureTeam("k"));
            String id = json(real.call(server, "POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"}"), 201)
                    .get("sandboxID").asText();
            RunningSandbox sandbox = real.runtime.reattach(id).orElseThrow();
            assertThat(agentAnswers(sandbox)).isTrue();
            assertThat(nothingRuns(id)).isFalse();

            json(real.call(server, "DELETE", "/sandboxes/" + id, key, null), 204);
            // At the 204: every process is gone, nothing answers at its address or through the router.
            assertThat(nothingRuns(id)).as("tasks left in the sandbox's cgroup").isTrue();
            assertThat(ProcessHandle.of(sandbox.pid()).map(ProcessHandle::isAlive).orElse(false)
                    && !isZombie(sandbox.pid())).as("the sandbox's init runs").isFalse();
            assertThat(agentAnswers(sandbox)).isFalse();
            assertThat(real.call(server, "GET", "/health", null, null, "E2b-Sandbox-Id", id, "E2b-Sandbox-Port", "49983")
                    .statusCode()).isEqualTo(502);
            assertThat(real.call(server, "GET", "/sandboxes/" + id, key, null).statusCode()).isEqualTo(404);
            assertThat(server.store().find(id).orElseThrow().status()).isEqualTo(SandboxRow.Status.KILLED);

            // Shortly after: no trace on the host (OCI state, directory, network, cgroups).
            await("the teardown of " + id, () -> !real.runtime.crun.leftovers().contains(id)
                    && !Files.exists(real.dataDir.resolve("sandboxes").resolve(id))
                    && !Files.exists(Path.of("/sys/fs/cgroup/pids/boxwood", id)));
            assertThat(server.sandboxes().awaitTeardowns(Duration.ofSeconds(60))).isTrue();
        }
    }

    static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) == 'Z';
        } catch (IOException e) {
            return true;
        }
    }

    /** A server that stops after the 204 but before the teardown (here: it fails) leaves traces the next start removes. */
    @Test
    void aRestartAfterAnUnfinishedTeardownLeavesNothingBehind() throws Exception {
        Set<String> failing = ConcurrentHashMap.newKeySet();
        ForwardingRuntime interrupted = new ForwardingRuntime(real.runtime) {
            @Override
            public void destroy(String sandboxId) {
                if (failing.contains(sandboxId)) throw new IllegalStateException("server went away mid-teardown");
                super.destroy(sandboxId);
            }
        };
        String key;
        String id;
        String paused;
        try (BoxwoodServer server = start(interrupted)) {
            key = server.teams().createKey(server.teams().ensureTeam("k"));
            id = json(real.call(server, "POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"}"), 201)
                    .get("sandboxID").asText();
            paused = json(real.call(server, "POST", "/v2/sandboxes", key, "{\"templateID\":\"base\"}"), 201)
                    .get("sandboxID").asText();
            json(real.call(server, "POST", "/sandboxes/" + paused + "/pause", key, null), 204);
            failing.add(id);
            failing.add(paused);
            json(real.call(server, "DELETE", "/sandboxes/" + id, key, null), 204);
            json(real.call(server, "DELETE", "/sandboxes/" + paused, key, null), 204);
            assertThat(nothingRuns(id)).isTrue();
            server.sandboxes().awaitTeardowns(Duration.ofSeconds(60));
            assertThat(real.runtime.crun.leftovers()).contains(id, paused);
        }
        try (BoxwoodServer server = start(real.runtime)) {
            assertThat(real.runtime.crun.leftovers()).doesNotContain(id, paused);
            for (String gone : new String[] {id, paused}) {
                assertThat(real.dataDir.resolve("sandboxes").resolve(gone)).doesNotExist();
                assertThat(Path.of("/sys/fs/cgroup/pids/boxwood", gone)).doesNotExist();
                assertThat(Path.of("/sys/fs/cgroup/freezer/boxwood", gone)).doesNotExist();
                assertThat(server.store().find(gone).orElseThrow().status()).isEqualTo(SandboxRow.Status.KILLED);
            }
            assertThat(real.call(server, "GET", "/v2/sandboxes", key, null).body()).isEqualTo("[]");
        }
    }
}
