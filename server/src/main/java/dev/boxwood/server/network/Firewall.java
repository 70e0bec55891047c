package dev.boxwood.server.network;

import dev.boxwood.server.runtime.HostCommand;
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
 *   <li>{@code sandbox_nat}: interface → jump to the sandbox's NAT chain {@code nat_<id>}, which sends its DNS to the
 *       host end of its veth and, when it has domain rules, its TCP 80/443 to the egress proxy there</li>
 *   <li>{@code services}: (interface, host-end address, protocol, port) a sandbox may reach on the host: DNS and the
 *       proxy, each served only on that sandbox's own host-end address</li>
 * </ul>
 * Traffic from a sandbox to the host itself only passes as a reply to a connection the host opened (the server
 * talking to the agent). IPv6 from sandboxes is dropped: they get no IPv6 address.
 */
public final class Firewall {

    static final String TABLE = "inet boxwood";

    /** IPv4 destinations no sandbox may reach, whatever later rules allow. */
    static final List<String> BLOCKED_4 = AlwaysBlocked.V4;

    /** Where the host serves each sandbox: DNS, and the egress proxy for HTTP and TLS. */
    static final List<String> SERVICES = List.of("udp . 53", "tcp . 53", "tcp . 80", "tcp . 443");

    /**
     * Lets a sandbox reach those services, and only when a socket bound to its host-end address takes the packet
     * (ours): with the server down, a host service listening on a wildcard address on these ports stays unreachable.
     */
    static final String SERVICES_RULE =
            "iifname . ip daddr . meta l4proto . th dport @services socket wildcard 0 accept";

    private final String sandboxCidr;

    public Firewall(String sandboxCidr) {
        this.sandboxCidr = sandboxCidr;
    }

    /**
     * Creates the table unless it already exists; existing sandboxes' elements are kept. A table from an earlier
     * Boxwood version gains the DNS/proxy objects, and the blocked set is brought up to date in one transaction.
     */
    public void install() {
        if (!HostCommand.run(List.of("nft", "list", "table", "inet", "boxwood")).ok()) {
            HostCommand.Result created = HostCommand.run(List.of("nft", "-f", "-"), ruleset(), null, java.util.Map.of(),
                    line -> {});
            if (created.ok()) {
                return;
            }
            // another Boxwood process created it at the same moment: fall through to the upgrade
        }
        if (!HostCommand.run(List.of("nft", "list", "set", "inet", "boxwood", "services")).ok()) {
            HostCommand.check(List.of("nft", "-f", "-"), """
                    add set inet boxwood services { type ifname . ipv4_addr . inet_proto . inet_service; }
                    add map inet boxwood sandbox_nat { type ifname : verdict; }
                    add chain inet boxwood prerouting { type nat hook prerouting priority dstnat; policy accept; }
                    add rule inet boxwood prerouting iifname "bwh*" iifname vmap @sandbox_nat
                    insert rule inet boxwood input %s
                    """.formatted(SERVICES_RULE));
        }
        String input = HostCommand.check(List.of("nft", "-a", "list", "chain", "inet", "boxwood", "input"));
        if (!input.contains("socket wildcard")) {
            // a table from before the rule checked for a socket of ours: tighten it in place
            input.lines().filter(l -> l.contains("@services")).findFirst().ifPresent(l -> HostCommand.check(List.of(
                    "nft", "replace", "rule", "inet", "boxwood", "input", "handle",
                    l.substring(l.lastIndexOf("# handle ") + "# handle ".length()).strip(), SERVICES_RULE)));
        }
        HostCommand.check(List.of("nft", "-f", "-"), """
                flush set inet boxwood blocked4
                add element inet boxwood blocked4 { %s }
                """.formatted(String.join(", ", BLOCKED_4)));
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
                  set services { type ifname . ipv4_addr . inet_proto . inet_service; }
                  map sandbox_nat { type ifname : verdict; }
                  set blocked4 {
                    type ipv4_addr; flags interval;
                    elements = { %s }
                  }
                  chain input {
                    type filter hook input priority filter - 10; policy accept;
                    %s
                    iifname "bwh*" ct state established,related accept
                    iifname "bwh*" counter drop
                  }
                  chain prerouting {
                    type nat hook prerouting priority dstnat; policy accept;
                    iifname "bwh*" iifname vmap @sandbox_nat
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
                """.formatted(String.join(", ", BLOCKED_4), SERVICES_RULE, sandboxCidr);
    }

    /** Lets the sandbox's traffic through and gives it its own (empty) chain. */
    public void addSandbox(NetworkAttachment net) {
        clearStale(net);
        HostCommand.check(List.of("nft", "-f", "-"), addScript(net));
    }

    /**
     * The slot allocator handed this interface name to us, so a mapping still keyed by it belongs to a sandbox that is
     * gone (a process killed mid-destroy); left in place it would make {@link #addScript} fail.
     */
    void clearStale(NetworkAttachment net) {
        HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "egress",
                "{ \"" + net.hostInterface() + "\" }"));
        HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "sandbox_nat",
                "{ \"" + net.hostInterface() + "\" }"));
    }

    /** The nft commands that give a sandbox its chains and set elements (one part of a transaction). */
    String addScript(NetworkAttachment net) {
        return """
                add chain inet boxwood %3$s
                add chain inet boxwood %4$s
                add element inet boxwood sources { "%1$s" . %2$s }
                add element inet boxwood egress { "%1$s" : jump %3$s }
                add element inet boxwood sandbox_nat { "%1$s" : jump %4$s }
                add element inet boxwood services { %5$s }
                """.formatted(net.hostInterface(), net.sandboxAddress().getHostAddress(), net.chain(), net.natChain(),
                services(net));
    }

    private static String services(NetworkAttachment net) {
        return String.join(", ", SERVICES.stream().map(s -> "\"" + net.hostInterface() + "\" . "
                + net.hostAddress().getHostAddress() + " . " + s).toList());
    }

    /**
     * Replaces the sandbox's rules in one transaction, so no packet ever sees a half-applied set. The filter chain
     * decides forwarded traffic by address; the NAT chain sends DNS for {@code dnsAddress} to the host end, and, when
     * there are domain rules, TCP 80/443 that the address rules would not let through to the egress proxy there.
     */
    public void applyRules(NetworkAttachment net, EgressRules rules, java.net.InetAddress dnsAddress) {
        HostCommand.check(List.of("nft", "-f", "-"), rulesScript(net, rules, dnsAddress));
    }

    /** The transaction text of {@link #applyRules}; it can follow {@link #addScript} in the same transaction. */
    String rulesScript(NetworkAttachment net, EgressRules rules, java.net.InetAddress dnsAddress) {
        String host = net.hostAddress().getHostAddress();
        StringBuilder t = new StringBuilder();
        String filter = "add rule inet boxwood " + net.chain() + " ";
        String nat = "add rule inet boxwood " + net.natChain() + " ";
        t.append("flush chain inet boxwood ").append(net.chain()).append('\n');
        t.append("flush chain inet boxwood ").append(net.natChain()).append('\n');
        t.append(nat).append("ip daddr ").append(dnsAddress.getHostAddress())
                .append(" meta l4proto { tcp, udp } th dport 53 dnat ip to ").append(host).append('\n');
        String allow4 = set(rules.allow(), true);
        String allow6 = set(rules.allow(), false);
        String deny4 = set(rules.deny(), true);
        String deny6 = set(rules.deny(), false);
        if (allow4 != null) t.append(filter).append("ip daddr ").append(allow4).append(" accept\n");
        if (allow6 != null) t.append(filter).append("ip6 daddr ").append(allow6).append(" accept\n");
        if (!rules.internet()) {
            t.append(filter).append("counter drop\n");
        } else {
            if (deny4 != null) t.append(filter).append("ip daddr ").append(deny4).append(" counter drop\n");
            if (deny6 != null) t.append(filter).append("ip6 daddr ").append(deny6).append(" counter drop\n");
        }
        if (rules.hasDomains() && rules.restricted()) {
            if (allow4 != null) t.append(nat).append("ip daddr ").append(allow4).append(" return\n");
            String only = rules.internet() ? (deny4 == null ? null : "ip daddr " + deny4 + " ") : "";
            if (only != null) {
                for (int port : new int[] {80, 443}) {
                    t.append(nat).append(only).append("tcp dport ").append(port).append(" dnat ip to ")
                            .append(host).append(':').append(port).append('\n');
                }
            }
        }
        return t.toString();
    }

    private static String set(List<IpRange> ranges, boolean v4) {
        List<String> of = ranges.stream().filter(r -> r.ipv4() == v4).map(IpRange::toString).toList();
        return of.isEmpty() ? null : "{ " + String.join(", ", of) + " }";
    }

    /** The sandbox's elements and chains as one transaction, which fails as a whole if any of them is gone. */
    String removeScript(NetworkAttachment net) {
        String iface = net.hostInterface();
        return """
                delete element inet boxwood egress { "%1$s" }
                delete element inet boxwood sources { "%1$s" . %2$s }
                delete element inet boxwood sandbox_nat { "%1$s" }
                delete element inet boxwood services { %3$s }
                delete chain inet boxwood %4$s
                delete chain inet boxwood %5$s
                """.formatted(iface, net.sandboxAddress().getHostAddress(), services(net), net.chain(), net.natChain());
    }

    /** Removes the sandbox's elements and chain; tolerates any of them being gone already. */
    public void removeSandbox(NetworkAttachment net) {
        String iface = net.hostInterface();
        // One command per object so that a missing one does not stop the others.
        HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "egress", "{ \"" + iface + "\" }"));
        HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "sources",
                "{ \"" + iface + "\" . " + net.sandboxAddress().getHostAddress() + " }"));
        HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "sandbox_nat", "{ \"" + iface + "\" }"));
        HostCommand.run(List.of("nft", "delete", "element", "inet", "boxwood", "services", "{ " + services(net) + " }"));
        HostCommand.run(List.of("nft", "delete", "chain", "inet", "boxwood", net.chain()));
        HostCommand.run(List.of("nft", "delete", "chain", "inet", "boxwood", net.natChain()));
    }

    /** Deletes a dead sandbox's chains; a chain some map still jumps to is refused by nft and stays. */
    public void removeOrphanChains(String sandboxId) {
        HostCommand.run(List.of("nft", "delete", "chain", "inet", "boxwood", "sb_" + sandboxId));
        HostCommand.run(List.of("nft", "delete", "chain", "inet", "boxwood", "nat_" + sandboxId));
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
