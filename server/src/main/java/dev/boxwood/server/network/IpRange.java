package dev.boxwood.server.network;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * An IPv4 or IPv6 network in CIDR form. A bare address is its own /32 (or /128). Host bits must be zero, as nftables
 * and E2B expect ({@code 10.0.0.1/8} is refused rather than silently widened).
 */
public record IpRange(byte[] network, int prefix) {

    private static final Pattern V4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern V6 = Pattern.compile("[0-9a-fA-F:.]+");

    public IpRange {
        network = network.clone();
    }

    /** Parses {@code 1.2.3.4}, {@code 1.2.3.0/24}, {@code 2001:db8::/32}; throws IllegalArgumentException otherwise. */
    public static IpRange parse(String text) {
        String s = text.strip();
        int slash = s.indexOf('/');
        String address = slash < 0 ? s : s.substring(0, slash);
        boolean v4 = V4.matcher(address).matches();
        if (!v4 && !(address.contains(":") && V6.matcher(address).matches())) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address or CIDR");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.ofLiteral(address).getAddress(); // never a name lookup
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address or CIDR");
        }
        if (v4 && bytes.length != 4 || !v4 && bytes.length != 16) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address or CIDR");
        }
        int bits = bytes.length * 8;
        int prefix = bits;
        if (slash >= 0) {
            String p = s.substring(slash + 1);
            if (!p.matches("\\d{1,3}") || Integer.parseInt(p) > bits) {
                throw new IllegalArgumentException("'" + text + "' has an invalid prefix length");
            }
            prefix = Integer.parseInt(p);
        }
        IpRange range = new IpRange(bytes, prefix);
        if (!Arrays.equals(range.masked(bytes), bytes)) {
            throw new IllegalArgumentException("'" + text + "' has host bits set; did you mean "
                    + new IpRange(range.masked(bytes), prefix) + "?");
        }
        return range;
    }

    /** Whether {@code text} looks like an address or CIDR rather than a domain (it may still be malformed). */
    public static boolean looksNumeric(String text) {
        return text.contains(":") || text.contains("/") || text.strip().matches("[0-9.]+");
    }

    public boolean ipv4() {
        return network.length == 4;
    }

    public boolean contains(InetAddress address) {
        byte[] b = address.getAddress();
        return b.length == network.length && Arrays.equals(masked(b), network);
    }

    /** Whether every address of {@code other} is in this range. */
    public boolean covers(IpRange other) {
        return other.network.length == network.length && other.prefix >= prefix
                && Arrays.equals(masked(other.network), network);
    }

    private byte[] masked(byte[] bytes) {
        byte[] out = bytes.clone();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            out[i] &= (byte) (keep == 0 ? 0 : 0xFF << (8 - keep));
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpRange r && r.prefix == prefix && Arrays.equals(r.network, network);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(network) * 31 + prefix;
    }

    /** CIDR text (IPv6 uncompressed), which nftables accepts as is. */
    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
