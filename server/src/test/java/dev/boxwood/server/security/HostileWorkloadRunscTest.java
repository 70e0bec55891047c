package dev.boxwood.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.runtime.CrunRuntime;
import dev.boxwood.server.runtime.Cgroups;
import dev.boxwood.server.runtime.OciRuntime;
import dev.boxwood.server.runtime.RunscRuntime;
import dev.boxwood.server.security.HostileHarness.Box;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/** The hostile suite on gVisor's runsc, the stronger-isolation runtime: its own kernel must contain them too. */
class HostileWorkloadRunscTest extends HostileWorkloadTest {
    @Override
    OciRuntime runtime(CrunRuntime.Config config) {
        return new RunscRuntime(config);
    }

    /**
     * gVisor's kernel sizes its memory to the sandbox's limit and refuses what goes past it: the bomb's allocation
     * fails (Python's MemoryError, exit 1) before the host's OOM killer would act.
     */
    @Override
    void assertMemoryBombStopped(String eaten, Box eater) {
        assertThat(eaten).as("the bomb ended by a refused allocation or a SIGKILL").containsAnyOf("rc=1 ", "rc=137 ");
    }

    /**
     * The bombs on gVisor, where a fork bomb takes its own sandbox down: the host sees gVisor's processes in the
     * sandbox's cgroups (the Sentry's threads and a systrap stub per address space), not the sandbox's, and once the
     * pids limit refuses the Sentry a thread, the Sentry exits (Go's runtime cannot go on without the thread it asked
     * for: gVisor's issue 2490, open upstream). Contained all the same, which is what this asserts:
     * the neighbour and the API answer throughout, a memory bomb beside it is stopped within its limit and its sandbox
     * carries on, and the dead sandbox is removed by a kill. (Owed: a pids limit inside gVisor below the host's, so
     * that the sandbox survives its bomb as it does on crun and runc.)
     */
    @Override
    @Test
    @Order(1)
    void bombsInParallelHitTheirOwnLimitsWhileTheNeighbourAnswers() throws Exception {
        Box forker = victim(1, 256, 256);
        Box eater = victim(1, 256, 256);
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        try {
            var fork = pool.submit(() -> h.run(forker, "root", FORK_BOMB));
            var eat = pool.submit(() -> h.run(eater, "user", MEMORY_BOMB));
            neighbourAndApiAnswer();
            String eaten = eat.get(5, TimeUnit.MINUTES).stdout();
            assertMemoryBombStopped(eaten, eater);
            assertThat(Cgroups.readLong("memory", cgroup(eater), "memory.max_usage_in_bytes"))
                    .isLessThanOrEqualTo(MEMORY_256_PEAK);
            try {
                fork.get(3, TimeUnit.MINUTES); // its stream ends, however the sandbox ends
            } catch (ExecutionException streamBroke) {
                // the sandbox died under its bomb: the case this test documents
            }
            neighbourAndApiAnswer();
            assertThat(h.sh(eater, "echo survived")).isEqualTo("survived");
        } finally {
            pool.shutdownNow();
        }
        kill(forker);
        kill(eater);
    }

    @Override
    String binary() {
        return "runsc";
    }
}
