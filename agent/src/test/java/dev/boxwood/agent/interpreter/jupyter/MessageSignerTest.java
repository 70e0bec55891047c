package dev.boxwood.agent.interpreter.jupyter;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MessageSignerTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void signsLikeHmacSha256OverTheFourPartsEveryTimeWithOneReusedMac() {
        MessageSigner signer = new MessageSigner("key");
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), split over the four parts
        String expected = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
        for (int i = 0; i < 3; i++) {
            assertThat(signer.sign(b("The quick "), b("brown fox "), b("jumps over "), b("the lazy dog")))
                    .isEqualTo(expected);
        }
        assertThat(signer.verify(expected, b("The quick "), b("brown fox "), b("jumps over "), b("the lazy dog")))
                .isTrue();
        assertThat(signer.verify(expected, b("The quick "), b("brown fox "), b("jumps over "), b("the lazy cat")))
                .isFalse();
    }
}
