package dev.boxwood.server.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.runtime.ResourceUsage;
import dev.boxwood.server.runtime.RunningSandbox;
import dev.boxwood.server.runtime.SandboxRuntime;
import dev.boxwood.server.runtime.SandboxSpec;
import dev.boxwood.server.store.SandboxRow;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Whom the disk guard ends, and when it holds back (its run against real sandboxes filling a real filesystem is
 * {@code real/DiskGuardTest}).
 */
class DiskGuardChoiceTest {
    private static final long MB = 1 << 20;

    private final Map<String, Long> diskUsed = new HashMap<>();
    private final Map<String, LiveSandbox> live = new HashMap<>();
    private final Set<String> tearingDown = new HashSet<>();
    private final List<String> ended = new ArrayList<>();
    private long shortfall;

    private final SandboxRuntime runtime = new SandboxRuntime() {
        @Override
        public RunningSandbox start(SandboxSpec spec) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void destroy(String sandboxId) {
        }

        @Override
        public Optional<RunningSandbox> reattach(String sandboxId) {
            return Optional.empty();
        }

        @Override
        public List<String> leftovers() {
            return List.of();
        }

        @Override
        public ResourceUsage usage(String sandboxId) {
            return new ResourceUsage(0, 1, 0, 0, 0, diskUsed.get(sandboxId), 2048 * MB);
        }

        @Override
        public long diskShortfall() {
            return shortfall;
        }
    };

    private final DiskGuard guard = new DiskGuard(runtime, live::values, tearingDown::contains,
            (id, why) -> {
                ended.add(id);
                live.remove(id);
                tearingDown.add(id);
            });

    private void sandbox(String id, SandboxRow.Status status, long usedMB) throws Exception {
        SandboxRow row = new SandboxRow(id, "team", "base", status, 1, 512, 2048, "tok", Map.of(), true, false,
                Instant.now(), Instant.now().plusSeconds(300), null, null);
        live.put(id, new LiveSandbox(row, new RunningSandbox(id, InetAddress.getLoopbackAddress(), 1, "init")));
        diskUsed.put(id, usedMB * MB);
    }

    @Test
    void withRoomLeftNobodyIsEnded() throws Exception {
        sandbox("big", SandboxRow.Status.RUNNING, 1500);
        guard.check();
        assertThat(ended).isEmpty();
    }

    @Test
    void belowTheReserveTheRunningSandboxHoldingTheMostIsEndedOneAtATime() throws Exception {
        sandbox("small", SandboxRow.Status.RUNNING, 100);
        sandbox("big", SandboxRow.Status.RUNNING, 900);
        sandbox("paused", SandboxRow.Status.PAUSED, 1500); // writes nothing while paused
        shortfall = 200 * MB;

        guard.check();
        assertThat(ended).containsExactly("big");

        guard.check(); // still short, but big's disk is not deleted yet: its room is on its way back
        assertThat(ended).containsExactly("big");

        tearingDown.remove("big");
        guard.check(); // deleted, and still short: the next one
        assertThat(ended).containsExactly("big", "small");
    }

    @Test
    void whenNoSandboxHoldsMuchOfItTheRoomIsGoingElsewhereAndNobodyIsEnded() throws Exception {
        sandbox("a", SandboxRow.Status.RUNNING, 10);
        sandbox("b", SandboxRow.Status.RUNNING, 63);
        shortfall = 500 * MB;
        guard.check();
        assertThat(ended).isEmpty();
    }
}
