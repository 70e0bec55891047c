package dev.boxwood.sdk.code;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.sdk.transport.Json;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ResultTest {
    @Test
    void mapsKnownFormatsAndKeepsTheRestAsExtra() {
        Result r = Result.fromJson(Json.parse(("{\"type\":\"result\",\"text\":\"<Figure>\",\"png\":\"iVBORw0KGgo=\","
                + "\"chart\":{\"type\":\"bar\",\"title\":\"t\"},\"application/x-custom\":{\"a\":1},"
                + "\"is_main_result\":false}").getBytes(StandardCharsets.UTF_8)));
        assertThat(r.text()).isEqualTo("<Figure>");
        assertThat(r.pngBytes()).startsWith(0x89, 'P', 'N', 'G');
        assertThat(r.chart().path("type").asText()).isEqualTo("bar");
        assertThat(r.extra()).containsOnlyKeys("application/x-custom");
        assertThat(r.formats()).containsExactly("text", "png", "chart", "application/x-custom");
        assertThat(r.isMainResult()).isFalse();
    }
}
