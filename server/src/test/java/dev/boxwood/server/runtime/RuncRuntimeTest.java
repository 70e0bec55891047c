package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
 * runc sandboxes: booted with their own user namespace owning their network namespace (both made by runc), paused by
 * the freezer when asked to, and by default by a CRIU checkpoint: while checkpointed no process of the sandbox exists
 * and its cgroups are gone; a restore brings back its files, its processes (same pids, still running) and its
 * network, any number of times, also from a new runtime instance (a restarted server). bin/test builds CRIU
 * ({@code ensure_criu}), so a missing runc or CRIU fails here rather than skipping.
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
        freezing = new RuncRuntime(config, criu, 0);
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

    private Path counterFile(String id) {
        return config.dataDir().resolve("sandboxes").resolve(id).resolve("disk/upper/tmp/n");
    }

    /** Starts a background loop that counts in /tmp/n every 0.1 s; returns its pid inside, once it has counted. */
    private String startCounter(RuncRuntime rt, String id) throws Exception {
        HostCommand.Result r = rt.exec(id, List.of("sh", "-c", "nohup sh -c 'i=0; while true; do i=$((i+1));"
                + " echo $i > /tmp/n; sleep 0.1; done' >/dev/null 2>&1 & echo $!"));
        assertThat(r.ok()).as(r.output()).isTrue();
        for (int i = 0; i < 300 && !Files.exists(counterFile(id)); i++) Thread.sleep(100);
        return r.output().strip();
    }

    /** Waits until the counter has moved past what it said when this was called. */
    private void assertCounting(String id) throws Exception {
        String before = Files.readString(counterFile(id)).strip();
        for (int i = 0; i < 300 && Files.readString(counterFile(id)).strip().equals(before); i++) Thread.sleep(100);
        assertThat(Files.readString(counterFile(id)).strip()).isNotEqualTo(before);
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
            startCounter(freezing, id);

            freezing.pause(id);
            assertThat(freezing.checkpointed(id)).isFalse();
            assertThat(Files.readString(Path.of("/sys/fs/cgroup/freezer/boxwood", id, "freezer.state")).strip())
                    .isEqualTo("FROZEN");
            assertThat(alive(sandbox.pid())).isTrue();
            freezing.resume(id);
            assertCounting(id);
            assertThat(health(sandbox)).isEqualTo(204);
        } finally {
            freezing.destroy(id);
        }
        assertThat(freezing.leftovers()).doesNotContain(id);
        assertThat(Path.of("/run/netns/bw-" + id)).doesNotExist();
        assertThat(Cgroups.dirs(CrunRuntime.cgroupPath(id))).noneMatch(Files::exists);
    }

    @Test
    void checkpointFreesTheSandboxAndRestoresItAnyNumberOfTimes() throws Exception {
        String id = TestSandboxes.newId();
        RunningSandbox sandbox = runtime.start(TestSandboxes.spec(id));
        try {
            assertThat(health(sandbox)).isEqualTo(204);
            sh(id, "echo kept > /root/file.txt");
            String counterPid = startCounter(runtime, id);
            long hostPid = sandbox.pid();
            assertThat(Path.of("/proc", Long.toString(hostPid))).exists();

            runtime.pause(id);
            runtime.pause(id); // idempotent
            assertThat(runtime.checkpointed(id)).isTrue();
            // Memory-free: the sandbox's processes are gone and so are its cgroups (no memory charged anywhere).
            assertThat(alive(hostPid)).isFalse();
            assertThat(Path.of("/sys/fs/cgroup/memory/boxwood", id)).doesNotExist();
            assertThat(runtime.usage(id).memUsedBytes()).isZero();
            assertThat(runtime.checkpointBytes(id)).isPositive();
            assertThat(runtime.checkpointDir(id)).isDirectory();
            String frozen = Files.readString(counterFile(id)).strip();
            Thread.sleep(400);
            assertThat(Files.readString(counterFile(id)).strip()).isEqualTo(frozen);

            // A restarted server finds it paused, at the same address, and resumes it.
            RuncRuntime restarted = new RuncRuntime(config, Criu.require()); // checkpoints by default
            RunningSandbox found = restarted.reattach(id).orElseThrow();
            assertThat(found.address()).isEqualTo(sandbox.address());
            assertThat(found.initToken()).isEqualTo(sandbox.initToken());
            restarted.resume(id);
            assertThat(restarted.checkpointed(id)).isFalse();
            assertThat(restarted.checkpointDir(id)).doesNotExist();
            assertThat(health(sandbox)).isEqualTo(204);
            assertThat(sh(id, "cat /root/file.txt")).isEqualTo("kept");
            assertThat(sh(id, "kill -0 " + counterPid + " && echo alive")).isEqualTo("alive");
            assertCounting(id);
            // The pin names the restored sandbox's namespace (teardown and tc go through it).
            long restoredPid = restarted.state(id).orElseThrow().path("pid").asLong();
            assertThat(Files.readSymbolicLink(Path.of("/proc", Long.toString(restoredPid), "ns/net")).toString())
                    .isEqualTo("net:[" + Files.getAttribute(Path.of("/run/netns/bw-" + id), "unix:ino") + "]");

            for (int cycle = 0; cycle < 10; cycle++) {
                runtime.pause(id);
                assertThat(runtime.checkpointed(id)).as("cycle %d", cycle).isTrue();
                assertThat(runtime.usage(id).memUsedBytes()).isZero();
                runtime.resume(id);
                assertThat(runtime.checkpointed(id)).as("cycle %d", cycle).isFalse();
                assertThat(health(sandbox)).isEqualTo(204);
            }
            assertThat(sh(id, "kill -0 " + counterPid + " && echo alive")).isEqualTo("alive");
            assertCounting(id);
            assertThat(sh(id, "cat /root/file.txt")).isEqualTo("kept");

            // A restore that fails after its network was moved (no memory pages to read) leaves the sandbox paused
            // with its images, and the next one succeeds.
            runtime.pause(id);
            List<Path> pages;
            try (var files = Files.list(runtime.checkpointDir(id))) {
                pages = files.filter(f -> f.getFileName().toString().startsWith("pages-")).toList();
            }
            for (Path page : pages) Files.move(page, page.resolveSibling(page.getFileName() + ".aside"));
            assertThatThrownBy(() -> runtime.resume(id)).isInstanceOf(RuntimeFailure.class)
                    .hasMessageContaining("restore of sandbox " + id + " failed (it stays paused)");
            assertThat(runtime.checkpointed(id)).isTrue();
            for (Path page : pages) Files.move(page.resolveSibling(page.getFileName() + ".aside"), page);
            runtime.resume(id);
            assertThat(health(sandbox)).isEqualTo(204);
            assertThat(sh(id, "kill -0 " + counterPid + " && echo alive")).isEqualTo("alive");

            // Killing a checkpointed sandbox frees its images with the rest.
            runtime.pause(id);
            assertThat(runtime.checkpointDir(id)).isDirectory();
        } finally {
            runtime.destroy(id);
        }
        assertThat(config.dataDir().resolve("sandboxes").resolve(id)).doesNotExist();
        assertThat(runtime.checkpointBytesTotal()).isZero();
        assertThat(runtime.leftovers()).doesNotContain(id);
        assertThat(Path.of("/run/netns/bw-" + id)).doesNotExist();
        assertThat(Cgroups.dirs(CrunRuntime.cgroupPath(id))).noneMatch(Files::exists);
    }

    @Test
    void aLiveKernelsVariableSurvivesCheckpointAndRestore() throws Exception {
        Path template = TestSandboxes.dataDir().resolve("templates/code-interpreter-v1");
        assumeTrue(Files.isDirectory(template.resolve("rootfs")), "the code-interpreter-v1 template is not built");
        OciRuntime.Config agentConfig = TestSandboxes.agentConfig();
        Files.createSymbolicLink(agentConfig.dataDir().resolve("templates/code-interpreter-v1"), template);
        RuncRuntime interpreter = new RuncRuntime(agentConfig, Criu.require(), 1L << 30);
        String id = TestSandboxes.newId();
        try {
            RunningSandbox sandbox = interpreter.start(new SandboxSpec(id, "code-interpreter-v1", 1, 1024, 1024));
            HttpResponse<Void> init = HTTP.send(HttpRequest.newBuilder(sandbox.agentUri().resolve("/init"))
                    .header("X-Boxwood-Init-Token", sandbox.initToken()).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"accessToken\":\"kernel-test\",\"envVars\":{},"
                            + "\"defaultUser\":\"user\",\"defaultWorkdir\":\"/home/user\"}")).build(),
                    HttpResponse.BodyHandlers.discarding());
            assertThat(init.statusCode()).isEqualTo(204);
            assertThat(execute(sandbox, "secret = 6 * 7\nsecret")).contains("\"text\":\"42\"");

            interpreter.pause(id);
            assertThat(interpreter.checkpointed(id)).isTrue();
            assertThat(interpreter.usage(id).memUsedBytes()).isZero();
            interpreter.resume(id);
            // The same kernel process with its memory, and its ZeroMQ links to the interpreter server, restored.
            assertThat(execute(sandbox, "secret + 1")).contains("\"text\":\"43\"");
        } finally {
            interpreter.destroy(id);
            TestSandboxes.cleanUp(interpreter, agentConfig);
        }
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(5))
            .build();

    /** Runs code in the interpreter's kernel (port 49999), waiting for the kernel to come up on a busy machine. */
    private static String execute(RunningSandbox sandbox, String code) throws Exception {
        java.net.URI uri = java.net.URI.create("http://" + sandbox.address().getHostAddress() + ":49999/execute");
        String body = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(java.util.Map.of("code", code));
        HttpResponse<String> r = null;
        for (int i = 0; i < 120; i++) {
            try {
                r = HTTP.send(HttpRequest.newBuilder(uri).timeout(java.time.Duration.ofSeconds(60))
                        .header("X-Access-Token", "kernel-test").header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return r.body();
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(500);
        }
        throw new AssertionError("execute failed: " + (r == null ? "no answer" : r.statusCode() + " " + r.body()));
    }
}
