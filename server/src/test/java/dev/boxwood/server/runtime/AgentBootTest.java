package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Boots the real agent jar with the production process line (tini + the host JDK) and talks to it. */
class AgentBootTest extends RealSandboxes {


    @Override
    protected CrunRuntime.Config configure() {
        CrunRuntime.Config agent = TestSandboxes.agentConfig();
        assumeTrue(Files.isRegularFile(agent.agentJar()), "needs the agent jar (mvn package)");
        return agent;
    }

    @Test
    void agentAnswersHealthAndInitWithTheInitToken() throws Exception {
        String id = TestSandboxes.newId();
        long started = System.nanoTime();
        RunningSandbox sandbox = runtime.start(TestSandboxes.spec(id));
        long bootMs = (System.nanoTime() - started) / 1_000_000;
        try {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            URI base = sandbox.agentUri();
            assertThat(http.send(HttpRequest.newBuilder(base.resolve("/health")).GET().build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(204);
            String init = "{\"accessToken\":\"tok-123\",\"envVars\":{\"FOO\":\"bar\"},"
                    + "\"defaultUser\":\"user\",\"defaultWorkdir\":\"/home/user\"}";
            assertThat(http.send(HttpRequest.newBuilder(base.resolve("/init"))
                            .header("X-Boxwood-Init-Token", "wrong").header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(init)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(401);
            assertThat(http.send(HttpRequest.newBuilder(base.resolve("/init"))
                            .header("X-Boxwood-Init-Token", sandbox.initToken())
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(init)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(204);
            // The agent is the sandbox's init (under tini), running the bind-mounted JDK as root inside.
            String ps = runtime.exec(id, List.of("ps", "-eo", "pid,rss,args")).output();
            assertThat(ps).contains("/opt/boxwood/jdk/bin/java").contains("/opt/boxwood/agent.jar");
            assertThat(runtime.exec(id, List.of("sh", "-c", "echo x > /opt/boxwood/agent.jar 2>&1; echo rc=$?"))
                    .output()).doesNotContain("rc=0");
            ResourceUsage usage = runtime.usage(id);
            assertThat(usage.memUsedBytes()).isPositive();
            assertThat(usage.memTotalBytes()).isEqualTo(512L << 20);
            System.out.printf("agent sandbox %s: create -> healthy %d ms; memory charged %d MiB%n%s%n", id, bootMs,
                    usage.memUsedBytes() >> 20, ps);
        } finally {
            runtime.destroy(id);
        }
    }

    @Test
    void reattachFindsARunningSandbox() {
        String id = TestSandboxes.newId();
        RunningSandbox sandbox = runtime.start(TestSandboxes.spec(id));
        try {
            // As a restarted server would (with the stand-in command only so it does not start its own cache build).
            CrunRuntime second = new CrunRuntime(config.withCommand(TestSandboxes.HEALTH_STUB));
            RunningSandbox found = second.reattach(id).orElseThrow();
            assertThat(found.address()).isEqualTo(sandbox.address());
            assertThat(found.initToken()).isEqualTo(sandbox.initToken());
            assertThat(found.pid()).isEqualTo(sandbox.pid());
            assertThat(second.leftovers()).contains(id);
            second.destroy(id);
            assertThat(runtime.reattach(id)).isEmpty();
        } finally {
            runtime.destroy(id);
        }
    }

    @Test
    void laterSandboxesStartTheAgentFromItsAheadOfTimeCache() throws Exception {
        runtime.startupCache().awaitBuilt();
        assertThat(runtime.startupCache().ready()).as("AOT cache built by the training run").isPresent();
        String id = TestSandboxes.newId();
        long started = System.nanoTime();
        runtime.start(TestSandboxes.spec(id));
        long bootMs = (System.nanoTime() - started) / 1_000_000;
        try {
            String ps = runtime.exec(id, List.of("ps", "-eo", "rss,args")).output();
            assertThat(ps).contains("-XX:AOTCache=/opt/boxwood/agent.aot");
            assertThat(runtime.exec(id, List.of("sh", "-c", "cat /opt/boxwood/agent.aot > /dev/null && "
                    + "echo x >> /opt/boxwood/agent.aot 2>&1; echo rc=$?")).output()).doesNotContain("rc=0");
            System.out.printf("agent sandbox with AOT cache %s: create -> healthy %d ms%n%s%n", id, bootMs, ps);
        } finally {
            runtime.destroy(id);
        }
    }
}
