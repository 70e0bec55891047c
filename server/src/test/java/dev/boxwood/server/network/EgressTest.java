package dev.boxwood.server.network;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.runtime.CrunRuntime;
import dev.boxwood.server.runtime.SandboxSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Egress rules with real traffic from a real crun sandbox (a stand-in agent, so it boots fast) to the
 * {@link TestInternet}. Rules are applied through the runtime, as the server does.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EgressTest {
    static final String A = TestInternet.A;
    static final String B = TestInternet.B;
    static final String C = TestInternet.C;
    static final String PRIVATE = TestInternet.PRIVATE;

    static final List<String> STUB = List.of("/usr/bin/tini", "-s", "--", "/usr/bin/python3", "-c", """
            import http.server
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(204 if self.path == '/health' else 404)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            http.server.ThreadingHTTPServer(('0.0.0.0', 49983), H).serve_forever()
            """);

    SandboxDirs dirs;
    CrunRuntime runtime;
    TestInternet internet;
    String id;

    @BeforeAll
    void setUp() throws Exception {
        dirs = SandboxDirs.create("boxwood-egress-test-");
        internet = new TestInternet();
        runtime = newRuntime();
        id = "te" + Long.toString(System.nanoTime(), 36);
        runtime.start(new SandboxSpec(id, "base", 1, 256, 512));
    }

    private CrunRuntime newRuntime() {
        CrunRuntime r = new CrunRuntime(new CrunRuntime.Config(dirs.data(), dirs.run(), Path.of(System.getProperty("java.home")),
                Path.of("/nonexistent/agent.jar"), STUB, 256, true, Duration.ofSeconds(60)));
        r.network().useResolvers(TestInternet.resolvers());
        return r;
    }

    @AfterAll
    void tearDown() {
        if (runtime != null) {
            for (String leftover : runtime.leftovers()) runtime.destroy(leftover);
            runtime.network().close();
        }
        if (internet != null) internet.close();
        if (dirs != null) dirs.remove();
    }

    private String probe(String mode, String host, int port, String name) {
        return runtime.exec(id, List.of("python3", "-c", TestInternet.PROBE, mode, host, Integer.toString(port), name)).output().strip();
    }

    private void rules(Boolean internet, List<String> allow, List<String> deny) {
        runtime.applyEgress(id, EgressRules.parse(internet, allow, deny));
    }

    @Test
    @Order(1)
    void openByDefaultAndDnsWorksInside() {
        rules(null, null, null);
        assertThat(probe("http", A, 8080, "")).contains("200 OK").contains("hello " + A + ":8080");
        assertThat(runtime.exec(id, List.of("cat", "/etc/resolv.conf")).output()).contains("nameserver 10.88.0.1");
        assertThat(runtime.exec(id, List.of("getent", "hosts", "allowed.test")).output()).contains(A);
        assertThat(runtime.exec(id, List.of("getent", "hosts", "x.wild.test")).output()).contains(C);
    }

    @Test
    @Order(2)
    void allowWinsOverDenyForAnAddressAndACidr() {
        rules(true, List.of(A), List.of("203.0.113.0/24"));
        assertThat(probe("http", A, 8080, "")).contains("hello " + A);
        assertThat(probe("http", B, 8080, "")).startsWith("FAIL");
        assertThat(probe("http", C, 8080, "")).contains("hello " + C); // not denied, internet on
        // Updated at run time: new connections see the new rules.
        rules(false, List.of("198.51.100.0/24"), List.of());
        assertThat(probe("http", C, 8080, "")).contains("hello " + C);
        assertThat(probe("http", A, 8080, "")).startsWith("FAIL");
    }

    @Test
    @Order(3)
    void alwaysBlockedRangesStayBlockedEvenWhenAllowed() {
        rules(true, List.of("10.0.0.0/8", PRIVATE), List.of());
        assertThat(probe("http", PRIVATE, 8080, "")).startsWith("FAIL");
        assertThat(probe("http", "169.254.169.254", 80, "")).startsWith("FAIL");
    }

    @Test
    @Order(4)
    void domainsPassThroughTheProxyWithTheInternetOff() throws Exception {
        rules(false, List.of("allowed.test", "*.wild.test", "private.test"), List.of());
        long httpA = internet.conns(A, 80);
        assertThat(probe("http", "allowed.test", 80, "")).contains("200 OK").contains("hello " + A + ":80");
        internet.awaitConn(A, 80, httpA);
        long tlsA = internet.conns(A, 443);
        probe("tls", "allowed.test", 443, "allowed.test");
        internet.awaitConn(A, 443, tlsA);
        // wildcard: any depth below, not the apex
        assertThat(probe("http", "x.wild.test", 80, "")).contains("hello " + C + ":80");
        assertThat(probe("http", "a.b.wild.test", 80, "")).contains("hello " + C + ":80");
        long apex = internet.conns(B, 80);
        assertThat(probe("http", B, 80, "wild.test")).contains("403");
        // not allowed: refused, never connected (nor resolved: see the DNS case)
        assertThat(probe("http", B, 80, "other.test")).contains("403");
        assertThat(probe("http", "other.test", 80, "")).startsWith("FAIL");
        assertThat(internet.conns(B, 80)).isEqualTo(apex);
        // allowed by name, but it resolves to a private address
        assertThat(probe("http", "private.test", 80, "")).contains("403");
        // the internet is off for everything else
        assertThat(probe("http", A, 8080, "")).startsWith("FAIL");
    }

    @Test
    @Order(5)
    void bareIpHttpsAndMismatchedNamesAreRefused() {
        rules(false, List.of("allowed.test"), List.of());
        long tlsA = internet.conns(A, 443);
        long tlsB = internet.conns(B, 443);
        probe("tls", A, 443, ""); // no SNI at all
        probe("tls", B, 443, "other.test"); // SNI of a name not allowed
        assertThat(probe("http", B, 80, "other.test")).contains("403"); // Host not allowed
        assertThat(internet.conns(A, 443)).isEqualTo(tlsA);
        assertThat(internet.conns(B, 443)).isEqualTo(tlsB);
        // An allowed Host sent to another address goes where the proxy resolved the name, not where it was sent.
        assertThat(probe("http", B, 80, "allowed.test")).contains("hello " + A + ":80");
    }

    @Test
    @Order(6)
    void etcHostsInsideTheSandboxDecidesNothing() {
        rules(false, List.of("allowed.test"), List.of());
        runtime.exec(id, List.of("sh", "-c", "echo '" + B + " allowed.test' >> /etc/hosts"));
        assertThat(runtime.exec(id, List.of("getent", "hosts", "allowed.test")).output()).contains(B);
        assertThat(probe("http", "allowed.test", 80, "")).contains("hello " + A + ":80");
    }

    @Test
    @Order(7)
    void rulesHoldAcrossPauseAndResume() {
        rules(false, List.of(C, "allowed.test"), List.of());
        runtime.pause(id);
        runtime.resume(id);
        assertThat(probe("http", C, 8080, "")).contains("hello " + C);
        assertThat(probe("http", A, 8080, "")).startsWith("FAIL");
        assertThat(probe("http", "allowed.test", 80, "")).contains("hello " + A + ":80");
    }

    @Test
    @Order(8)
    void rulesAndTheProxySurviveARestartOfTheServerProcess() throws Exception {
        rules(false, List.of(C, "allowed.test"), List.of());
        // A restarted server: this process's listeners are gone, the kernel's rules stay; a new runtime reattaches
        // and the server applies the stored rules again.
        runtime.network().close();
        CrunRuntime again = newRuntime();
        assertThat(again.reattach(id)).isPresent();
        runtime = again;
        rules(false, List.of(C, "allowed.test"), List.of());
        assertThat(probe("http", C, 8080, "")).contains("hello " + C);
        assertThat(probe("http", A, 8080, "")).startsWith("FAIL");
        assertThat(probe("http", "allowed.test", 80, "")).contains("hello " + A + ":80");
        rules(null, null, null);
        assertThat(runtime.exec(id, List.of("getent", "hosts", "other.test")).output()).contains(B);
    }

    @Test
    @Order(10)
    void everyRequestOfAKeepAliveConnectionIsCheckedNotOnlyTheFirst() throws Exception {
        rules(false, List.of("allowed.test"), List.of());
        long allowed = internet.conns(A, 80, "allowed.test");
        long other = internet.conns(A, 80, "other.test");
        long before = internet.conns(A, 80);
        // Two requests in one write on one connection: the second names a host the rules do not allow.
        String out = runtime.exec(id, List.of("python3", "-c", """
                import socket
                s = socket.create_connection(('allowed.test', 80), timeout=10)
                s.sendall(b'GET / HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\nGET / HTTP/1.1\\r\\nHost: other.test\\r\\n\\r\\n')
                data = b''
                while True:
                    chunk = s.recv(4096)
                    if not chunk: break
                    data += chunk
                print(data.decode(errors='replace').split('\\r\\n')[0])
                """)).output().strip();
        assertThat(out).as("the answer to the first request still comes back").isEqualTo("HTTP/1.1 200 OK");
        internet.awaitConn(A, 80, before);
        assertThat(internet.conns(A, 80, "allowed.test")).isEqualTo(allowed + 1);
        assertThat(internet.conns(A, 80, "other.test")).isEqualTo(other);
    }

    private String dns(String mode, String name) {
        return runtime.exec(id, List.of("python3", "-c", TestInternet.DNS_PROBE, mode, name)).output().strip();
    }

    @Test
    @Order(9)
    void withTheInternetOffOnlyAllowedNamesAreResolved() throws Exception {
        rules(false, List.of("allowed.test", "*.wild.test", C), List.of());
        long other = internet.dnsQueries("other.test");
        long exfil = internet.dnsQueries("c2VjcmV0.other.test");
        assertThat(dns("udp", "other.test")).isEqualTo("ANSWER REFUSED 0");
        assertThat(dns("tcp", "other.test")).isEqualTo("ANSWER REFUSED 0");
        assertThat(dns("udp", "c2VjcmV0.other.test")).isEqualTo("ANSWER REFUSED 0");
        assertThat(dns("udp", "wild.test")).isEqualTo("ANSWER REFUSED 0");
        long allowed = internet.dnsQueries("x.wild.test");
        assertThat(dns("udp", "x.wild.test")).isEqualTo("ANSWER NOERROR 1");
        assertThat(dns("udp", "allowed.test")).isEqualTo("ANSWER NOERROR 1");
        // The upstream logs in order: once it logged the allowed query, it would have logged the refused ones.
        internet.awaitDns("x.wild.test", allowed);
        assertThat(internet.dnsQueries("other.test")).as("queries that reached the upstream").isEqualTo(other);
        assertThat(internet.dnsQueries("c2VjcmV0.other.test")).isEqualTo(exfil);

        // Denying all of IPv4 is the internet off, for DNS too.
        rules(true, List.of("allowed.test"), List.of("0.0.0.0/0"));
        assertThat(dns("udp", "other.test")).isEqualTo("ANSWER REFUSED 0");
        assertThat(dns("udp", "allowed.test")).isEqualTo("ANSWER NOERROR 1");
        // A narrower deny keeps full DNS, and so does the internet on again.
        rules(true, List.of(), List.of("203.0.113.0/24"));
        assertThat(dns("udp", "other.test")).isEqualTo("ANSWER NOERROR 1");
        rules(null, null, null);
        assertThat(dns("udp", "other.test")).isEqualTo("ANSWER NOERROR 1");
        assertThat(dns("udp", "nosuchname.test")).isEqualTo("ANSWER NXDOMAIN 0");
    }
}
