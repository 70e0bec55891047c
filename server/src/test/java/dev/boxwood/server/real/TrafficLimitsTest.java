package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.network.NetworkAttachment;
import dev.boxwood.server.network.SandboxNetwork;
import dev.boxwood.server.network.TrafficLimits;
import dev.boxwood.server.runtime.HostCommand;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Per-sandbox connection and bandwidth caps on real sandboxes: one sandbox past its cap is refused while another is
 * not, in both directions; a shaped sandbox moves bytes at a fraction of an unshaped one's rate.
 */
class TrafficLimitsTest extends RealServerTest {
    /** A documentation address: never routed on the internet; here it lives in a namespace this test makes. */
    static final String UPSTREAM = "203.0.113.213";
    static final int UPSTREAM_PORT = 9000;
    static final String NETNS = "bwtest-limits";
    static final String HOST_IF = "bwtlim0";
    Process listener;

    /** Before the real server's clean-up (JUnit runs a subclass's @AfterEach first). */
    @AfterEach
    void tearDown() {
        if (listener != null) listener.destroyForcibly();
        removeUpstream();
    }

    @Test
    void connectionCapsRefuseOnlyTheCappedSandboxAndShapingBoundsItsThroughput() throws Exception {
        startUpstream();
        try (BoxwoodServer server = real.start(null)) {
            String key = server.teams().createKey(server.teams().ensureTeam("limits"));
            String capped = create(server, key);
            String other = create(server, key);
            IngressTest.serve(real, server, capped, null);
            IngressTest.serve(real, server, other, null);
            SandboxNetwork nets = new SandboxNetwork(real.runDir);
            NetworkAttachment net = nets.find(capped).orElseThrow();
            NetworkAttachment otherNet = nets.find(other).orElseThrow();

            // The defaults are in place from the start.
            assertThat(HostCommand.check(List.of("nft", "list", "chain", "inet", "boxwood_limits", "from_" + net.hostInterface())))
                    .contains("ct count over " + TrafficLimits.Settings.DEFAULT.maxConnections());
            assertThat(HostCommand.check(List.of("tc", "qdisc", "show", "dev", net.hostInterface()))).contains("htb");
            assertThat(HostCommand.check(List.of("tc", "-n", net.netns(), "qdisc", "show", "dev", "eth0"))).contains("htb");

            TrafficLimits.apply(net, new TrafficLimits.Settings(8, 0));

            // Into the sandbox: at most 8 live connections; another sandbox takes all 12.
            List<Socket> held = new ArrayList<>();
            try {
                int into = connect(net.sandboxAddress().getHostAddress(), IngressTest.PORT, 12, held);
                assertThat(into).isBetween(1, 8);
                assertThat(connect(otherNet.sandboxAddress().getHostAddress(), IngressTest.PORT, 12, held)).isEqualTo(12);
            } finally {
                closeAll(held);
            }
            // Closed connections stop counting once both sides have closed them.
            java.time.Instant deadline = java.time.Instant.now().plusSeconds(20);
            int again = 0;
            while (again == 0 && java.time.Instant.now().isBefore(deadline)) {
                again = connect(net.sandboxAddress().getHostAddress(), IngressTest.PORT, 1, held);
                if (again == 0) Thread.sleep(200);
            }
            assertThat(again).isEqualTo(1);
            closeAll(held);

            // Out of the sandbox to "the internet": 8 of 12 get through; the other sandbox gets all 12.
            assertThat(connectFrom(capped, 12)).isEqualTo(8);
            assertThat(connectFrom(other, 12)).isEqualTo(12);

            // Bandwidth: 4 Mbit/s (0.5 MB/s) each way for the capped sandbox, the default 100 Mbit/s for the other.
            // The cap is low so that the ratios below hold with a wide margin on a loaded machine, where the
            // unshaped transfers (and the agent's upload) are slowed by CPU, not by the network.
            TrafficLimits.apply(net, new TrafficLimits.Settings(0, 4));
            double uploadCapped = upload(net, 3 << 20);
            double downloadCapped = download(net);
            double downloadOther = download(otherNet);
            double uploadOther = upload(otherNet, 3 << 20);
            assertThat(uploadCapped).as("bytes/s to the capped sandbox").isLessThan(1.0e6);
            assertThat(downloadCapped).as("bytes/s from the capped sandbox").isLessThan(1.0e6);
            assertThat(downloadOther / downloadCapped).as("other / capped, from the sandbox").isGreaterThan(2.0);
            assertThat(uploadOther / uploadCapped).as("other / capped, to the sandbox").isGreaterThan(2.0);
            // The server's own connection to the agent is not shaped: a file upload outruns the cap.
            String token = JSON.readTree(real.call(server, "GET", "/sandboxes/" + capped, key, null).body())
                    .get("envdAccessToken").asText();
            byte[] file = new byte[3 << 20];
            long start = System.nanoTime();
            var written = real.call(server, "POST", "/files?path=/tmp/big", null, new String(file, StandardCharsets.ISO_8859_1),
                    "E2b-Sandbox-Id", capped, "E2b-Sandbox-Port", "49983", "X-Access-Token", token,
                    "Content-Type", "application/octet-stream");
            double agentUpload = file.length / ((System.nanoTime() - start) / 1e9);
            assertThat(written.statusCode()).isEqualTo(200);
            assertThat(agentUpload / uploadCapped).as("agent upload / capped upload").isGreaterThan(2.0);

            // A restarted server's host set-up puts the configured limits back over whatever the kernel kept.
            new SandboxNetwork(real.runDir).prepareHost();
            assertThat(HostCommand.check(List.of("nft", "list", "chain", "inet", "boxwood_limits", "from_" + net.hostInterface())))
                    .contains("ct count over " + TrafficLimits.Settings.DEFAULT.maxConnections());
            assertThat(HostCommand.check(List.of("tc", "class", "show", "dev", net.hostInterface())))
                    .contains("rate " + TrafficLimits.Settings.DEFAULT.mbit() + "Mbit");

            // Re-applying is idempotent; destroying the sandbox removes its chains.
            TrafficLimits.apply(net);
            TrafficLimits.apply(net);
            assertThat(HostCommand.check(List.of("nft", "list", "map", "inet", "boxwood_limits", "from_sandbox")))
                    .containsOnlyOnce("\"" + net.hostInterface() + "\"");
            assertThat(real.call(server, "DELETE", "/sandboxes/" + capped, key, null).statusCode()).isEqualTo(204);
            assertThat(server.sandboxes().awaitTeardowns(java.time.Duration.ofSeconds(60))).isTrue();
            assertThat(HostCommand.run(List.of("nft", "list", "chain", "inet", "boxwood_limits",
                    "from_" + net.hostInterface())).ok()).isFalse();
        }
    }

    String create(BoxwoodServer server, String key) throws Exception {
        return createFrom(server, key, "base");
    }

    /** Opens up to {@code n} connections and keeps them; returns how many the peer accepted. */
    static int connect(String host, int port, int n, List<Socket> held) {
        int ok = 0;
        for (int i = 0; i < n; i++) {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(host, port), 5_000);
                held.add(s);
                ok++;
            } catch (IOException refused) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // never connected
                }
            }
        }
        return ok;
    }

    static void closeAll(List<Socket> held) throws IOException {
        for (Socket s : held) s.close();
        held.clear();
    }

    /** How many of {@code n} simultaneous connections a process in the sandbox gets to the test upstream. */
    int connectFrom(String sandboxId, int n) {
        var r = real.runtime.crun.exec(sandboxId, List.of("python3", "-c", """
                import socket
                held, ok = [], 0
                for i in range(%d):
                    s = socket.socket(); s.settimeout(5)
                    try:
                        s.connect(('%s', %d)); held.append(s); ok += 1
                    except OSError:
                        s.close()
                print('connected', ok)
                """.formatted(n, UPSTREAM, UPSTREAM_PORT)));
        assertThat(r.output()).contains("connected");
        return Integer.parseInt(r.output().substring(r.output().indexOf("connected") + 10).strip().split("\\s")[0]);
    }

    /** Bytes per second of a POST of {@code size} bytes straight to the sandbox's server (not through the router). */
    static double upload(NetworkAttachment net, int size) throws Exception {
        byte[] body = new byte[size];
        long start = System.nanoTime();
        try (Socket s = new Socket(net.sandboxAddress().getHostAddress(), IngressTest.PORT)) {
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + size + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(response).contains("received=" + size);
        }
        return size / ((System.nanoTime() - start) / 1e9);
    }

    /** Bytes per second of the sandbox server's 2 MB chunked response, straight from the sandbox. */
    static double download(NetworkAttachment net) throws Exception {
        long start = System.nanoTime();
        long n;
        try (Socket s = new Socket(net.sandboxAddress().getHostAddress(), IngressTest.PORT)) {
            s.setSoTimeout(60_000);
            s.getOutputStream().write("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            byte[] buf = new byte[65536];
            n = 0;
            // The body ends with the last chunk "0\r\n\r\n"; the server keeps the connection open.
            String tail = "";
            int r;
            while ((r = in.read(buf)) > 0) {
                n += r;
                tail = (tail + new String(buf, 0, r, StandardCharsets.US_ASCII));
                tail = tail.substring(Math.max(0, tail.length() - 5));
                if (tail.equals("0\r\n\r\n")) break;
            }
        }
        assertThat(n).isGreaterThan(2_000_000);
        return n / ((System.nanoTime() - start) / 1e9);
    }

    void startUpstream() throws Exception {
        removeUpstream();
        HostCommand.check(List.of("ip", "-batch", "-"), """
                netns add %1$s
                link add %2$s type veth peer name eth0 netns %1$s
                addr add 10.252.213.1/30 dev %2$s
                link set %2$s up
                route add %3$s/32 via 10.252.213.2 dev %2$s
                """.formatted(NETNS, HOST_IF, UPSTREAM));
        HostCommand.check(List.of("ip", "-n", NETNS, "-batch", "-"), """
                link set lo up
                addr add 10.252.213.2/30 dev eth0
                addr add %s/32 dev eth0
                link set eth0 up
                route add default via 10.252.213.1
                """.formatted(UPSTREAM));
        listener = new ProcessBuilder("ip", "netns", "exec", NETNS, "python3", "-u", "-c", """
                import socket
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(('0.0.0.0', %d)); s.listen(256); print('ready', flush=True)
                held = []
                while True:
                    c, a = s.accept(); held.append(c)
                """.formatted(UPSTREAM_PORT)).redirectErrorStream(true).start();
        String first = new String(listener.getInputStream().readNBytes(5), StandardCharsets.US_ASCII);
        assertThat(first).isEqualTo("ready");
    }

    static void removeUpstream() {
        HostCommand.run(List.of("ip", "link", "del", HOST_IF));
        HostCommand.run(List.of("ip", "netns", "del", NETNS));
    }
}
