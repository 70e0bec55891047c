package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResolvConfTest {

    @Test
    void passesOnOnlyResolversASandboxMayReach(@TempDir Path dir) throws Exception {
        Path host = dir.resolve("resolv.conf");
        Files.writeString(host, """
                # comment
                nameserver 127.0.0.53
                nameserver 10.255.255.53
                nameserver 169.254.169.253
                nameserver fd00::1
                nameserver 9.9.9.9
                search example.internal
                """);
        assertThat(CrunRuntime.sandboxResolvConf(host)).isEqualTo("nameserver 9.9.9.9\n");
    }

    @Test
    void privateResolversOnlyMeansNoResolver(@TempDir Path dir) throws Exception {
        Path host = dir.resolve("resolv.conf");
        Files.writeString(host, "nameserver 10.255.255.53\nnameserver 192.168.1.1\n");
        assertThat(CrunRuntime.sandboxResolvConf(host)).doesNotContain("nameserver");
        assertThat(CrunRuntime.sandboxResolvConf(dir.resolve("missing"))).doesNotContain("nameserver");
    }
}
