package dev.boxwood.server.network;

import dev.boxwood.server.runtime.HostCommand;
import dev.boxwood.server.runtime.RuntimeFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Per-sandbox networking: a veth pair from the host into the sandbox's network namespace, a /30 from the pool, a
 * default route via the host end, NAT for outbound traffic and the {@link Firewall} entries. The sandbox's namespace
 * is the one its OCI runtime created (so it belongs to the sandbox's user namespace and sysfs works there); it is
 * pinned under {@code /run/netns/bw-<id>} so teardown and tools like {@code ip -n} can find it.
 *
 * <p>The slot of each sandbox is recorded in {@code <runDir>/net/<id>} so a restarted server can find and remove it.
 */
public final class SandboxNetwork {

    public static final String DEFAULT_CIDR = "10.88.0.0/16";
    private static final String NETNS_PREFIX = "bw-";

    private final AddressPool pool;
    private final Firewall firewall;
    private final Path stateDir;

    public SandboxNetwork(Path runDir) {
        this(runDir, DEFAULT_CIDR);
    }

    public SandboxNetwork(Path runDir, String cidr) {
        this.pool = new AddressPool(cidr);
        this.firewall = new Firewall(pool.cidr());
        this.stateDir = runDir.resolve("net");
    }

    public Firewall firewall() {
        return firewall;
    }

    /** Idempotent host set-up: forwarding on, Boxwood's nftables table present, slots of live sandboxes reserved. */
    public void prepareHost() {
        try {
            Files.createDirectories(stateDir);
            Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), "1");
        } catch (IOException e) {
            throw new RuntimeFailure("cannot prepare host networking: " + e.getMessage(), e);
        }
        firewall.install();
        for (String id : recordedSandboxes()) {
            find(id).ifPresent(net -> pool.reserve(net.slot()));
        }
    }

    /** Wires up the network namespace of the process {@code pid} (the sandbox's init, not yet started). */
    public NetworkAttachment attach(String sandboxId, long pid) {
        HostCommand.check(List.of("ip", "netns", "attach", NETNS_PREFIX + sandboxId, Long.toString(pid)));
        // Another Boxwood process (e.g. a test server) may use the same pool; a taken interface name means its slot
        // is in use there, so take the next one.
        for (int attempt = 0; ; attempt++) {
            int slot = pool.allocate();
            if (Files.exists(Path.of("/sys/class/net/bwh" + slot))) {
                continue; // stays marked used in this pool
            }
            NetworkAttachment net = describe(sandboxId, slot);
            try {
                Files.writeString(stateDir.resolve(sandboxId), Integer.toString(slot));
            } catch (IOException e) {
                pool.release(slot);
                throw new RuntimeFailure("cannot record network of " + sandboxId + ": " + e.getMessage(), e);
            }
            HostCommand.Result link = HostCommand.run(List.of("ip", "-batch", "-"), """
                    link add %1$s type veth peer name bws%2$d netns %3$s
                    addr add %4$s/30 dev %1$s
                    link set %1$s up
                    """.formatted(net.hostInterface(), slot, net.netns(), net.hostAddress().getHostAddress()),
                    null, java.util.Map.of(), line -> {});
            if (link.ok()) {
                configure(net);
                return net;
            }
            if (!link.output().contains("File exists") || attempt >= 8) {
                // Our link add succeeded (a later line failed): remove it. Never delete a name someone else owns.
                HostCommand.run(List.of("ip", "link", "del", net.hostInterface()));
                throw new RuntimeFailure("cannot create the network of " + sandboxId + ": " + link.output());
            }
        }
    }

    private void configure(NetworkAttachment net) {
        String host = net.hostInterface();
        String peer = "bws" + net.slot();
        String hostAddr = net.hostAddress().getHostAddress();
        String sandboxAddr = net.sandboxAddress().getHostAddress();
        // No IPv6 on the host end: no link-local address, no router solicitations.
        try {
            Files.writeString(Path.of("/proc/sys/net/ipv6/conf/" + host + "/disable_ipv6"), "1");
        } catch (IOException ignored) {
            // IPv6 may be disabled host-wide; the firewall drops sandbox IPv6 either way
        }
        HostCommand.check(List.of("ip", "-n", net.netns(), "-batch", "-"), """
                link set lo up
                link set %1$s name eth0
                addr add %2$s/30 dev eth0
                link set eth0 up
                route add default via %3$s
                """.formatted(peer, sandboxAddr, hostAddr));
        firewall.addSandbox(net);
    }

    /** The recorded network of a sandbox, if it has one. */
    public Optional<NetworkAttachment> find(String sandboxId) {
        Path file = stateDir.resolve(sandboxId);
        try {
            int slot = Integer.parseInt(Files.readString(file).strip());
            return Optional.of(describe(sandboxId, slot));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Removes the veth, the namespace pin, the firewall entries and the record. Safe to repeat. */
    public void detach(String sandboxId) {
        Optional<NetworkAttachment> recorded = find(sandboxId);
        recorded.ifPresent(net -> {
            firewall.removeSandbox(net);
            HostCommand.run(List.of("ip", "link", "del", net.hostInterface()));
        });
        HostCommand.run(List.of("ip", "netns", "del", NETNS_PREFIX + sandboxId));
        recorded.ifPresent(net -> pool.release(net.slot()));
        try {
            Files.deleteIfExists(stateDir.resolve(sandboxId));
        } catch (IOException ignored) {
            // a stale record is harmless: its slot is reserved again only if it parses
        }
    }

    /** Sandbox ids this instance recorded a network for. */
    public List<String> traces() {
        return recordedSandboxes();
    }

    /** Whether the namespace pin of a sandbox exists (host-wide; for leftover checks). */
    public static boolean pinned(String sandboxId) {
        return Files.exists(Path.of("/run/netns", NETNS_PREFIX + sandboxId));
    }

    private List<String> recordedSandboxes() {
        if (!Files.isDirectory(stateDir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(stateDir)) {
            return files.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private NetworkAttachment describe(String sandboxId, int slot) {
        return new NetworkAttachment(sandboxId, slot, NETNS_PREFIX + sandboxId, "bwh" + slot,
                pool.hostAddress(slot), pool.sandboxAddress(slot));
    }
}
