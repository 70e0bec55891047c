package dev.boxwood.server.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.boxwood.server.runtime.HostCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The batched, two-phase network set-up on namespaces of processes this test starts ({@code unshare --net sleep}):
 * until the set-up is complete the sandbox reaches nothing on the host, afterwards its DNS; an interface name that a
 * dead sandbox left elements under is handed out with the new sandbox's chains only; detach leaves nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NetworkSetUpTest {

    private SandboxDirs dirs;
    private SandboxNetwork network;
    private final List<Process> holders = new ArrayList<>();

    @BeforeAll
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        assumeTrue(HostCommand.run(List.of("nft", "--version")).ok(), "needs nft");
        dirs = SandboxDirs.create("boxwood-netsetup-test-");
        network = new SandboxNetwork(dirs.run());
        network.prepareHost();
    }

    @AfterAll
    void tearDown() {
        if (network != null) {
            for (String id : network.traces()) network.detach(id);
            network.close();
        }
        holders.forEach(Process::destroyForcibly);
        if (dirs != null) dirs.remove();
    }

    /** A process alone in a new network namespace: what a sandbox's init is to the set-up. */
    private long holder() throws Exception {
        Process p = new ProcessBuilder("unshare", "--net", "sleep", "600").start();
        holders.add(p);
        // Only once unshare has its own namespace: pinning the host's would wire the host itself.
        for (int i = 0; i < 500; i++) {
            if (!Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "ns/net"))
                    .equals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")))) {
                return p.pid();
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("unshare --net did not get a namespace of its own");
    }

    private static String newId() {
        return "tn" + Long.toString(System.nanoTime(), 36);
    }

    /** Whether a TCP connect from inside the sandbox's namespace to {@code address:port} succeeds within 2 s. */
    private static boolean connects(NetworkAttachment net, String address, int port) {
        return HostCommand.run(List.of("ip", "netns", "exec", net.netns(), "timeout", "2", "bash", "-c",
                "exec 3<>/dev/tcp/" + address + "/" + port)).ok();
    }

    @Test
    void nothingOnTheHostIsReachableUntilTheSetUpIsComplete() throws Exception {
        String id = newId();
        NetworkAttachment net = network.link(id, holder());
        try {
            String host = net.hostAddress().getHostAddress();
            // linked: the host reaches the sandbox's address, the sandbox has its route, the firewall drops it all
            assertThat(HostCommand.check(List.of("ip", "-n", net.netns(), "route"))).contains("default via " + host);
            assertThat(connects(net, host, 53)).as("DNS before the set-up is complete").isFalse();
            network.complete(net);
            assertThat(connects(net, host, 53)).as("DNS once complete").isTrue();
            assertThat(HostCommand.check(List.of("tc", "qdisc", "show", "dev", net.hostInterface())))
                    .contains("htb");
            assertThat(HostCommand.check(List.of("tc", "-n", net.netns(), "qdisc", "show", "dev", "eth0")))
                    .contains("htb");
        } finally {
            network.detach(id);
        }
        assertThat(SandboxNetwork.pinned(id)).isFalse();
        assertThat(Files.exists(Path.of("/sys/class/net", net.hostInterface()))).isFalse();
        assertThat(HostCommand.check(List.of("nft", "list", "table", "inet", "boxwood")))
                .doesNotContain("sb_" + id).doesNotContain("nat_" + id);
        assertThat(HostCommand.run(List.of("nft", "list", "table", "inet", TrafficLimits.TABLE)).output())
                .doesNotContain("\"" + net.hostInterface() + "\"");
    }

    @Test
    void anInterfaceNameIsNeverHandedOutWithAnotherSandboxsRules() throws Exception {
        // Elements a killed process left under the next interface names, jumping to a dead sandbox's chains.
        String dead = newId();
        String first = newId();
        NetworkAttachment previous = network.attach(first, holder());
        network.detach(first);
        int from = previous.slot() + 1;
        StringBuilder stale = new StringBuilder("add chain inet boxwood sb_" + dead + "\n"
                + "add chain inet boxwood nat_" + dead + "\n");
        List<Integer> planted = new ArrayList<>();
        for (int slot = from; slot < from + 8; slot++) {
            if (Files.exists(Path.of("/sys/class/net/bwh" + slot))) continue; // another process's live sandbox
            planted.add(slot);
            stale.append("add element inet boxwood egress { \"bwh").append(slot).append("\" : jump sb_").append(dead)
                    .append(" }\n");
            stale.append("add element inet boxwood sandbox_nat { \"bwh").append(slot).append("\" : jump nat_")
                    .append(dead).append(" }\n");
        }
        HostCommand.check(List.of("nft", "-f", "-"), stale.toString());
        String id = newId();
        try {
            NetworkAttachment net = network.attach(id, holder());
            assumeTrue(planted.contains(net.slot()), "another Boxwood process took the interface names planted");
            String nft = HostCommand.check(List.of("nft", "list", "table", "inet", "boxwood"));
            assertThat(nft).contains("\"" + net.hostInterface() + "\" : jump sb_" + id)
                    .contains("\"" + net.hostInterface() + "\" : jump nat_" + id)
                    .doesNotContain("\"" + net.hostInterface() + "\" : jump sb_" + dead);
            assertThat(connects(net, net.hostAddress().getHostAddress(), 53)).isTrue();
        } finally {
            network.detach(id);
            // only what this test planted and still finds pointing at the dead chains: other slots may be live now
            String left = HostCommand.check(List.of("nft", "list", "table", "inet", "boxwood"));
            for (int slot : planted) {
                if (left.contains("\"bwh" + slot + "\" : jump sb_" + dead)) {
                    HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "egress",
                            "{ \"bwh" + slot + "\" }"));
                }
                if (left.contains("\"bwh" + slot + "\" : jump nat_" + dead)) {
                    HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "sandbox_nat",
                            "{ \"bwh" + slot + "\" }"));
                }
            }
            HostCommand.run(List.of("nft", "delete", "chain", "inet", "boxwood", "sb_" + dead));
            HostCommand.run(List.of("nft", "delete", "chain", "inet", "boxwood", "nat_" + dead));
        }
    }

    @Test
    void aSlotWhoseHostAddressAnotherProcessStillHoldsIsSkipped() throws Exception {
        // What a Boxwood process killed without a stop leaves: its sandbox's interface is gone, but its DNS socket is
        // still bound to the host address of that slot.
        String first = newId();
        NetworkAttachment previous = network.attach(first, holder());
        network.detach(first);
        int next = previous.slot() + 1;
        assumeTrue(!Files.exists(Path.of("/sys/class/net/bwh" + next)), "another Boxwood process holds the next slot");
        String gone = "bwt" + Long.toString(System.nanoTime() % 100_000, 36);
        java.net.InetAddress held = new AddressPool(SandboxNetwork.DEFAULT_CIDR).hostAddress(next);
        HostCommand.check(List.of("ip", "-batch", "-"), "link add " + gone + " type veth peer name " + gone
                + "p\naddr add " + held.getHostAddress() + "/32 dev " + gone + "\n");
        String id = newId();
        try (java.net.DatagramSocket orphan = new java.net.DatagramSocket(new java.net.InetSocketAddress(held, 53))) {
            HostCommand.check(List.of("ip", "link", "del", gone));
            NetworkAttachment net = network.attach(id, holder());
            assertThat(net.slot()).isNotEqualTo(next);
            assertThat(connects(net, net.hostAddress().getHostAddress(), 53)).as("DNS on the slot taken").isTrue();
        } finally {
            HostCommand.run(List.of("ip", "link", "del", gone));
            network.detach(id);
        }
    }

    @Test
    void aRecordWhoseNetworkIsGoneIsDroppedAtStartWhileLiveAndJustWrittenOnesStay() throws Exception {
        Path records = dirs.run().resolve("net");
        java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minus(java.time.Duration.ofMinutes(10)));
        String live = newId();
        network.attach(live, holder());
        Files.setLastModifiedTime(records.resolve(live), old);
        // what a server killed without a stop leaves once its sandbox is gone: the record and nothing else
        String dead = newId();
        Files.writeString(records.resolve(dead), "16001");
        Files.setLastModifiedTime(records.resolve(dead), old);
        // a boot in progress writes its record before it pins the namespace
        String booting = newId();
        Files.writeString(records.resolve(booting), "16002");
        try (SandboxNetwork restarted = new SandboxNetwork(dirs.run())) {
            restarted.prepareHost();
            assertThat(restarted.traces()).contains(live, booting).doesNotContain(dead);
            assertThat(restarted.find(live)).isPresent();
        } finally {
            network.detach(booting); // the restarted instance re-applied traffic limits for it too
            network.detach(live);
        }
    }
}
