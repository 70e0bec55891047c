package dev.boxwood.server.network;

import java.net.InetAddress;
import java.util.List;

/**
 * Destinations no sandbox may reach whatever its rules allow: private, CGNAT, loopback, link-local (cloud metadata
 * lives there), multicast and reserved ranges, IPv4 and IPv6. The documentation ranges 198.51.100.0/24 and
 * 203.0.113.0/24 are not here: they are never routed on the internet, so tests use them as "the internet".
 */
public final class AlwaysBlocked {

    public static final List<String> V4 = List.of("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
            "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
            "224.0.0.0/3");

    public static final List<String> V6 = List.of("::/128", "::1/128", "64:ff9b::/96",
            "64:ff9b:1::/48", "100::/64", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8");

    private static final List<IpRange> RANGES =
            java.util.stream.Stream.concat(V4.stream(), V6.stream()).map(IpRange::parse).toList();

    private AlwaysBlocked() {}

    public static boolean contains(InetAddress address) {
        return RANGES.stream().anyMatch(r -> r.contains(address));
    }

    /** Whether any address of the range is always blocked (so an allow rule for it is only partly effective). */
    public static boolean overlaps(IpRange range) {
        return RANGES.stream().anyMatch(r -> r.covers(range) || range.covers(r));
    }
}
