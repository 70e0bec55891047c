package dev.boxwood.agent.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.agent.testing.ConnectClient;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A full disk answers 507. The agent runs as a child process in its own mount namespace, where the upload target is
 * a tiny tmpfs; the mount disappears with the process.
 */
class DiskFullTest {
    @Test
    void uploadsToAFullDiskAnswer507() throws Exception {
        Path dir = Files.createTempDirectory("agent-diskfull");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = "mount -t tmpfs -o size=64k,mode=0777 tmpfs '" + dir + "' && exec '" + java
                + "' -cp \"$AGENT_CP\" dev.boxwood.agent.Agent";
        ProcessBuilder pb = new ProcessBuilder("unshare", "-m", "--propagation", "private", "sh", "-c", script)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("AGENT_CP", System.getProperty("java.class.path"));
        pb.environment().put("BOXWOOD_AGENT_PORT", String.valueOf(port));
        pb.environment().put("BOXWOOD_AGENT_HOST", "127.0.0.1");
        pb.environment().put("BOXWOOD_INTERPRETER", "off"); // no kernels: the test kills this agent
        Process agent = pb.start();
        try {
            ConnectClient c = new ConnectClient("http://127.0.0.1:" + port);
            HttpResponse<String> health = null;
            for (int i = 0; i < 600 && (health == null || health.statusCode() != 204); i++) {
                try {
                    health = c.http().send(HttpRequest.newBuilder(URI.create(c.base() + "/health")).build(),
                            HttpResponse.BodyHandlers.ofString());
                } catch (java.io.IOException notYet) {
                    assertThat(agent.isAlive()).as("agent process exited").isTrue();
                    Thread.sleep(100);
                }
            }
            byte[] big = new byte[1 << 20];
            HttpResponse<String> r = c.http().send(HttpRequest.newBuilder(URI.create(c.base() + "/files?path="
                            + dir + "/big.bin&username=root"))
                    .header("Content-Type", "application/octet-stream")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(big)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(507);
            assertThat(ConnectClient.JSON.readTree(r.body()).path("code").asInt()).isEqualTo(507);
            // the agent is still fine afterwards
            assertThat(c.unary("process.Process/List", "{}").status()).isEqualTo(200);
        } finally {
            agent.destroyForcibly().waitFor();
            Files.deleteIfExists(dir);
        }
    }
}
