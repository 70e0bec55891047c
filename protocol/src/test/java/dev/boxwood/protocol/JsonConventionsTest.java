package dev.boxwood.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.protocol.envd.FileSignatures;
import dev.boxwood.protocol.envd.filesystem.EntryInfo;
import dev.boxwood.protocol.envd.filesystem.FileType;
import dev.boxwood.protocol.envd.filesystem.WatchDirRequest;
import dev.boxwood.protocol.envd.filesystem.WatchDirResponse;
import dev.boxwood.protocol.envd.process.EndEvent;
import dev.boxwood.protocol.envd.process.ProcessConfig;
import dev.boxwood.protocol.envd.process.ProcessEvent;
import dev.boxwood.protocol.envd.process.SendSignalRequest;
import dev.boxwood.protocol.envd.process.Signal;
import dev.boxwood.protocol.envd.process.StartRequest;
import dev.boxwood.protocol.envd.process.StartResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The wire records follow proto3 JSON as protobuf-es writes and reads it. */
class JsonConventionsTest {
    private final ObjectMapper json = Json.mapper();

    @Test
    void defaultsAreOmittedButExplicitOptionalsAreSent() throws Exception {
        String start = json.writeValueAsString(new StartRequest(
                new ProcessConfig("/bin/bash", List.of("-c", "true"), null, null), null, null, false));
        assertThat(start).isEqualTo("{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-c\",\"true\"]},\"stdin\":false}");
        assertThat(json.writeValueAsString(new EndEvent(0, true, "exit status 0", null)))
                .isEqualTo("{\"exited\":true,\"status\":\"exit status 0\"}");
    }

    @Test
    void emptyOneofMembersAreStillSent() throws Exception {
        assertThat(json.writeValueAsString(new StartResponse(ProcessEvent.ofKeepalive())))
                .isEqualTo("{\"event\":{\"keepalive\":{}}}");
        assertThat(json.writeValueAsString(WatchDirResponse.ofStart())).isEqualTo("{\"start\":{}}");
    }

    @Test
    void int64IsAStringAndEnumsAreNames() throws Exception {
        EntryInfo e = new EntryInfo("a", FileType.FILE_TYPE_FILE, "/a", 12, 0644, "-rw-r--r--", "user", "user",
                "2026-01-01T00:00:00Z", null, Map.of());
        String s = json.writeValueAsString(e);
        assertThat(s).contains("\"size\":\"12\"", "\"type\":\"FILE_TYPE_FILE\"", "\"mode\":420")
                .doesNotContain("symlinkTarget", "metadata");
        assertThat(json.readValue(s, EntryInfo.class).size()).isEqualTo(12);
    }

    @Test
    void readsSnakeCaseNumbersForEnumsAndUnknownFields() throws Exception {
        WatchDirRequest w = json.readValue("{\"path\":\"/x\",\"include_entry\":true,\"future\":1}",
                WatchDirRequest.class);
        assertThat(w.includeEntry()).isTrue();
        assertThat(json.readValue("{\"process\":{\"pid\":\"7\"},\"signal\":9}", SendSignalRequest.class).signal())
                .isEqualTo(Signal.SIGNAL_SIGKILL);
        assertThat(json.readValue("{\"exit_code\":3}", EndEvent.class).exitCode()).isEqualTo(3);
    }

    @Test
    void bytesAreStandardBase64() throws Exception {
        String data = json.writeValueAsString(ProcessEvent.ofData(
                new dev.boxwood.protocol.envd.process.DataEvent(new byte[] {(byte) 0xfb, (byte) 0xff}, null, null)));
        assertThat(data).isEqualTo("{\"data\":{\"stdout\":\"+/8=\"}}");
    }

    @Test
    void fileSignaturesMatchEnvd() {
        // sha256("/f:read::tok") in unpadded standard base64, computed independently (Python hashlib)
        assertThat(FileSignatures.sign("/f", "read", null, "tok", null))
                .isEqualTo("v1_q50HtR6MjhDY5fmdG9/CUroJ7XQ/AOKhCMuvlyQZv7M");
        assertThat(FileSignatures.sign("/f", "read", null, "tok", 10L))
                .isNotEqualTo(FileSignatures.sign("/f", "read", null, "tok", null));
    }
}
