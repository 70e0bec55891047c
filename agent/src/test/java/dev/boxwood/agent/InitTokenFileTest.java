package dev.boxwood.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Agent.main} with its init token in a file, as the server starts every sandbox's agent: the token is taken and
 * the file removed before the agent listens, and a named file that cannot be read stops the agent instead of leaving
 * {@code /init} open.
 */
class InitTokenFileTest {
    @TempDir
    Path dir;

    private Process agent(Path tokenFile, int port) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "dev.boxwood.agent.Agent").redirectErrorStream(true).redirectOutput(dir.resolve("agent.log").toFile());
        pb.environment().remove("BOXWOOD_INIT_TOKEN");
        pb.environment().put("BOXWOOD_INIT_TOKEN_FILE", tokenFile.toString());
        pb.environment().put("BOXWOOD_AGENT_PORT", String.valueOf(port));
        pb.environment().put("BOXWOOD_AGENT_HOST", "127.0.0.1");
        pb.environment().put("BOXWOOD_INTERPRETER", "off");
        pb.environment().put("BOXWOOD_SUDO_SOCKET", dir.resolve("sudo.sock").toString());
        return pb.start();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static HttpResponse<String> init(HttpClient http, int port, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/init"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}"));
        if (token != null) b.header("X-Boxwood-Init-Token", token);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theTokenIsTakenFromItsFileWhichIsGoneBeforeTheAgentListens() throws Exception {
        Path file = Files.writeString(dir.resolve("init-token"), "s3cret-token\n");
        int port = freePort();
        Process agent = agent(file, port);
        HttpClient http = HttpClient.newHttpClient();
        try {
            HttpResponse<String> health = null;
            for (int i = 0; i < 600 && health == null; i++) {
                try {
                    health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                            .build(), HttpResponse.BodyHandlers.ofString());
                } catch (java.io.IOException notYet) {
                    assertThat(agent.isAlive()).as(Files.readString(dir.resolve("agent.log"))).isTrue();
                    Thread.sleep(100);
                }
            }
            assertThat(health).isNotNull();
            assertThat(file).doesNotExist();
            assertThat(init(http, port, null).statusCode()).isEqualTo(401);
            assertThat(init(http, port, "wrong").statusCode()).isEqualTo(401);
            assertThat(init(http, port, "s3cret-token").statusCode()).isBetween(200, 204);
        } finally {
            agent.destroyForcibly().waitFor();
        }
    }

    @Test
    void aTokenFileThatCannotBeReadStopsTheAgentInsteadOfLeavingInitOpen() throws Exception {
        Process agent = agent(dir.resolve("missing"), freePort());
        try {
            assertThat(agent.waitFor(60, TimeUnit.SECONDS)).as("the agent exits").isTrue();
            assertThat(agent.exitValue()).isNotZero();
            assertThat(Files.readString(dir.resolve("agent.log"))).contains("missing");
        } finally {
            agent.destroyForcibly().waitFor();
        }
    }
}
