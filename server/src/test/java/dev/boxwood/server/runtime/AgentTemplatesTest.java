package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The real agent, with the production JVM flags and the start-up cache of its template's flavour, starts in every
 * built template (base, and code-interpreter-v1 when it is built): it answers health and init, has its cache mapped,
 * and in an interpreter template also serves the interpreter's port. System property {@code boxwood.bootRounds}
 * repeats each boot to print start-up and memory figures (the bench reads the server log; this asserts no timing),
 * {@code boxwood.bootTemplate} limits the run to one template.
 */
class AgentTemplatesTest extends RealSandboxes {

    private static final String INTERPRETER_TEMPLATE = "code-interpreter-v1";

    @Override
    protected CrunRuntime.Config configure() {
        CrunRuntime.Config agent = TestSandboxes.agentConfig();
        assumeTrue(Files.isRegularFile(agent.agentJar()), "needs the agent jar (mvn package)");
        Path built = TestSandboxes.dataDir().resolve("templates").resolve(INTERPRETER_TEMPLATE);
        if (Files.isDirectory(built.resolve("rootfs"))) {
            try {
                Files.createSymbolicLink(agent.dataDir().resolve("templates").resolve(INTERPRETER_TEMPLATE), built);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return agent;
    }

    private List<String> templates() {
        List<String> all = new ArrayList<>(List.of(TestSandboxes.TEMPLATE));
        if (Files.isDirectory(config.dataDir().resolve("templates").resolve(INTERPRETER_TEMPLATE))) {
            all.add(INTERPRETER_TEMPLATE);
        }
        String only = System.getProperty("boxwood.bootTemplate");
        return only == null ? all : all.stream().filter(only::equals).toList();
    }

    @Test
    void eachFlavourHasItsOwnCache() throws Exception {
        assertThat(runtime.startupCache().flavour(TestSandboxes.TEMPLATE)).isEqualTo("plain");
        assumeTrue(templates().contains(INTERPRETER_TEMPLATE), "needs the code-interpreter-v1 template");
        assertThat(runtime.startupCache().flavour(INTERPRETER_TEMPLATE)).isEqualTo("interpreter");
        for (String template : templates()) {
            runtime.startupCache().buildInBackground(template);
        }
        runtime.startupCache().awaitBuilt();
        Path plain = runtime.startupCache().ready(TestSandboxes.TEMPLATE).orElseThrow();
        Path interpreter = runtime.startupCache().ready(INTERPRETER_TEMPLATE).orElseThrow();
        assertThat(plain).isNotEqualTo(interpreter);
        // the interpreter's training loaded the interpreter's classes too
        assertThat(Files.size(interpreter)).isGreaterThan(Files.size(plain));
    }

    @Test
    void agentStartsFromTheCacheInEveryTemplate() throws Exception {
        int rounds = Integer.getInteger("boxwood.bootRounds", 1);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        for (String template : templates()) {
            runtime.startupCache().buildInBackground(template);
            runtime.startupCache().awaitBuilt();
            assertThat(runtime.startupCache().ready(template)).as("cache of %s", template).isPresent();
            for (int round = 0; round < rounds; round++) {
                String id = TestSandboxes.newId();
                long started = System.nanoTime();
                RunningSandbox sandbox = runtime.start(new SandboxSpec(id, template, 1, 512, 512));
                long bootMs = (System.nanoTime() - started) / 1_000_000;
                // CPU the agent's JVM used until healthy: steadier than wall time on a shared machine
                long bootCpuMs = cpuMillis(agentJvm(sandbox));
                try {
                    URI base = sandbox.agentUri();
                    assertThat(http.send(HttpRequest.newBuilder(base.resolve("/health")).GET().build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(204);
                    assertThat(http.send(HttpRequest.newBuilder(base.resolve("/init"))
                                    .header("X-Boxwood-Init-Token", sandbox.initToken())
                                    .header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString("{\"accessToken\":\"tok\"}")).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(204);
                    long java = agentJvm(sandbox);
                    assertThat(Files.readString(Path.of("/proc", Long.toString(java), "maps")))
                            .as("the agent JVM in %s maps its start-up cache", template).contains("agent.aot");
                    if (template.equals(INTERPRETER_TEMPLATE)) {
                        HttpResponse<String> health = http.send(HttpRequest.newBuilder(
                                sandbox.uri(49999).resolve("/health?kernels=60000")).GET().build(),
                                HttpResponse.BodyHandlers.ofString());
                        assertThat(health.statusCode()).isEqualTo(200);
                    }
                    Thread.sleep(2000);
                    String rollup = Files.readString(Path.of("/proc", Long.toString(java), "smaps_rollup"));
                    System.out.printf("agent boot %s: create -> healthy %d ms, agent CPU %d ms; agent RSS %d KiB, "
                            + "PSS %d KiB, private %d KiB, anonymous %d KiB%n", template, bootMs, bootCpuMs,
                            kib(rollup, "Rss:"),
                            kib(rollup, "Pss:"), kib(rollup, "Private_Clean:") + kib(rollup, "Private_Dirty:"),
                            kib(rollup, "Anonymous:"));
                } finally {
                    runtime.destroy(id);
                }
            }
        }
    }

    /** The agent's JVM: the child of the sandbox's init (tini). */
    private static long agentJvm(RunningSandbox sandbox) {
        return ProcessHandle.of(sandbox.pid()).orElseThrow().children()
                .filter(p -> p.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .findFirst().orElseThrow().pid();
    }

    /** utime + stime from /proc/<pid>/stat (clock ticks of 10 ms). */
    private static long cpuMillis(long pid) throws java.io.IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10;
    }

    private static long kib(String rollup, String field) {
        return rollup.lines().filter(l -> l.startsWith(field)).findFirst()
                .map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).orElse(-1L);
    }
}
