package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.runtime.Criu;
import dev.boxwood.server.runtime.HostCommand;
import dev.boxwood.server.runtime.RuncRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@link PauseResumeTest} through the API under runc, where a pause is a CRIU checkpoint to disk: files, the
 * background process (same pid), a live kernel's variable, a server restart, auto-pause and auto-resume all go
 * through a checkpoint and a restore, and while paused the sandbox's processes and cgroups are gone (no memory).
 * bin/test builds CRIU ({@code ensure_criu}), so a missing runc or CRIU fails here rather than skipping.
 */
class RuncPauseResumeTest extends PauseResumeTest {

    @Override
    RealServer newRealServer() {
        assertThat(HostCommand.run(List.of("runc", "--version")).ok()).as("runc is installed (apt install runc)").isTrue();
        Path criu = Criu.find().orElseThrow(() -> new AssertionError(
                "CRIU " + Criu.VERSION + " is missing: bin/test builds it (ensure_criu in bin/common.sh)"));
        return new RealServer(config -> new RuncRuntime(config, criu, 1L << 30));
    }

    /** A checkpoint, not a freeze: images on disk, no process, no cgroup, so no memory charged anywhere. */
    @Override
    void assertPausedKind(String id) {
        RuncRuntime runc = (RuncRuntime) real.runtime.oci;
        assertThat(runc.checkpointed(id)).isTrue();
        assertThat(runc.checkpointBytes(id)).isPositive();
        assertThat(real.runtime.oci.usage(id).memUsedBytes()).isZero();
        assertThat(Path.of("/sys/fs/cgroup/memory/boxwood", id)).doesNotExist();
        assertThat(Path.of("/sys/fs/cgroup/freezer/boxwood", id)).doesNotExist();
    }

    /** Each cycle is a checkpoint and a restore (seconds on a busy machine); RuncRuntimeTest does ten. */
    @Override
    int cycles() {
        return 2;
    }

    @Test
    void theRouterDropsItsIdleConnectionsIntoASandboxBeforeItsCheckpoint() throws Exception {
        try (BoxwoodServer server = real.start(null)) {
            String key = server.teams().createKey(server.teams().ensureTeam("connections"));
            String id = create(server, key, "{\"templateID\":\"base\",\"timeout\":120}");
            String token = token(server, key, id);
            String host = server.sandboxes().route(id).orElseThrow().running().address().getHostAddress();
            Set<String> before = established(host);
            assertThat(agent(server, id, "POST", "/files?path=/home/user/c.txt", token, "kept").statusCode())
                    .isEqualTo(200);
            Set<String> routed = established(host);
            routed.removeAll(before);
            assertThat(routed).as("the router keeps its connection to the agent alive").isNotEmpty();

            json(real.call(server, "POST", "/sandboxes/" + id + "/pause", key, null), 204);
            assertPausedKind(id);
            assertThat(established(host)).doesNotContainAnyElementsOf(routed);

            // Right after the restore, a request through the router works (on a new connection).
            json(real.call(server, "POST", "/v2/sandboxes/" + id + "/connect", key, "{}"), 201);
            assertThat(agent(server, id, "GET", "/files?path=/home/user/c.txt", token, null).body()).isEqualTo("kept");
            // The restore moved eth0 into a new namespace, which drops its qdisc: it is shaped again there.
            assertThat(HostCommand.run(List.of("tc", "-n", "bw-" + id, "qdisc", "show", "dev", "eth0")).output())
                    .contains("htb");
        }
    }

    /** Local ends ({@code address:port}) of the host's established TCP connections to the sandbox's address. */
    static Set<String> established(String host) {
        HostCommand.Result ss = HostCommand.run(List.of("ss", "-Htn", "state", "established", "dst", host));
        assertThat(ss.ok()).as(ss.output()).isTrue();
        return ss.output().lines().map(l -> l.strip().split("\\s+")).filter(f -> f.length >= 4)
                .map(f -> f[2]).collect(Collectors.toCollection(java.util.HashSet::new));
    }
}
