package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.network.NetworkAttachment;
import dev.boxwood.server.network.SandboxNetwork;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** 50 create/destroy cycles, two at a time, leave no cgroup, mount, netns, veth, nft element or directory. */
class CleanupTest extends RealSandboxes {


    @Test
    void fiftyCyclesLeaveNothingBehind() throws Exception {
        List<String> ids = Collections.synchronizedList(new ArrayList<>());
        List<String> interfaces = Collections.synchronizedList(new ArrayList<>());
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            List<Future<?>> cycles = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                cycles.add(pool.submit(() -> {
                    String id = TestSandboxes.newId();
                    ids.add(id);
                    runtime.start(TestSandboxes.spec(id));
                    NetworkAttachment net = runtime.network().find(id).orElseThrow();
                    interfaces.add(net.hostInterface());
                    assertThat(runtime.exec(id, List.of("true")).ok()).isTrue();
                    runtime.destroy(id);
                    return null;
                }));
            }
            for (Future<?> cycle : cycles) {
                cycle.get();
            }
        }
        assertThat(ids).hasSize(50);
        assertThat(runtime.leftovers()).isEmpty();
        assertThat(HostCommand.check(List.of("crun", "--root", config.runDir().resolve("crun").toString(), "list",
                "-q")).strip()).isEmpty();
        String mountinfo = Files.readString(Path.of("/proc/self/mountinfo"));
        assertThat(mountinfo).doesNotContain(config.dataDir().toString());
        assertThat(HostCommand.check(List.of("losetup", "-a"))).doesNotContain(config.dataDir().toString());
        try (var left = Files.list(config.dataDir().resolve("sandboxes"))) {
            assertThat(left.toList()).isEmpty();
        }
        String nft = HostCommand.check(List.of("nft", "list", "table", "inet", "boxwood"));
        for (String id : ids) {
            assertThat(SandboxNetwork.pinned(id)).as("netns of %s", id).isFalse();
            assertThat(nft).doesNotContain("sb_" + id);
            for (Path dir : Cgroups.dirs(CrunRuntime.cgroupPath(id))) {
                assertThat(dir).doesNotExist();
            }
        }
        for (String iface : interfaces) {
            // Another Boxwood on this host may reuse a slot by now; ours must not be bound to our addresses.
            assertThat(nft).doesNotContain("\"" + iface + "\" : jump sb_t");
        }
        assertThat(runtime.network().traces()).isEmpty();
    }

    @Test
    void hostSetUpRemovesChainsADeadProcessLeftButKeepsLiveOnes() throws Exception {
        String live = TestSandboxes.newId();
        String dead = TestSandboxes.newId();
        runtime.start(TestSandboxes.spec(live));
        try {
            // what a process killed between pinning a sandbox's namespace and removing its chains leaves behind
            HostCommand.check(List.of("nft", "-f", "-"), """
                    add chain inet boxwood sb_%1$s
                    add chain inet boxwood nat_%1$s
                    """.formatted(dead));
            runtime.network().prepareHost();
            String nft = HostCommand.check(List.of("nft", "list", "table", "inet", "boxwood"));
            assertThat(nft).doesNotContain("sb_" + dead).doesNotContain("nat_" + dead).contains("sb_" + live);
            assertThat(runtime.exec(live, List.of("true")).ok()).isTrue();
        } finally {
            runtime.destroy(live);
        }
    }
}
