package dev.boxwood.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.auth.BindPolicy;
import dev.boxwood.server.loopback.LoopbackRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server listens beyond loopback only with TLS or an explicit, named acceptance of clear text. */
class BindPolicyTest {

    @Test
    void loopbackIsFineAnythingElseNeedsTlsOrTheFlag() {
        for (String loopback : new String[] {"127.0.0.1", "127.9.9.9", "::1", "localhost"}) {
            assertThat(BindPolicy.refusal(loopback, false, false)).as(loopback).isNull();
        }
        for (String open : new String[] {"0.0.0.0", "::", "10.1.2.3", "192.0.2.1", "", "no-such-host.invalid"}) {
            assertThat(BindPolicy.refusal(open, false, false)).as(open).contains("without TLS")
                    .contains("--insecure-public-bind");
            assertThat(BindPolicy.refusal(open, true, false)).as(open).isNull();
            assertThat(BindPolicy.refusal(open, false, true)).as(open).isNull();
        }
    }

    @Test
    void theServerRefusesToStartOnAPublicAddressWithoutTls(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("templates/base/rootfs"));
        Config open = Config.builder().dataDir(dir).bind("0.0.0.0").port(0).build();
        assertThatThrownBy(() -> new BoxwoodServer(open, new LoopbackRuntime()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("without TLS");
        // Nothing was opened or locked: the same data dir serves on loopback right after.
        try (BoxwoodServer ok = new BoxwoodServer(Config.builder().dataDir(dir).port(0).build(), new LoopbackRuntime())
                .start()) {
            assertThat(ok.uri().getHost()).isEqualTo("127.0.0.1");
        }
        // With the explicit flag the operator takes the risk, and it listens.
        try (BoxwoodServer flagged = new BoxwoodServer(Config.builder().dataDir(dir).bind("0.0.0.0").port(0)
                .insecurePublicBind(true).build(), new LoopbackRuntime()).start()) {
            assertThat(flagged.uri().getPort()).isPositive();
        }
    }
}
