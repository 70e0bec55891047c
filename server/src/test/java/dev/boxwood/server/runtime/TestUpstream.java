package dev.boxwood.server.runtime;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test host in a network namespace the test makes itself, holding one address from each range a sandbox must
 * never reach (private, CGNAT, link-local metadata), with a TCP listener that counts who connected. Probing these
 * addresses from a sandbox therefore never sends a packet off this machine, whatever the firewall does.
 */
final class TestUpstream implements AutoCloseable {
    static final int PORT = 8080;
    /** The first is on the link to the host; the rest are routed to it. */
    static final List<String> ADDRESSES =
            List.of("10.250.250.2", "172.31.250.2", "192.168.250.2", "100.64.250.2", "169.254.169.254");
    private static final String HOST_SIDE = "10.250.250.1";

    // Fixed names: set-up first removes whatever an interrupted earlier run left, so routes never clash.
    private final String netns = "bwtest-upstream";
    private final String hostIf = "bwtu0";
    private final Map<String, AtomicInteger> accepted = new ConcurrentHashMap<>();
    private final Process listener;

    TestUpstream() throws Exception {
        close();
        StringBuilder host = new StringBuilder()
                .append("netns add ").append(netns).append('\n')
                .append("link add ").append(hostIf).append(" type veth peer name eth0 netns ").append(netns).append('\n')
                .append("addr add ").append(HOST_SIDE).append("/24 dev ").append(hostIf).append('\n')
                .append("link set ").append(hostIf).append(" up\n");
        StringBuilder inside = new StringBuilder("link set lo up\nlink set eth0 up\n");
        for (String address : ADDRESSES) {
            inside.append("addr add ").append(address).append("/32 dev eth0\n");
        }
        inside.append("route add ").append(HOST_SIDE).append(" dev eth0\n")
                .append("route add default via ").append(HOST_SIDE).append('\n');
        StringBuilder routes = new StringBuilder();
        for (String address : ADDRESSES.subList(1, ADDRESSES.size())) {
            routes.append("route add ").append(address).append("/32 via ").append(ADDRESSES.getFirst()).append('\n');
        }
        try {
            ipBatch(List.of("ip", "-batch", "-"), host);
            ipBatch(List.of("ip", "-n", netns, "-batch", "-"), inside);
            ipBatch(List.of("ip", "-batch", "-"), routes);
        } catch (Exception e) {
            close();
            throw e;
        }
        listener = new ProcessBuilder("ip", "netns", "exec", netns, "python3", "-u", "-c", """
                import socket
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(('0.0.0.0', %d)); s.listen(64); print('ready', flush=True)
                while True:
                    c, a = s.accept(); print('accepted', c.getsockname()[0], a[0], flush=True); c.close()
                """.formatted(PORT)).redirectErrorStream(true).start();
        BufferedReader lines = new BufferedReader(new InputStreamReader(listener.getInputStream(), StandardCharsets.UTF_8));
        if (!"ready".equals(lines.readLine())) {
            throw new IllegalStateException("the test upstream's listener did not start");
        }
        Thread.ofVirtual().start(() -> lines.lines().forEach(line -> {
            String[] words = line.split(" ");
            if (words.length == 3) {
                accepted.computeIfAbsent(words[1], k -> new AtomicInteger()).incrementAndGet();
            }
        }));
    }

    private static void ipBatch(List<String> command, CharSequence batch) throws Exception {
        Process ip = new ProcessBuilder(command).redirectErrorStream(true).start();
        ip.getOutputStream().write(batch.toString().getBytes(StandardCharsets.UTF_8));
        ip.getOutputStream().close();
        String out = new String(ip.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (ip.waitFor() != 0) {
            throw new IllegalStateException("cannot set up the test upstream: " + out);
        }
    }

    /** Connections accepted so far on one of {@link #ADDRESSES}. */
    int accepted(String address) {
        return accepted.getOrDefault(address, new AtomicInteger()).get();
    }

    int acceptedTotal() {
        return accepted.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    @Override
    public void close() {
        if (listener != null) {
            listener.destroyForcibly();
        }
        for (String address : ADDRESSES.subList(1, ADDRESSES.size())) {
            HostCommand.run(List.of("ip", "route", "del", address + "/32"));
        }
        HostCommand.run(List.of("ip", "link", "del", hostIf));
        HostCommand.run(List.of("ip", "netns", "del", netns));
    }
}
