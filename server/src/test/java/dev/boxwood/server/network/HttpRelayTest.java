package dev.boxwood.server.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Every request of a proxied keep-alive HTTP connection must be for the host its upstream was chosen for. */
class HttpRelayTest {
    static final String GET = "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n";
    static final String OTHER = "GET /x HTTP/1.1\r\nHost: other.test\r\n\r\n";

    record Relayed(String refused, String sent) {}

    static Relayed relay(String first, String rest) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String refused = HttpRelay.relayRequests(new ByteArrayInputStream(rest.getBytes(StandardCharsets.ISO_8859_1)),
                out, first.getBytes(StandardCharsets.ISO_8859_1), "allowed.test");
        return new Relayed(refused, out.toString(StandardCharsets.ISO_8859_1));
    }

    @Test
    void laterRequestsForTheSameHostPassAndOneForAnotherEndsTheConnectionUnsent() throws Exception {
        String same = "GET /2 HTTP/1.1\r\nHOST: Allowed.TEST:80\r\n\r\n";
        assertThat(relay(GET, same)).isEqualTo(new Relayed(null, GET + same));
        Relayed r = relay(GET, same + OTHER + GET);
        assertThat(r.refused()).isEqualTo("host 'other.test'");
        assertThat(r.sent()).isEqualTo(GET + same);
    }

    @Test
    void bodiesAreNotMistakenForRequests() throws Exception {
        String post = "POST /a HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: " + OTHER.length() + "\r\n\r\n";
        assertThat(relay(post, OTHER + GET)).isEqualTo(new Relayed(null, post + OTHER + GET));
        String chunked = "POST /b HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: chunked\r\n\r\n";
        String body = Integer.toHexString(OTHER.length()) + ";x=y\r\n" + OTHER + "\r\n0\r\nTrailer: 1\r\n\r\n";
        assertThat(relay(chunked, body + GET + OTHER)).isEqualTo(new Relayed("host 'other.test'", chunked + body + GET));
    }

    @Test
    void ambiguousRequestsAreNotSent() throws Exception {
        assertThat(relay("GET / HTTP/1.1\r\nHost: allowed.test\r\nHost: other.test\r\n\r\n", "")).isEqualTo(new Relayed("host 'other.test'", ""));
        assertThat(relay(GET, "GET / HTTP/1.1\r\n\r\n")).isEqualTo(new Relayed("host none", GET));
        assertThat(relay("GET http://other.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n", ""))
                .isEqualTo(new Relayed("target host 'other.test'", ""));
        assertThat(relay("GET HTTP://allowed.test:80/p HTTP/1.1\r\nHost: allowed.test\r\n\r\n", "")).extracting(Relayed::refused)
                .isNull();
        assertThat(relay(GET, "POST / HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"))
                .isEqualTo(new Relayed("framing", GET));
        assertThat(relay(GET, "POST / HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: -1\r\n\r\n")).isEqualTo(new Relayed("framing", GET));
    }

    @Test
    void anUpgradedConnectionPassesThroughButHttpAfterARefusedUpgradeIsStillChecked() throws Exception {
        String upgrade = "GET /ws HTTP/1.1\r\nHost: allowed.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        String frame = "\u0081\u0085abcdHello" + OTHER;
        assertThat(relay(upgrade, frame)).isEqualTo(new Relayed(null, upgrade + frame));
        assertThat(relay(upgrade, OTHER)).isEqualTo(new Relayed("host 'other.test'", upgrade));
    }
}
