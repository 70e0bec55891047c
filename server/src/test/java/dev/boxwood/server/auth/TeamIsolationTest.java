package dev.boxwood.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.loopback.TestServer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A team sees and touches only its own sandboxes; another team's look like they do not exist. */
class TeamIsolationTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void teamBCannotSeeOrTouchTeamA(@TempDir Path dir) throws Exception {
        try (TestServer s = new TestServer(dir)) {
            String a = s.newKey("team-a");
            String b = s.newKey("team-b");
            var created = s.call("POST", "/v2/sandboxes", a, "{\"templateID\":\"base\",\"metadata\":{\"owner\":\"a\"}}");
            assertThat(created.statusCode()).isEqualTo(201);
            String id = JSON.readTree(created.body()).get("sandboxID").asText();

            assertThat(JSON.readTree(s.call("GET", "/v2/sandboxes", b, null).body())).isEmpty();
            assertThat(JSON.readTree(s.call("GET", "/sandboxes", b, null).body())).isEmpty();
            assertThat(s.call("GET", "/sandboxes/" + id, b, null).statusCode()).isEqualTo(404);
            assertThat(s.call("DELETE", "/sandboxes/" + id, b, null).statusCode()).isEqualTo(404);
            assertThat(s.call("POST", "/v2/sandboxes/" + id + "/connect", b, "{}").statusCode()).isEqualTo(404);
            assertThat(s.call("POST", "/sandboxes/" + id + "/connect", b, "{\"timeout\":10}").statusCode()).isEqualTo(404);
            assertThat(s.call("POST", "/sandboxes/" + id + "/timeout", b, "{\"timeout\":10}").statusCode()).isEqualTo(404);
            assertThat(s.call("POST", "/sandboxes/" + id + "/refreshes", b, "{}").statusCode()).isEqualTo(404);
            assertThat(s.call("GET", "/sandboxes/" + id + "/metrics", b, null).statusCode()).isEqualTo(404);
            assertThat(s.call("GET", "/sandboxes/" + id + "/logs", b, null).statusCode()).isEqualTo(404);

            // Team A's sandbox is untouched by all of that.
            assertThat(s.runtime.destroyed).isEmpty();
            var listed = JSON.readTree(s.call("GET", "/v2/sandboxes", a, null).body());
            assertThat(listed).hasSize(1);
            assertThat(listed.get(0).get("sandboxID").asText()).isEqualTo(id);
            assertThat(s.call("DELETE", "/sandboxes/" + id, a, null).statusCode()).isEqualTo(204);
        }
    }
}
