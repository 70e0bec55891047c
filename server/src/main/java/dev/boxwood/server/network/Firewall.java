package dev.boxwood.server.network;

import dev.boxwood.server.runtime.HostCommand;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Boxwood's one nftables table, {@code inet boxwood}. Other tables are never touched. Sandbox interfaces are all
 * named {@code bwh<slot>}, so the base chains match them by prefix; per-sandbox state lives in sets and maps:
 * <ul>
 *   <li>{@code sources}: (interface, address) pairs a sandbox may send from; anything else is spoofed and dropped</li>
 *   <li>{@code egress}: interface → jump to the sandbox's own chain {@code sb_<id>}, where a later rules API can put
 *       allow/deny rules; an empty chain means "the default policy"</li>
 *   <li>{@code blocked4}: destinations no sandbox may reach (private, CGNAT, loopback, link-local and metadata,
 *       multicast, reserved); this also drops sandbox-to-sandbox traffic</li>
 * </ul>
 * Traffic from a sandbox to the host itself only passes as a reply to a connection the host opened (the server
 * talking to the agent). IPv6 from sandboxes is dropped: they get no IPv6 address.
 */
public final class Firewall {

    static final String TABLE = "inet boxwood";

    /** IPv4 destinations no sandbox may reach, whatever later rules allow. */
    static final List<String> BLOCKED_4 = List.of("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
            "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
            "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3");

    /** Whether a sandbox could reach this address at all: IPv4 outside {@link #BLOCKED_4}. */
    public static boolean reachableFromSandboxes(InetAddress address) {
        if (!(address instanceof Inet4Address)) {
            return false; // sandboxes have no IPv6
        }
        int ip = java.nio.ByteBuffer.wrap(address.getAddress()).getInt();
        for (String cidr : BLOCKED_4) {
            String[] parts = cidr.split("/");
            int prefix = Integer.parseInt(parts[1]);
            int net;
            try {
                net = java.nio.ByteBuffer.wrap(InetAddress.getByName(parts[0]).getAddress()).getInt();
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e); // literal addresses never need a lookup
            }
            int mask = prefix == 0 ? 0 : -1 << (32 - prefix);
            if ((ip & mask) == (net & mask)) {
                return false;
            }
        }
        return true;
    }

    private final String sandboxCidr;

    public Firewall(String sandboxCidr) {
        this.sandboxCidr = sandboxCidr;
    }

    /** Creates the table unless it already exists; existing sandboxes' elements are kept. */
    public void install() {
        if (HostCommand.run(List.of("nft", "list", "table", "inet", "boxwood")).ok()) {
            return;
        }
        HostCommand.check(List.of("nft", "-f", "-"), ruleset());
    }

    /** Removes the whole table (tests and uninstall only). */
    public void uninstall() {
        HostCommand.run(List.of("nft", "delete", "table", "inet", "boxwood"));
    }

    String ruleset() {
        return """
                table inet boxwood {
                  set sources { type ifname . ipv4_addr; }
                  map egress { type ifname : verdict; }
                  set blocked4 {
                    type ipv4_addr; flags interval;
                    elements = { %s }
                  }
                  chain input {
                    type filter hook input priority filter - 10; policy accept;
                    iifname "bwh*" ct state established,related accept
                    iifname "bwh*" counter drop
                  }
                  chain forward {
                    type filter hook forward priority filter - 10; policy accept;
                    iifname "bwh*" jump from_sandbox
                    oifname "bwh*" ct state established,related accept
                    oifname "bwh*" counter drop
                  }
                  chain from_sandbox {
                    meta nfproto ipv6 counter drop
                    iifname . ip saddr != @sources counter drop
                    ip daddr @blocked4 counter drop
                    fib daddr type { local, broadcast, multicast, anycast } counter drop
                    iifname vmap @egress
                  }
                  chain postrouting {
                    type nat hook postrouting priority srcnat; policy accept;
                    ip saddr %s oifname != "bwh*" masquerade
                  }
                }
                """.formatted(String.join(", ", BLOCKED_4), sandboxCidr);
    }

    /** Lets the sandbox's traffic through and gives it its own (empty) chain. */
    public void addSandbox(NetworkAttachment net) {
        // The slot allocator handed this interface name to us, so a mapping still keyed by it belongs to a sandbox
        // that is gone (a process killed mid-destroy); left in place it would make the add below fail.
        HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "egress",
                "{ \"" + net.hostInterface() + "\" }"));
        HostCommand.check(List.of("nft", "-f", "-"), """
                add chain inet boxwood %3$s
                add element inet boxwood sources { "%1$s" . %2$s }
                add element inet boxwood egress { "%1$s" : jump %3$s }
                """.formatted(net.hostInterface(), net.sandboxAddress().getHostAddress(), net.chain()));
    }

    /** Removes the sandbox's elements and chain; tolerates any of them being gone already. */
    public void removeSandbox(NetworkAttachment net) {
        String iface = net.hostInterface();
        // One command per object so that a missing one does not stop the others.
        HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "egress", "{ \"" + iface + "\" }"));
        HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "sources",
                "{ \"" + iface + "\" . " + net.sandboxAddress().getHostAddress() + " }"));
        HostCommand.run(List.of("nft", "delete", "chain", "inet", "boxwood", net.chain()));
    }

    /** Every per-sandbox chain name in the table, to find leftovers. */
    public List<String> sandboxChains() {
        HostCommand.Result result = HostCommand.run(List.of("nft", "list", "chains", "inet"));
        if (!result.ok()) {
            return List.of();
        }
        return result.output().lines().map(String::strip).filter(l -> l.startsWith("chain sb_"))
                .map(l -> l.substring("chain ".length(), l.indexOf(' ', "chain ".length()) < 0 ? l.length()
                        : l.indexOf(' ', "chain ".length())))
                .toList();
    }

    /** Raw listing of the sets and map, for leftover checks in tests. */
    public String listElements() {
        StringBuilder out = new StringBuilder();
        for (String set : List.of("sources", "egress")) {
            out.append(HostCommand.run(List.of("nft", "list", set.equals("egress") ? "map" : "set", "inet", "boxwood",
                    set)).output()).append('\n');
        }
        return out.toString();
    }
}
