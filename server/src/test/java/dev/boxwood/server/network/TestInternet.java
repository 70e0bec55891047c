package dev.boxwood.server.network;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.runtime.HostCommand;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The egress tests' "internet": a network namespace made here, holding documentation-range addresses (never routed
 * on the real internet) with HTTP/TLS listeners that log each connection and a DNS server for the test names. Host
 * routes send exactly those /32s to it; nothing is ever sent to an address outside this machine.
 */
final class TestInternet implements AutoCloseable {
    /** Per test JVM, so that two test runs on one host (other engineers' suites) never share addresses or names. */
    private static final int K = (int) (ProcessHandle.current().pid() % 40);
    static final String A = "203.0.113." + (10 + 2 * K);
    static final String B = "203.0.113." + (11 + 2 * K);
    static final String C = "198.51.100." + (10 + K);
    static final String DNS = "198.51.100." + (100 + K);
    private static final String LINK = "10.251." + (200 + K) + ".";
    static final String PRIVATE = LINK + "2";
    static final List<String> ROUTED = List.of(A, B, C, DNS);
    private static final String NETNS = "bwtest-egress-" + K;
    private static final String HOST_IF = "bwte" + K;

    /** Connects from inside a sandbox; prints "REPLY <status line> <body>" or "FAIL <error>". */
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

    /**
     * Asks the sandbox's resolver (its resolv.conf's nameserver) for the A record of a name over "udp" or "tcp";
     * prints "ANSWER <rcode> <answer count>" or "FAIL <error>".
     */
    static final String DNS_PROBE = """
            import socket, struct, sys, random
            mode, name = sys.argv[1], sys.argv[2]
            server = [l.split()[1] for l in open('/etc/resolv.conf') if l.startswith('nameserver')][0]
            qid = random.randrange(65536)
            q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
            q += b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\\0' + struct.pack('>HH', 1, 1)
            try:
                if mode == 'udp':
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
                    s.sendto(q, (server, 53)); a = s.recv(4096)
                else:
                    s = socket.create_connection((server, 53), timeout=10)
                    s.sendall(struct.pack('>H', len(q)) + q)
                    n = struct.unpack('>H', s.recv(2))[0]; a = b''
                    while len(a) < n:
                        chunk = s.recv(n - len(a))
                        if not chunk: raise EOFError('short answer')
                        a += chunk
                rid, flags, qd, an = struct.unpack('>HHHH', a[:8])
                if rid != qid: raise ValueError('answer to another query')
                print('ANSWER', ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'][flags & 0xF], an)
            except Exception as e:
                print('FAIL', type(e).__name__, e)
            """;

    private final ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
    private Process upstream;

    TestInternet() throws Exception {
        close(); // whatever an interrupted earlier run left
        StringBuilder inside = new StringBuilder("link set lo up\nlink set eth0 up\naddr add " + PRIVATE + "/24 dev eth0\n");
        StringBuilder routes = new StringBuilder();
        for (String a : ROUTED) {
            inside.append("addr add ").append(a).append("/32 dev eth0\n");
            routes.append("route add ").append(a).append("/32 via ").append(PRIVATE).append('\n');
        }
        HostCommand.check(List.of("ip", "-batch", "-"), "netns add " + NETNS + "\nlink add " + HOST_IF
                + " type veth peer name eth0 netns " + NETNS + "\naddr add " + LINK + "1/24 dev " + HOST_IF
                + "\nlink set " + HOST_IF + " up\n");
        HostCommand.check(List.of("ip", "-n", NETNS, "-batch", "-"), inside + "route add default via " + LINK + "1\n");
        HostCommand.check(List.of("ip", "-batch", "-"), routes.toString());
        // Every test address must be routed to the test namespace before anything is sent to it.
        for (String a : ROUTED) {
            assertThat(HostCommand.check(List.of("ip", "route", "get", a))).contains("dev " + HOST_IF);
        }
        Path script = Path.of(TestInternet.class.getResource("/egress/upstream.py").toURI());
        upstream = new ProcessBuilder("ip", "netns", "exec", NETNS, "python3", "-u", script.toString(), DNS,
                "allowed.test=" + A, "other.test=" + B, "x.wild.test=" + C, "a.b.wild.test=" + C, "wild.test=" + B,
                "private.test=" + PRIVATE).redirectErrorStream(true).start();
        BufferedReader lines = new BufferedReader(new InputStreamReader(upstream.getInputStream(), StandardCharsets.UTF_8));
        assertThat(lines.readLine()).isEqualTo("ready");
        Thread.ofVirtual().start(() -> lines.lines().forEach(log::add));
    }

    static List<InetSocketAddress> resolvers() {
        return List.of(new InetSocketAddress(DNS, 53));
    }

    /** Connections the upstream logged so far to address:port. */
    long conns(String address, int port) {
        return log.stream().filter(l -> l.startsWith("conn " + address + " " + port + " ")).count();
    }

    /** Connections to address:port whose request named {@code host} (the last Host header the upstream read). */
    long conns(String address, int port, String host) {
        return log.stream().filter(l -> l.equals("conn " + address + " " + port + " " + host)).count();
    }

    /** Queries for a name the upstream DNS server received so far. */
    long dnsQueries(String name) {
        return log.stream().filter(l -> l.startsWith("dns " + name + " ")).count();
    }

    /** The upstream logs asynchronously: wait (bounded) for the connection a successful probe made. */
    void awaitConn(String address, int port, long before) throws InterruptedException {
        await(() -> conns(address, port), before, "connections to " + address + ":" + port);
    }

    /** Like {@link #awaitConn}, for the query a successful lookup made. */
    void awaitDns(String name, long before) throws InterruptedException {
        await(() -> dnsQueries(name), before, "queries for " + name);
    }

    private static void await(java.util.function.LongSupplier count, long before, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (count.getAsLong() <= before && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(count.getAsLong()).as(what).isGreaterThan(before);
    }

    @Override
    public void close() {
        if (upstream != null) upstream.destroyForcibly();
        for (String a : ROUTED) HostCommand.run(List.of("ip", "route", "del", a + "/32"));
        HostCommand.run(List.of("ip", "link", "del", HOST_IF));
        HostCommand.run(List.of("ip", "netns", "del", NETNS));
    }
}
