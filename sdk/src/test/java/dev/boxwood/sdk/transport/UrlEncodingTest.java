package dev.boxwood.sdk.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UrlEncodingTest {
    @Test
    void metadataFilterMatchesTheBytesTheJsSdkSends() {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("sandboxTestId", "a b&c=d");
        metadata.put("k2", "v2");
        // Captured from e2b 2.51.0 (reference §2.4).
        assertThat(UrlEncoding.metadataQueryValue(metadata))
                .isEqualTo("sandboxTestId%3Da%252520b%252526c%25253Dd%26k2%3Dv2");
    }

    @Test
    void metadataFilterDecodesBackTheWayServersDecodeIt() {
        Map<String, String> metadata = Map.of("ü key", "x=1&y/2%");
        String onWire = UrlEncoding.metadataQueryValue(metadata);
        String once = URLDecoder.decode(onWire, StandardCharsets.UTF_8);   // the framework
        String twice = URLDecoder.decode(once, StandardCharsets.UTF_8);    // the server, whole string
        String[] pair = twice.split("=", 2);
        assertThat(URLDecoder.decode(pair[0], StandardCharsets.UTF_8)).isEqualTo("ü key");
        assertThat(URLDecoder.decode(pair[1], StandardCharsets.UTF_8)).isEqualTo("x=1&y/2%");
    }

    @Test
    void encodeUriComponentKeepsJavascriptsUnreservedSet() {
        assertThat(UrlEncoding.encodeUriComponent("a-_.!~*'()z")).isEqualTo("a-_.!~*'()z");
        assertThat(UrlEncoding.encodeUriComponent("a b/+é")).isEqualTo("a%20b%2F%2B%C3%A9");
    }
}
