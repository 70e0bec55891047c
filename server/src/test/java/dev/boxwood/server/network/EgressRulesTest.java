package dev.boxwood.server.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.Test;

/** Parsing and matching of outbound rules, and what the proxy reads from the first bytes of a connection. */
class EgressRulesTest {

    @Test
    void entriesAreSortedIntoRangesAndDomains() throws Exception {
        EgressRules r = EgressRules.parse(false, List.of("8.8.8.8", "10.0.0.0/8", "Example.COM.", "*.wild.test",
                "2001:db8::/32"), List.of("0.0.0.0/0"));
        assertThat(r.internet()).isFalse();
        assertThat(r.allowOut()).containsExactly("8.8.8.8/32", "10.0.0.0/8", "2001:db8:0:0:0:0:0:0/32", "example.com",
                "*.wild.test");
        assertThat(r.denyOut()).containsExactly("0.0.0.0/0");
        assertThat(r.allowsAddress(InetAddress.getByName("8.8.8.8"))).isTrue();
        assertThat(r.allowsAddress(InetAddress.getByName("8.8.4.4"))).isFalse();
        assertThat(EgressRules.parse(null, null, List.of("8.8.0.0/16")).allowsAddress(InetAddress.getByName("1.1.1.1")))
                .isTrue();
    }

    @Test
    void wildcardsMatchBelowTheDomainOnlyAndExactNamesOnlyThemselves() {
        EgressRules r = EgressRules.parse(false, List.of("*.wild.test", "exact.test"), null);
        assertThat(r.allowsName("x.wild.test")).isTrue();
        assertThat(r.allowsName("A.B.WILD.TEST")).isTrue();
        assertThat(r.allowsName("wild.test")).isFalse();
        assertThat(r.allowsName("notwild.test")).isFalse();
        assertThat(r.allowsName("exact.test")).isTrue();
        assertThat(r.allowsName("sub.exact.test")).isFalse();
    }

    @Test
    void badEntriesAreRefusedWithAReason() {
        assertThatThrownBy(() -> EgressRules.parse(true, List.of("10.0.0.1/8"), null)).hasMessageContaining("host bits");
        assertThatThrownBy(() -> EgressRules.parse(true, List.of("1.2.3.4/33"), null)).hasMessageContaining("prefix");
        assertThatThrownBy(() -> EgressRules.parse(true, List.of("300.1.1.1"), null)).hasMessageContaining("not an IP");
        assertThatThrownBy(() -> EgressRules.parse(true, List.of(""), null)).hasMessageContaining("empty");
        assertThatThrownBy(() -> EgressRules.parse(true, List.of("*"), null)).hasMessageContaining("not a valid");
        assertThatThrownBy(() -> EgressRules.parse(true, List.of("bad..name"), null)).hasMessageContaining("not a valid");
        assertThatThrownBy(() -> EgressRules.parse(true, List.of("-x.test"), null)).hasMessageContaining("not a valid");
        assertThatThrownBy(() -> EgressRules.parse(true, null, List.of("example.com")))
                .hasMessageContaining("domain names are not supported for deny rules");
    }

    @Test
    void alwaysBlockedCoversPrivateMetadataAndIpv6LocalRanges() throws Exception {
        for (String a : List.of("10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "127.0.0.1", "169.254.169.254",
                "::1", "fe80::1", "fd00:ec2::254")) {
            assertThat(AlwaysBlocked.contains(InetAddress.getByName(a))).as(a).isTrue();
        }
        for (String a : List.of("203.0.113.10", "198.51.100.10", "8.8.8.8", "2001:4860::8888")) {
            assertThat(AlwaysBlocked.contains(InetAddress.getByName(a))).as(a).isFalse();
        }
    }

    @Test
    void theProxyReadsSniFromARealClientHelloAndHostFromHttp() throws Exception {
        assertThat(EgressProxy.sni(clientHello("allowed.test"))).isEqualTo("allowed.test");
        assertThat(EgressProxy.sni(clientHello(null))).isNull();
        byte[] record = EgressProxy.readClientHello(new ByteArrayInputStream(clientHello("x.wild.test")));
        assertThat(EgressProxy.sni(record)).isEqualTo("x.wild.test");
        byte[] head = EgressProxy.readHttpHead(new ByteArrayInputStream(
                "GET / HTTP/1.1\r\nhOsT: Allowed.Test:8080\r\nAccept: */*\r\n\r\nbody".getBytes(StandardCharsets.US_ASCII)));
        assertThat(EgressProxy.host(head)).isEqualTo("allowed.test");
        assertThat(EgressProxy.host("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII))).isNull();
    }

    /** The first record the JDK's TLS client sends, with or without a server name. */
    private static byte[] clientHello(String serverName) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, null, null);
        SSLEngine engine = serverName == null ? ctx.createSSLEngine() : ctx.createSSLEngine(serverName, 443);
        engine.setUseClientMode(true);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] bytes = new byte[out.remaining()];
        out.get(bytes);
        return bytes;
    }
}
