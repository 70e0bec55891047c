package dev.boxwood.server.network;

import dev.boxwood.protocol.Ports;
import dev.boxwood.server.runtime.HostCommand;
import java.util.List;

/**
 * Per-sandbox caps so one sandbox cannot starve the others or fill the host's connection tracking:
 * <ul>
 *   <li>connections: nftables table {@code inet boxwood_limits} (its own, beside the firewall's {@code inet boxwood}).
 *       New connections from the sandbox's veth (forwarded or to the host) and new connections into it (from the
 *       host, e.g. the router) jump through the maps {@code from_sandbox} / {@code to_sandbox} to the chains
 *       {@code from_<if>} / {@code to_<if>}, each with one {@code ct count over N} rule: beyond N live connections
 *       in that direction, new ones are refused (TCP reset).</li>
 *   <li>bandwidth: HTB on the host end {@code bwh<slot>} shapes what reaches the sandbox, and on the sandbox's
 *       {@code eth0} what it sends; the server's own connection to the agent is exempt.</li>
 * </ul>
 * Applying is idempotent (it replaces what is there) so a restarted server can apply again; the kernel keeps the
 * state across server restarts anyway. The qdiscs go with the veth; {@link #remove} deletes the nftables part.
 */
public final class TrafficLimits {
    static final String TABLE = "boxwood_limits";

    /**
     * @param maxConnections live connections per direction per sandbox; 0 = no cap
     * @param mbit           megabits per second per direction per sandbox; 0 = no cap
     */
    public record Settings(int maxConnections, int mbit) {
        public static final Settings DEFAULT = new Settings(1024, 100);
        public static final Settings NONE = new Settings(0, 0);

        public Settings {
            if (maxConnections < 0 || mbit < 0) {
                throw new IllegalArgumentException("traffic limits cannot be negative");
            }
        }
    }

    private static volatile Settings configured = Settings.DEFAULT;

    private TrafficLimits() {}

    /** The limits every sandbox network gets from now on (set once at server start). */
    public static void configure(Settings settings) {
        configured = settings;
    }

    public static Settings configured() {
        return configured;
    }

    /** Applies the configured limits. */
    public static void apply(NetworkAttachment net) {
        apply(net, configured);
    }

    /** Replaces whatever limits the sandbox's interface has with {@code settings}. */
    public static void apply(NetworkAttachment net, Settings settings) {
        install();
        HostCommand.check(List.of("nft", "-f", "-"), script(net, settings));
        shape(net, settings.mbit(), false);
    }

    /** The nftables part of {@link #apply}, to run in one transaction with other commands once the table exists. */
    static String script(NetworkAttachment net, Settings settings) {
        String ifname = net.hostInterface();
        StringBuilder t = new StringBuilder();
        for (String direction : List.of("from", "to")) {
            String chain = direction + "_" + ifname;
            t.append("add chain inet ").append(TABLE).append(' ').append(chain).append('\n');
            t.append("flush chain inet ").append(TABLE).append(' ').append(chain).append('\n');
            if (settings.maxConnections() > 0) {
                t.append("add rule inet ").append(TABLE).append(' ').append(chain).append(" ct count over ")
                        .append(settings.maxConnections()).append(" counter goto refuse\n");
            }
            t.append("add element inet ").append(TABLE).append(' ').append(direction).append("_sandbox { \"")
                    .append(ifname).append("\" : jump ").append(chain).append(" }\n");
        }
        return t.toString();
    }

    /** The removal of {@link #script}'s objects as one transaction (fails as a whole if any is gone). */
    static String removeScript(NetworkAttachment net) {
        String ifname = net.hostInterface();
        StringBuilder t = new StringBuilder();
        for (String direction : List.of("from", "to")) {
            t.append("delete element inet ").append(TABLE).append(' ').append(direction).append("_sandbox { \"")
                    .append(ifname).append("\" }\n");
            t.append("delete chain inet ").append(TABLE).append(' ').append(direction).append('_').append(ifname)
                    .append('\n');
        }
        return t.toString();
    }

    /** Shapes a veth made a moment ago (no qdisc to replace), with the configured rate. */
    static void shapeNew(NetworkAttachment net) {
        shape(net, configured.mbit(), true);
    }

    /**
     * Shapes the sandbox's {@code eth0} anew with the configured rate, after it moved into another namespace (a CRIU
     * restore), which drops its qdisc; the host end keeps its own, and the nftables part is keyed by the host end.
     */
    static void shapeInside(NetworkAttachment net) {
        int mbit = configured.mbit();
        if (mbit == 0) return;
        shapeEnd(List.of("tc", "-n", net.netns()), "eth0", mbit, true, insideExempt(net));
    }

    /** Applies the configured limits again after a restart; a sandbox whose network is gone is left alone. */
    public static void reapply(NetworkAttachment net) {
        try {
            apply(net);
        } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(TrafficLimits.class).warn("cannot re-apply traffic limits of {}: {}",
                    net.sandboxId(), e.getMessage());
        }
    }

    /** Removes the sandbox's nftables part; safe to repeat and for sandboxes that never had limits. */
    public static void remove(NetworkAttachment net) {
        String ifname = net.hostInterface();
        for (String direction : List.of("from", "to")) {
            HostCommand.run(List.of("nft", "delete", "element", "inet", TABLE, direction + "_sandbox",
                    "{ \"" + ifname + "\" }"));
            HostCommand.run(List.of("nft", "delete", "chain", "inet", TABLE, direction + "_" + ifname));
        }
    }

    private static volatile boolean installed;

    /** {@link #install} once per process; a transaction that fails for a missing table calls install() itself. */
    static void ensureInstalled() {
        if (!installed) install();
    }

    /** Creates the table once; never adds its base rules twice. */
    static synchronized void install() {
        if (HostCommand.run(List.of("nft", "list", "table", "inet", TABLE)).ok()) {
            installed = true;
            return;
        }
        HostCommand.Result created = HostCommand.run(List.of("nft", "-f", "-"), """
                table inet %s {
                  map from_sandbox { type ifname : verdict; }
                  map to_sandbox { type ifname : verdict; }
                  chain refuse {
                    meta l4proto tcp reject with tcp reset
                    reject
                  }
                  chain input {
                    type filter hook input priority filter - 20; policy accept;
                    iifname "bwh*" ct state new iifname vmap @from_sandbox
                  }
                  chain forward {
                    type filter hook forward priority filter - 20; policy accept;
                    iifname "bwh*" ct state new iifname vmap @from_sandbox
                    oifname "bwh*" ct state new oifname vmap @to_sandbox
                  }
                  chain output {
                    type filter hook output priority filter - 20; policy accept;
                    oifname "bwh*" ct state new oifname vmap @to_sandbox
                  }
                }
                """.formatted(TABLE), null, java.util.Map.of(), line -> {});
        if (!created.ok() && !HostCommand.run(List.of("nft", "list", "table", "inet", TABLE)).ok()) {
            throw new dev.boxwood.server.runtime.RuntimeFailure("cannot create nftables table " + TABLE + ": "
                    + created.output());
        }
        installed = true;
    }

    /** Removes the whole table (tests and uninstall only). */
    public static void uninstall() {
        HostCommand.run(List.of("nft", "delete", "table", "inet", TABLE));
    }

    /**
     * HTB on both ends of the veth: the host end shapes what goes to the sandbox, the sandbox's {@code eth0} what it
     * sends. One exception per end, the server's own TCP connection to the agent (file transfers should not crawl):
     * host address to agent port on the host end, agent port to host address inside. The kernel here has no tc
     * policing action, and shaping is kinder to TCP anyway; the sandbox cannot lift its own qdisc because its root
     * has no {@code CAP_NET_ADMIN}.
     */
    private static void shape(NetworkAttachment net, int mbit, boolean fresh) {
        String host = net.hostAddress().getHostAddress() + "/32";
        String agentPort = Integer.toString(Ports.AGENT);
        String tcp = "match ip protocol 6 0xff";
        shapeEnd(List.of("tc"), net.hostInterface(), mbit, fresh,
                tcp + " match ip src " + host + " match ip dport " + agentPort + " 0xffff");
        shapeEnd(List.of("tc", "-n", net.netns()), "eth0", mbit, fresh, insideExempt(net));
    }

    /** The u32 match, on the sandbox's {@code eth0}, of the agent's replies to the server (not shaped). */
    private static String insideExempt(NetworkAttachment net) {
        return "match ip protocol 6 0xff match ip dst " + net.hostAddress().getHostAddress()
                + "/32 match ip sport " + Ports.AGENT + " 0xffff";
    }

    /** One {@code tc -batch} per end: each tc process costs more than the kernel's work. */
    private static void shapeEnd(List<String> tc, String dev, int mbit, boolean fresh, String exempt) {
        // Replace, not add: a restarted server re-applies over what the kernel kept. A new veth has nothing to replace.
        if (!fresh) HostCommand.run(concat(tc, "qdisc", "del", "dev", dev, "root"));
        if (mbit == 0) return;
        HostCommand.check(concat(tc, "-batch", "-"), """
                qdisc add dev %1$s root handle 1: htb default 10
                class add dev %1$s parent 1: classid 1:10 htb rate %2$dmbit ceil %2$dmbit quantum 60000
                class add dev %1$s parent 1: classid 1:20 htb rate 10gbit quantum 60000
                filter add dev %1$s parent 1: protocol ip prio 1 u32 %3$s flowid 1:20
                """.formatted(dev, mbit, exempt));
    }

    private static List<String> concat(List<String> head, String... tail) {
        List<String> all = new java.util.ArrayList<>(head);
        all.addAll(List.of(tail));
        return all;
    }
}
