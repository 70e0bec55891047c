package dev.boxwood.server.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sandboxes resolve through the DNS forwarder, which asks the host's resolvers from the server process: so every
 * nameserver of the host counts, loopback and private ones included (systemd-resolved, a cloud's internal DNS).
 */
class ResolvConfTest {

    @Test
    void everyNameserverOfTheHostIsAnUpstreamInItsOrder(@TempDir Path dir) throws Exception {
        Path host = dir.resolve("resolv.conf");
        Files.writeString(host, """
                # comment
                nameserver 127.0.0.53
                nameserver 10.255.255.53
                  nameserver   fd00::1
                nameserver not-an-address
                nameserver
                search example.internal
                options ndots:2
                """);
        assertThat(UpstreamResolver.fromResolvConf(host).servers()).extracting(InetSocketAddress::toString)
                .containsExactly("/127.0.0.53:53", "/10.255.255.53:53", "/[fd00:0:0:0:0:0:0:1]:53");
    }

    @Test
    void noFileMeansNoUpstream(@TempDir Path dir) {
        assertThat(UpstreamResolver.fromResolvConf(dir.resolve("missing")).servers()).isEmpty();
    }
}
