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

/** A real gVisor sandbox running the real agent: its own kernel, its own processes, its limits, and no traces. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RunscRuntimeTest {

    private RunscRuntime runtime;
    private CrunRuntime.Config config;

    @BeforeAll
    void createRuntime() {
        String missing = TestSandboxes.missingPrerequisite();
        assumeTrue(missing == null, missing);
        config = TestSandboxes.agentConfig();
        runtime = new RunscRuntime(config);
    }

    @AfterAll
    void destroyEverything() {
        TestSandboxes.cleanUp(runtime, config);
    }

    @Test
    void bootsTheAgentOnGvisorsKernelWithLimitsAndLeavesNothing() throws Exception {
        String id = TestSandboxes.newId();
        RunningSandbox sandbox = runtime.start(new SandboxSpec(id, TestSandboxes.TEMPLATE, 1, 384, 512));
        try {
            HttpResponse<Void> health = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(sandbox.agentUri().resolve("/health")).GET().build(),
                    HttpResponse.BodyHandlers.discarding());
            assertThat(health.statusCode()).isEqualTo(204);
            String init = "{\"accessToken\":\"tok-1\",\"envVars\":{},\"defaultUser\":\"user\","
                    + "\"defaultWorkdir\":\"/home/user\"}";
            assertThat(HttpClient.newHttpClient().send(HttpRequest.newBuilder(sandbox.agentUri().resolve("/init"))
                            .header("X-Boxwood-Init-Token", sandbox.initToken())
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(init)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(204);
            // A restarted server finds the sandbox again.
            RunningSandbox found = new RunscRuntime(config).reattach(id).orElseThrow();
            assertThat(found.address()).isEqualTo(sandbox.address());
            assertThat(found.initToken()).isEqualTo(sandbox.initToken());

            String hostKernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
            HostCommand.Result uname = runtime.exec(id, List.of("uname", "-r"));
            assertThat(uname.ok()).as(uname.output()).isTrue();
            assertThat(uname.output().strip()).isNotEmpty().isNotEqualTo(hostKernel);

            // Only the sandbox's own processes: tini, the agent's java, and this ps.
            HostCommand.Result ps = runtime.exec(id, List.of("ps", "-e", "-o", "comm="));
            assertThat(ps.output().lines().map(String::strip).toList())
                    .contains("tini", "java").doesNotContain("systemd", "sshd", "runsc", "runsc-sandbox")
                    .hasSizeLessThan(6);
            // The template's owners survive: the sandbox's user owns its home inside.
            assertThat(runtime.exec(id, List.of("stat", "-c", "%u", "/home/user")).output().strip()).isEqualTo("1000");

            long limit = 384L * 1024 * 1024;
            assertThat(runtime.usage(id).memTotalBytes()).isEqualTo(limit);
            assertThat(runtime.usage(id).memUsedBytes()).isPositive();
            Path cgroup = Path.of("/sys/fs/cgroup/memory/boxwood", id, "memory.limit_in_bytes");
            assertThat(Long.parseLong(Files.readString(cgroup).strip())).isEqualTo(limit);
            // gVisor's kernel reports the limit as the machine's memory, and enforces it.
            assertThat(runtime.exec(id, List.of("grep", "MemTotal", "/proc/meminfo")).output())
                    .contains(Long.toString(limit / 1024));
            HostCommand.Result small = runtime.exec(id, List.of("python3", "-c",
                    "b = bytearray(64 * 1024 * 1024); print('survived')"));
            assertThat(small.output()).contains("survived");
            // Past the limit the host's cgroup kills the sandbox (gVisor's kernel and all): the exec never returns a
            // result, and the sandbox is left for destroy, which must still clean up everything.
            HostCommand.Result hog = runtime.exec(id, List.of("python3", "-c",
                    "b = bytearray(600 * 1024 * 1024); print('survived')"));
            assertThat(hog.exitCode()).as(hog.output()).isNotZero();
            assertThat(hog.output()).doesNotContain("survived");
            assertThat(runtime.leftovers()).contains(id);
        } finally {
            runtime.destroy(id);
        }
        assertThat(runtime.leftovers()).doesNotContain(id);
        assertThat(Path.of("/run/netns/bw-" + id)).doesNotExist();
        assertThat(Cgroups.dirs(CrunRuntime.cgroupPath(id))).noneMatch(Files::exists);
        assertThat(config.dataDir().resolve("sandboxes").resolve(id)).doesNotExist();
        assertThat(HostCommand.run(List.of("pgrep", "-f", "runsc.*" + id)).output()).isBlank();
        runtime.destroy(id); // idempotent
    }

    @Test
    void pausesAndResumesWithItsProcessesIntact() throws Exception {
        String id = TestSandboxes.newId();
        RunningSandbox sandbox = runtime.start(new SandboxSpec(id, TestSandboxes.TEMPLATE, 1, 384, 512));
        HttpClient http = HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(2)).build();
        HttpRequest health = HttpRequest.newBuilder(sandbox.agentUri().resolve("/health"))
                .timeout(java.time.Duration.ofSeconds(2)).GET().build();
        try {
            HostCommand.Result started = runtime.exec(id, List.of("sh", "-c", "nohup sh -c 'i=0; while true; do"
                    + " i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done' >/dev/null 2>&1 & echo $!"));
            assertThat(started.ok()).as(started.output()).isTrue();
            String counter = started.output().strip();

            for (int cycle = 0; cycle < 2; cycle++) {
                runtime.pause(id);
                runtime.pause(id); // idempotent
                assertThat(HostCommand.run(runtime.oci("state", id)).output())
                        .contains("\"status\": \"paused\"");
                // gVisor's kernel is stopped: the agent accepts no request until the resume.
                assertThat(answers(http, health)).isFalse();
                runtime.resume(id);
                assertThat(answers(http, health)).isTrue();
            }
            // The same background process is still counting.
            String before = runtime.exec(id, List.of("cat", "/tmp/n")).output().strip();
            String after = before;
            for (int i = 0; i < 100 && after.equals(before); i++) {
                Thread.sleep(100);
                after = runtime.exec(id, List.of("cat", "/tmp/n")).output().strip();
            }
            assertThat(Long.parseLong(after)).isGreaterThan(Long.parseLong(before));
            assertThat(runtime.exec(id, List.of("kill", "-0", counter)).ok()).isTrue();
        } finally {
            runtime.destroy(id);
        }
        assertThat(runtime.leftovers()).doesNotContain(id);
    }

    private static boolean answers(HttpClient http, HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 204;
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
