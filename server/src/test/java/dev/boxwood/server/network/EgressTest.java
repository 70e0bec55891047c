package dev.boxwood.server.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.boxwood.server.runtime.CrunRuntime;
import dev.boxwood.server.runtime.HostCommand;
import dev.boxwood.server.runtime.SandboxSpec;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Egress rules with real traffic from a real crun sandbox to a test "internet": a network namespace this test creates
 * holding documentation-range addresses (203.0.113.0/24, 198.51.100.0/24, never routed on the internet) with HTTP/TLS
 * listeners and a DNS server. Nothing is ever sent to an address outside this machine.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EgressTest {
    static final String A = "203.0.113.10";
    static final String B = "203.0.113.11";
    static final String C = "198.51.100.10";
    static final String DNS = "198.51.100.53";
    static final String PRIVATE = "10.251.252.2";
    static final List<String> ROUTED = List.of(A, B, C, DNS);
    static final String NETNS = "bwtest-egress";
    static final String HOST_IF = "bwte0";

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

    /** Connects from inside the sandbox; prints "REPLY <status line> <body>" or "FAIL <error>". */
    static final String PROBE = """
            import socket, ssl, sys
            mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
            name = sys.argv[4] if len(sys.argv) > 4 else ''
            try:
                s = socket.create_connection((host, port), timeout=3)
                if mode == 'http':
                    s.sendall(('GET / HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' % (name or host)).encode())
                    data = b''
                    while True:
                        chunk = s.recv(4096)
                        if not chunk: break
                        data += chunk
                    text = data.decode(errors='replace')
                    print('REPLY', text.split('\\r\\n')[0], text.split('\\r\\n\\r\\n', 1)[-1].strip())
                else:
                    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
                    try:
                        ctx.wrap_socket(s, server_hostname=name or None)
                    except Exception as e:
                        print('REPLY tls', type(e).__name__)
            except Exception as e:
                print('FAIL', type(e).__name__, e)
            """;

    Path data;
    Path run;
    CrunRuntime runtime;
    Process upstream;
    final ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
    String id;

    @BeforeAll
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        assumeTrue(HostCommand.run(List.of("crun", "--version")).ok(), "needs crun");
        Path templates = Path.of(System.getProperty("boxwood.dataDir", "/var/lib/boxwood"), "templates");
        assumeTrue(Files.isRegularFile(templates.resolve("base/template.properties")), "needs the base template");
        startUpstream();
        data = Files.createTempDirectory(Path.of("/var/tmp"), "boxwood-egress-test-");
        run = Files.createTempDirectory(Path.of("/run"), "boxwood-egress-test-");
        Files.setAttribute(data, "unix:mode", 0711);
        Files.setAttribute(run, "unix:mode", 0711);
        Files.createDirectories(data.resolve("templates"));
        Files.createSymbolicLink(data.resolve("templates/base"), templates.resolve("base"));
        runtime = newRuntime();
        id = "te" + Long.toString(System.nanoTime(), 36);
        runtime.start(new SandboxSpec(id, "base", 1, 256, 512));
    }

    private CrunRuntime newRuntime() {
        CrunRuntime r = new CrunRuntime(new CrunRuntime.Config(data, run, Path.of(System.getProperty("java.home")),
                Path.of("/nonexistent/agent.jar"), STUB, 256, true, Duration.ofSeconds(60)));
        r.network().useResolvers(List.of(new InetSocketAddress(DNS, 53)));
        return r;
    }

    private void startUpstream() throws Exception {
        tearDownUpstream();
        StringBuilder inside = new StringBuilder("link set lo up\nlink set eth0 up\naddr add " + PRIVATE + "/24 dev eth0\n");
        StringBuilder routes = new StringBuilder();
        for (String a : ROUTED) {
            inside.append("addr add ").append(a).append("/32 dev eth0\n");
            routes.append("route add ").append(a).append("/32 via ").append(PRIVATE).append('\n');
        }
        HostCommand.check(List.of("ip", "-batch", "-"), "netns add " + NETNS + "\nlink add " + HOST_IF
                + " type veth peer name eth0 netns " + NETNS + "\naddr add 10.251.252.1/24 dev " + HOST_IF
                + "\nlink set " + HOST_IF + " up\n");
        HostCommand.check(List.of("ip", "-n", NETNS, "-batch", "-"), inside + "route add default via 10.251.252.1\n");
        HostCommand.check(List.of("ip", "-batch", "-"), routes.toString());
        // Every test address must be routed to the test namespace before anything is sent to it.
        for (String a : ROUTED) {
            assertThat(HostCommand.check(List.of("ip", "route", "get", a))).contains("dev " + HOST_IF);
        }
        Path script = Path.of(getClass().getResource("/egress/upstream.py").toURI());
        upstream = new ProcessBuilder("ip", "netns", "exec", NETNS, "python3", "-u", script.toString(), DNS,
                "allowed.test=" + A, "other.test=" + B, "x.wild.test=" + C, "a.b.wild.test=" + C, "wild.test=" + B,
                "private.test=" + PRIVATE).redirectErrorStream(true).start();
        BufferedReader lines = new BufferedReader(new InputStreamReader(upstream.getInputStream(), StandardCharsets.UTF_8));
        assertThat(lines.readLine()).isEqualTo("ready");
        Thread.ofVirtual().start(() -> lines.lines().forEach(log::add));
    }

    private void tearDownUpstream() {
        if (upstream != null) upstream.destroyForcibly();
        for (String a : ROUTED) HostCommand.run(List.of("ip", "route", "del", a + "/32"));
        HostCommand.run(List.of("ip", "link", "del", HOST_IF));
        HostCommand.run(List.of("ip", "netns", "del", NETNS));
    }

    @AfterAll
    void tearDown() {
        if (runtime != null) {
            for (String leftover : runtime.leftovers()) runtime.destroy(leftover);
            runtime.network().close();
        }
        tearDownUpstream();
        if (data != null) HostCommand.run(List.of("rm", "-rf", "--one-file-system", data.toString(), run.toString()));
    }

    private String probe(String mode, String host, int port, String name) {
        return runtime.exec(id, List.of("python3", "-c", PROBE, mode, host, Integer.toString(port), name)).output().strip();
    }

    private void rules(Boolean internet, List<String> allow, List<String> deny) {
        runtime.applyEgress(id, EgressRules.parse(internet, allow, deny));
    }

    /** Connections the upstream logged so far to address:port. */
    private long conns(String address, int port) {
        return log.stream().filter(l -> l.startsWith("conn " + address + " " + port + " ")).count();
    }

    /** The upstream logs asynchronously: wait (bounded) for the connection a successful probe made. */
    private void awaitConn(String address, int port, long before) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (conns(address, port) <= before && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(conns(address, port)).as("connections to %s:%d", address, port).isGreaterThan(before);
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
        long httpA = conns(A, 80);
        assertThat(probe("http", "allowed.test", 80, "")).contains("200 OK").contains("hello " + A + ":80");
        awaitConn(A, 80, httpA);
        long tlsA = conns(A, 443);
        probe("tls", "allowed.test", 443, "allowed.test");
        awaitConn(A, 443, tlsA);
        // wildcard: any depth below, not the apex
        assertThat(probe("http", "x.wild.test", 80, "")).contains("hello " + C + ":80");
        assertThat(probe("http", "a.b.wild.test", 80, "")).contains("hello " + C + ":80");
        long apex = conns(B, 80);
        assertThat(probe("http", "wild.test", 80, "")).contains("403");
        // not allowed: refused, never connected
        assertThat(probe("http", "other.test", 80, "")).contains("403");
        assertThat(conns(B, 80)).isEqualTo(apex);
        // allowed by name, but it resolves to a private address
        assertThat(probe("http", "private.test", 80, "")).contains("403");
        // the internet is off for everything else
        assertThat(probe("http", A, 8080, "")).startsWith("FAIL");
    }

    @Test
    @Order(5)
    void bareIpHttpsAndMismatchedNamesAreRefused() {
        rules(false, List.of("allowed.test"), List.of());
        long tlsA = conns(A, 443);
        long tlsB = conns(B, 443);
        probe("tls", A, 443, ""); // no SNI at all
        probe("tls", B, 443, "other.test"); // SNI of a name not allowed
        assertThat(probe("http", B, 80, "other.test")).contains("403"); // Host not allowed
        assertThat(conns(A, 443)).isEqualTo(tlsA);
        assertThat(conns(B, 443)).isEqualTo(tlsB);
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
        assertThat(runtime.exec(id, List.of("getent", "hosts", "other.test")).output()).contains(B);
    }
}
