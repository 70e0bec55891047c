package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Sandbox disks are sparse and take room only as they fill, so a create is refused when the disk it asks for, were
 * it filled, would leave the host's filesystem less than its reserve: 503 (the SDKs' ServiceBusyError), nothing made.
 */
class DiskRoomTest extends RealServerTest {

    @Test
    void aDiskTheHostCouldNotHoldGets503AndLeavesNothingWhileASmallOneStarts() throws Exception {
        long freeMB = Files.getFileStore(real.dataDir).getUsableSpace() >> 20;
        int tooBig = (int) Math.min(Integer.MAX_VALUE - 1, freeMB);
        Config config = Config.builder().dataDir(real.dataDir).port(0).metricsInterval(Duration.ofSeconds(1))
                .defaults(1, 256, 512).maximums(2, 1024, tooBig + 1).build();
        try (BoxwoodServer server = new BoxwoodServer(config, real.runtime).start()) {
            String key = server.teams().createKey(server.teams().ensureTeam("disk"));
            var refused = real.call(server, "POST", "/v2/sandboxes", key,
                    "{\"templateID\":\"base\",\"diskSizeMB\":" + tooBig + "}");
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
            JsonNode body = JSON.readTree(refused.body());
            assertThat(body.get("code").asInt()).isEqualTo(503);
            assertThat(body.get("message").asText()).contains("no room for a sandbox").contains(tooBig + " MB disk");
            try (Stream<Path> left = Files.list(real.dataDir.resolve("sandboxes"))) {
                // (but for the agent's start-up cache training, which a new data directory runs in the background)
                assertThat(left.filter(p -> !p.getFileName().toString().startsWith("aot")).toList())
                        .as("no sandbox directory, disk or bundle was made").isEmpty();
            }
            var list = real.call(server, "GET", "/v2/sandboxes", key, null);
            assertThat(JSON.readTree(list.body())).isEmpty();

            var small = real.call(server, "POST", "/v2/sandboxes", key, "{\"templateID\":\"base\",\"diskSizeMB\":256}");
            assertThat(small.statusCode()).as(small.body()).isEqualTo(201);
        }
    }
}
