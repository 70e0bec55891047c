package dev.boxwood.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.runtime.CrunRuntime;
import dev.boxwood.server.runtime.Cgroups;
import dev.boxwood.server.runtime.OciRuntime;
import dev.boxwood.server.runtime.RunscRuntime;
import dev.boxwood.server.security.HostileHarness.Box;
import dev.boxwood.server.security.HostileHarness.Run;
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

    /** Room for the limit inside gVisor: RunscRuntime.tasksPerUser(512) is 96 tasks for root, the agent included. */
    @Override
    int pids() {
        return 512;
    }

    /**
     * The bombs on gVisor. The host sees gVisor's processes in the sandbox's cgroups (the Sentry's threads and a
     * systrap stub per address space), not the sandbox's, and were the pids limit to refuse the Sentry a thread, the
     * Sentry would exit (gVisor's issue 2490). So the fork bomb, run as root, must stop at the per-user limit inside
     * gVisor without the host's limit ever refusing a pid; meanwhile the neighbour and the API answer, the sandbox's
     * user runs commands, and the agent, exempt from that limit, ends the bomb as root when asked.
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

            // The bomb fills root's places: its shells, the agent's threads and tini.
            long limit = RunscRuntime.tasksPerUser(pids());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            long shells = 0;
            while (shells < limit - 48 && System.nanoTime() < deadline) {
                Thread.sleep(500);
                shells = Long.parseLong(h.sh(forker, "pgrep -c -x bash")); // one command: bash execs it, no fork
            }
            assertThat(shells).as("the bomb's shells, against root's limit of %d", limit)
                    .isGreaterThanOrEqualTo(limit - 48).isLessThanOrEqualTo(limit);
            assertThat(Cgroups.readStat("pids", cgroup(forker), "pids.events", "max"))
                    .as("the host's pids limit never refused gVisor a pid").isZero();
            // The sandbox's user is unaffected, and so is root through the agent: it ends the bomb (stopped first,
            // so that no shell forks between the looks) and reports how many shells are left.
            assertThat(h.run(forker, "user", "echo survived; (echo child) | cat").stdout())
                    .isEqualTo("survived\nchild\n");
            Run ended = h.run(forker, "root", "exec python3 -c '" + END_SHELLS + "'");
            assertThat(ended.stdout().strip()).as("shells left (stderr: %s)", ended.stderr()).isEqualTo("0");
            assertThat(fork.get(3, TimeUnit.MINUTES).status()).as("the bomb's command ended").isNotBlank();
            neighbourAndApiAnswer();
            assertThat(h.sh(forker, "echo survived")).isEqualTo("survived");
            assertThat(h.run(forker, "root", "id -u; (echo child) | cat").stdout()).isEqualTo("0\nchild\n");
            assertThat(h.sh(eater, "echo survived")).isEqualTo("survived");
            assertThat(Cgroups.readStat("pids", cgroup(forker), "pids.events", "max")).isZero();
        } finally {
            pool.shutdownNow();
        }
        kill(forker);
        kill(eater);
    }

    /** Stops every bash (three passes), kills them, and prints how many are left; no single quote (the shell's). */
    static final String END_SHELLS = """
            import os, signal, time
            def shells():
                found = []
                for p in os.listdir("/proc"):
                    try:
                        if p.isdigit() and open("/proc/%s/comm" % p).read().strip() == "bash":
                            found.append(int(p))
                    except OSError:
                        pass
                return found
            for sig in (signal.SIGSTOP, signal.SIGSTOP, signal.SIGSTOP, signal.SIGKILL):
                for pid in shells():
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
            time.sleep(1)
            print(len(shells()))
            """;

    @Override
    String binary() {
        return "runsc";
    }
}
