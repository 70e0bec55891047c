package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A fork bomb, a memory bomb and a disk fill stay inside their sandbox; a neighbour and the host keep working. */
class ContainmentTest extends RealSandboxes {

    String neighbour;

    @BeforeAll
    void bootNeighbour() {
        neighbour = TestSandboxes.newId();
        runtime.start(TestSandboxes.spec(neighbour));
    }

    private void neighbourAndHostStillWork() {
        assertThat(sh(neighbour, "echo alive && echo data > /tmp/n && cat /tmp/n").output())
                .contains("alive").contains("data");
        assertThat(HostCommand.run(List.of("true")).ok()).isTrue();
    }

    @Test
    void forkBombHitsThePidsLimit() throws InterruptedException {
        String victim = TestSandboxes.newId();
        runtime.start(TestSandboxes.spec(victim));
        try {
            // The bomb keeps running after timeout kills its first shell; output goes nowhere so exec returns.
            sh(victim, "timeout -s KILL 5 bash -c 'f(){ f|f& }; f' >/dev/null 2>&1; echo done");
            String cg = CrunRuntime.cgroupPath(victim);
            // On a busy machine the bomb needs a while to reach the limit; wait for it (bounded), then check.
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (Cgroups.readStat("pids", cg, "pids.events", "max") <= 0 && System.nanoTime() < deadline) {
                assertThat(Cgroups.readLong("pids", cg, "pids.current")).isLessThanOrEqualTo(config.pidsLimit());
                Thread.sleep(200);
            }
            assertThat(Cgroups.readStat("pids", cg, "pids.events", "max")).as("fork attempts refused").isPositive();
            assertThat(Cgroups.readLong("pids", cg, "pids.current")).isPositive()
                    .isLessThanOrEqualTo(config.pidsLimit());
            neighbourAndHostStillWork();
        } finally {
            runtime.destroy(victim);
        }
        assertThat(Files.exists(Path.of("/sys/fs/cgroup/pids").resolve(CrunRuntime.cgroupPath(victim).substring(1))))
                .isFalse();
    }

    /**
     * Each sandbox's pids limit bounds one bomb; the parent of every sandbox's cgroup bounds all of them together, so
     * that bombs in many sandboxes at once still leave the host a quarter of its pid space (at least 4096).
     */
    @Test
    void allSandboxesTogetherLeaveTheHostPidsOfItsOwn() throws Exception {
        long pidMax = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).getFirst());
        long threadsMax = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/threads-max")).getFirst());
        assertThat(pidMax).isEqualTo(Cgroups.readHostLimit("pid_max")).isGreaterThan(300);
        long cap = Long.parseLong(Files.readString(Path.of("/sys/fs/cgroup/pids/boxwood/pids.max")).strip());
        assertThat(cap).isEqualTo(Cgroups.sandboxPidsShare(pidMax, threadsMax));
        assertThat(Math.min(pidMax, threadsMax) - cap).isGreaterThanOrEqualTo(4096);
        assertThat(Cgroups.readLong("pids", "/boxwood", "pids.current"))
                .as("the neighbour's processes count against it").isPositive();
    }

    /**
     * Each sandbox's memory limit bounds one sandbox; their sum may pass the host's memory, so the parent of every
     * sandbox's cgroup bounds them together, leaving the host (and the server) an eighth of it, at least 2 GiB: past
     * that the kernel reclaims and OOM-kills among the sandboxes instead of choosing from every process on the host.
     */
    @Test
    void allSandboxesTogetherLeaveTheHostMemoryOfItsOwn() throws Exception {
        long memTotal = 0;
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) memTotal = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
        long cap = Cgroups.readLong("memory", "/boxwood", "memory.limit_in_bytes");
        assertThat(cap).isEqualTo(Cgroups.sandboxMemoryShare(memTotal) / 4096 * 4096); // the kernel rounds to pages
        assertThat(memTotal - cap).isGreaterThanOrEqualTo(Math.min(2L << 30, memTotal / 2));
        assertThat(Cgroups.readLong("memory", "/boxwood", "memory.usage_in_bytes"))
                .as("the neighbour's memory counts against it").isPositive();
        assertThat(Cgroups.readLong("memory", CrunRuntime.cgroupPath(neighbour), "memory.limit_in_bytes"))
                .as("and its own limit still holds").isLessThan(cap);
    }

    @Test
    void theSandboxesMemoryIsTheHostsLessAnEighthOrAtLeast2GiB() {
        long gib = 1L << 30;
        assertThat(Cgroups.sandboxMemoryShare(24 * gib)).isEqualTo(21 * gib);
        assertThat(Cgroups.sandboxMemoryShare(8 * gib)).isEqualTo(6 * gib);
        assertThat(Cgroups.sandboxMemoryShare(256 * gib)).isEqualTo(224 * gib);
        assertThat(Cgroups.sandboxMemoryShare(3 * gib)).as("half on a small host").isEqualTo(3 * gib / 2);
    }

    @Test
    void theHostKeepsATwentiethOfItsDiskFrom1To10GiB() {
        long gib = 1L << 30;
        assertThat(OciRuntime.diskReserve(8 * gib)).isEqualTo(gib);
        assertThat(OciRuntime.diskReserve(100 * gib)).isEqualTo(5 * gib);
        assertThat(OciRuntime.diskReserve(2048 * gib)).isEqualTo(10 * gib);
    }

    @Test
    void theSandboxesShareIsTheHostsLimitLessAQuarterOrAtLeast4096() {
        assertThat(Cgroups.sandboxPidsShare(32_768, 192_729)).isEqualTo(24_576);
        assertThat(Cgroups.sandboxPidsShare(4_194_304, 192_729)).isEqualTo(192_729 - 48_182);
        assertThat(Cgroups.sandboxPidsShare(8_000, 192_729)).isEqualTo(3_904);
        assertThat(Cgroups.sandboxPidsShare(4_000, 192_729)).isEqualTo(1);
    }

    @Test
    void memoryBombIsKilledAtTheLimit() {
        String victim = TestSandboxes.newId();
        runtime.start(new SandboxSpec(victim, TestSandboxes.TEMPLATE, 1, 256, 512));
        try {
            HostCommand.Result bomb = sh(victim, "python3 -c '\na=[]\nwhile True: a.append(bytearray(32 << 20))\n'"
                    + " >/dev/null 2>&1; echo rc=$?");
            assertThat(bomb.output()).contains("rc=137"); // SIGKILL from the cgroup's OOM killer
            String cg = CrunRuntime.cgroupPath(victim);
            assertThat(Cgroups.readStat("memory", cg, "memory.oom_control", "oom_kill")).isPositive();
            assertThat(Cgroups.readLong("memory", cg, "memory.max_usage_in_bytes")).isLessThanOrEqualTo(256L << 20);
            // The sandbox itself survives its bomb.
            assertThat(sh(victim, "echo still-here").output()).contains("still-here");
            neighbourAndHostStillWork();
        } finally {
            runtime.destroy(victim);
        }
    }

    @Test
    void diskFillGetsEnospcAndCostsTheHostNoMoreThanTheDiskSize() throws Exception {
        String victim = TestSandboxes.newId();
        runtime.start(new SandboxSpec(victim, TestSandboxes.TEMPLATE, 1, 512, 128));
        try {
            HostCommand.Result fill = runtime.execAs(victim, "1000:1000", List.of("/bin/bash", "-c",
                    "dd if=/dev/zero of=/home/user/fill bs=1M count=1000 2>&1; echo rc=$?"));
            assertThat(fill.output()).contains("No space left on device").doesNotContain("rc=0");
            ResourceUsage usage = runtime.usage(victim);
            assertThat(usage.diskTotalBytes()).isLessThanOrEqualTo(128L << 20);
            assertThat(usage.diskUsedBytes()).isGreaterThan(usage.diskTotalBytes() * 9 / 10);
            Path image = config.dataDir().resolve("sandboxes").resolve(victim).resolve("disk.img");
            assertThat(Files.size(image)).isLessThanOrEqualTo(128L << 20);
            // Root inside is equally bounded, and freeing space works.
            assertThat(sh(victim, "dd if=/dev/zero of=/root/more bs=1M count=50 2>&1; echo rc=$?").output())
                    .contains("No space left on device");
            assertThat(sh(victim, "rm /home/user/fill /root/more && echo x > /tmp/ok && cat /tmp/ok").output().strip())
                    .isEqualTo("x");
            neighbourAndHostStillWork();
        } finally {
            runtime.destroy(victim);
        }
    }
}
