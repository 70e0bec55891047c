package dev.boxwood.sdk.files;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FileSignatureTest {
    // Expected values computed independently: python3 hashlib.sha256 + base64, padding stripped.
    @Test
    void withoutUserOrExpiration() {
        assertThat(FileSignature.compute("hello.txt", "read", null, "tok123", null))
                .isEqualTo("v1_NusEeHeBFpLh24504GCcGLjsbZK6cTxcYG40tcX8qIw");
    }

    @Test
    void withUserAndExpiration() {
        assertThat(FileSignature.compute("/home/user/a b.txt", "write", "root", "tok123", 1700000000L))
                .isEqualTo("v1_k1QYkBW4OB3uFp02zT+cepZR+ATM84Nhbz4T0LCH6/s");
    }
}
