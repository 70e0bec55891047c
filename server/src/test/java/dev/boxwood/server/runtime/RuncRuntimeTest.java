package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * runc sandboxes: booted with a user namespace that owns their network namespace, paused by the freezer, and (the
 * experimental mode) by a CRIU checkpoint: while checkpointed no process of the sandbox exists and its cgroups are
 * gone. A restore does not work yet on this machine (see {@link RuncRuntime}); the test holds that a failed resume
 * leaves the sandbox paused with its images, and that killing it frees them. bin/test builds CRIU
 * ({@code ensure_criu}), so a missing CRIU fails here rather than skipping.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RuncRuntimeTest {

    private RuncRuntime runtime;
    private RuncRuntime freezing;
    private CrunRuntime.Config config;

    @BeforeAll
    void createRuntime() {
        String missing = TestSandboxes.missingPrerequisite();
        assumeTrue(missing == null, missing);
        assertThat(HostCommand.run(List.of("runc", "--version")).ok()).as("runc is installed (apt install runc)").isTrue();
        Path criu = Criu.find().orElseThrow(() -> new AssertionError(
                "CRIU " + Criu.VERSION + " is missing: bin/test builds it (ensure_criu in bin/common.sh)"));
        config = TestSandboxes.stubConfig();
        runtime = new RuncRuntime(config, criu, 1L << 30);
        freezing = new RuncRuntime(config, criu);
    }

    @AfterAll
    void destroyEverything() {
        TestSandboxes.cleanUp(runtime, config);
    }

    private String sh(String id, String script) {
        HostCommand.Result r = runtime.exec(id, List.of("sh", "-c", script));
        assertThat(r.ok()).as(r.output()).isTrue();
        return r.output().strip();
    }

    private static int health(RunningSandbox sandbox) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(sandbox.agentUri().resolve("/health")).GET()
                .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** Whether the host process runs (a zombie its reaper has not collected yet does not). */
    static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    @Test
    void bootsWithItsOwnNamespacesAndFreezesByDefault() throws Exception {
        String id = TestSandboxes.newId();
        RunningSandbox sandbox = freezing.start(TestSandboxes.spec(id));
        try {
            assertThat(health(sandbox)).isEqualTo(204);
            // Root inside is the unprivileged host range; the network namespace belongs to the sandbox's user one.
            assertThat(sh(id, "cat /proc/self/uid_map").split("\\s+")).containsExactly("0", "100000", "65536");
            assertThat(sh(id, "ls /sys/class/net")).contains("eth0").doesNotContain("bwh");
            Path counter = config.dataDir().resolve("sandboxes").resolve(id).resolve("disk/upper/tmp/n");
            sh(id, "nohup sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done' >/dev/null 2>&1 &");
            for (int i = 0; i < 300 && !Files.exists(counter); i++) Thread.sleep(100);

            freezing.pause(id);
            assertThat(freezing.checkpointed(id)).isFalse();
            assertThat(Files.readString(Path.of("/sys/fs/cgroup/freezer/boxwood", id, "freezer.state")).strip())
                    .isEqualTo("FROZEN");
            assertThat(alive(sandbox.pid())).isTrue();
            freezing.resume(id);
            String before = Files.readString(counter).strip();
            for (int i = 0; i < 300 && Files.readString(counter).strip().equals(before); i++) Thread.sleep(100);
            assertThat(Files.readString(counter).strip()).isNotEqualTo(before);
            assertThat(health(sandbox)).isEqualTo(204);
        } finally {
            freezing.destroy(id);
        }
        assertThat(freezing.leftovers()).doesNotContain(id);
        assertThat(Path.of("/run/netns/bw-" + id)).doesNotExist();
        assertThat(config.runDir().resolve("runc/userns").resolve(id)).doesNotExist();
        assertThat(Cgroups.dirs(CrunRuntime.cgroupPath(id))).noneMatch(Files::exists);
    }

    @Test
    void checkpointFreesTheSandboxAndAFailedRestoreKeepsItPaused() throws Exception {
        String id = TestSandboxes.newId();
        RunningSandbox sandbox = runtime.start(TestSandboxes.spec(id));
        try {
            assertThat(health(sandbox)).isEqualTo(204);
            sh(id, "echo kept > /root/file.txt");
            String counterPid = sh(id, "nohup sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done'"
                    + " >/dev/null 2>&1 & echo $!");
            Path counter = config.dataDir().resolve("sandboxes").resolve(id).resolve("disk/upper/tmp/n");
            for (int i = 0; i < 300 && !Files.exists(counter); i++) Thread.sleep(100);
            long hostPid = sandbox.pid();
            assertThat(Path.of("/proc", Long.toString(hostPid))).exists();

            runtime.pause(id);
            runtime.pause(id); // idempotent
            assertThat(runtime.checkpointed(id)).isTrue();
            // Memory-free: the sandbox's processes are gone and so are its cgroups (no memory charged anywhere).
            assertThat(alive(hostPid)).isFalse();
            assertThat(Files.readString(counter).strip()).isNotEmpty();
            assertThat(Path.of("/sys/fs/cgroup/memory/boxwood", id)).doesNotExist();
            assertThat(runtime.usage(id).memUsedBytes()).isZero();
            assertThat(runtime.checkpointBytes(id)).isPositive();
            assertThat(runtime.checkpointDir(id)).isDirectory();
            // A restarted server finds it paused, at the same address.
            RunningSandbox found = new RuncRuntime(config, Criu.require()).reattach(id).orElseThrow();
            assertThat(found.address()).isEqualTo(sandbox.address());
            assertThat(found.initToken()).isEqualTo(sandbox.initToken());
            String frozen = Files.readString(counter).strip();
            Thread.sleep(400);
            assertThat(Files.readString(counter).strip()).isEqualTo(frozen);

            // The restore: where CRIU manages it, everything is back; here it fails and the sandbox stays paused.
            try {
                runtime.resume(id);
                assertThat(runtime.checkpointed(id)).isFalse();
                assertThat(runtime.checkpointDir(id)).doesNotExist();
                assertThat(health(sandbox)).isEqualTo(204);
                assertThat(sh(id, "cat /root/file.txt")).isEqualTo("kept");
                assertThat(sh(id, "kill -0 " + counterPid + " && echo alive")).isEqualTo("alive");
                runtime.pause(id);
            } catch (RuntimeFailure e) {
                assertThat(e.getMessage()).contains("restore of sandbox " + id + " failed (it stays paused)");
                assertThat(runtime.checkpointed(id)).isTrue();
                assertThat(runtime.checkpointDir(id).resolve("inventory.img")).exists();
            }
            // Killing a checkpointed sandbox frees its images with the rest.
            assertThat(runtime.checkpointDir(id)).isDirectory();
        } finally {
            runtime.destroy(id);
        }
        assertThat(config.dataDir().resolve("sandboxes").resolve(id)).doesNotExist();
        assertThat(runtime.leftovers()).doesNotContain(id);
        assertThat(Path.of("/run/netns/bw-" + id)).doesNotExist();
        assertThat(Cgroups.dirs(CrunRuntime.cgroupPath(id))).noneMatch(Files::exists);
    }
}
