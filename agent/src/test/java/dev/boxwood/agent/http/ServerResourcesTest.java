package dev.boxwood.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.agent.Agent;
import dev.boxwood.agent.users.Accounts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** The agent's two servers (envd's port, the interpreter's) on one set of Jetty resources, as Agent.main runs them. */
class ServerResourcesTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void serversOnSharedResourcesAddNoPlatformThreadsAndOutliveEachOther() throws Exception {
        try (ServerResources shared = ServerResources.start()) {
            Accounts accounts = new Accounts();
            Agent first = Agent.start("127.0.0.1", 0, null, accounts, Agent.initialSettings(accounts), shared);
            assertThat(health(first)).isEqualTo(204);
            long withOne = jettyPlatformThreads();
            try (Agent second = Agent.start("127.0.0.1", 0, null, accounts, Agent.initialSettings(accounts), shared)) {
                assertThat(health(second)).isEqualTo(204);
                // no keep-alive or scheduler thread of its own: those are what sharing saves in every sandbox
                assertThat(jettyPlatformThreads()).isEqualTo(withOne);

                first.close();
                // the shared pool and scheduler were not the first server's to stop
                assertThat(health(second)).isEqualTo(204);
                assertThat(shared.threads().isRunning()).isTrue();
            }
        }
    }

    @Test
    void anAgentOnResourcesOfItsOwnStopsThemWithIt() throws Exception {
        long before = jettyPlatformThreads();
        Agent agent = Agent.start("127.0.0.1", 0, null);
        assertThat(health(agent)).isEqualTo(204);
        agent.close();
        assertThat(jettyPlatformThreads()).isEqualTo(before);
    }

    private static int health(Agent agent) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/health")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** Live platform threads Jetty starts per thread pool (a keep-alive) and per scheduler. */
    private static long jettyPlatformThreads() throws InterruptedException {
        Thread.sleep(100); // a stopped thread may take a moment to end
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> !t.isVirtual() && t.isAlive())
                .filter(t -> t.getName().contains("keepalive") || t.getName().contains("cheduler"))
                .count();
    }
}
