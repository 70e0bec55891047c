package dev.boxwood.sdk.commands;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.sdk.transport.Json;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProcessEventTest {
    private static ProcessEvent parse(String json) {
        return ProcessEvent.parse(Json.parse(json.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void decodesEveryEventKind() {
        assertThat(parse("{\"event\":{\"start\":{\"pid\":42}}}")).isEqualTo(new ProcessEvent.Start(42));
        assertThat(((ProcessEvent.Stdout) parse("{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}}")).data())
                .isEqualTo("hi\n".getBytes(StandardCharsets.UTF_8));
        assertThat(parse("{\"event\":{\"data\":{\"stderr\":\"eA==\"}}}")).isInstanceOf(ProcessEvent.Stderr.class);
        assertThat(parse("{\"event\":{\"data\":{\"pty\":\"eA==\"}}}")).isInstanceOf(ProcessEvent.Pty.class);
        assertThat(parse("{\"event\":{\"keepalive\":{}}}")).isInstanceOf(ProcessEvent.KeepAlive.class);
        // exitCode 0 is a proto3 default and may be omitted.
        assertThat(parse("{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}"))
                .isEqualTo(new ProcessEvent.End(0, true, "exit status 0", null));
        assertThat(parse("{\"event\":{\"end\":{\"exit_code\":-9,\"status\":\"signal: killed\",\"error\":\"x\"}}}"))
                .isEqualTo(new ProcessEvent.End(-9, false, "signal: killed", "x"));
    }

    @Test
    void utf8CharactersSplitAcrossChunksSurvive() {
        byte[] bytes = "añ€😀".getBytes(StandardCharsets.UTF_8);
        Utf8Decoder decoder = new Utf8Decoder();
        StringBuilder out = new StringBuilder();
        for (byte b : bytes) {
            out.append(decoder.decode(new byte[] {b}));
        }
        out.append(decoder.finish());
        assertThat(out.toString()).isEqualTo("añ€😀");
    }
}
