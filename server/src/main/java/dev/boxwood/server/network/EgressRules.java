package dev.boxwood.server.network;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A sandbox's outbound rules, as E2B defines them: {@code allowOut} holds addresses, CIDRs, domains and
 * {@code *.domain} wildcards; {@code denyOut} addresses and CIDRs only. An allowed destination wins over a denied
 * one; with the internet off everything not allowed is denied. {@link AlwaysBlocked} ranges stay blocked regardless.
 *
 * @param internet false for E2B's {@code allow_internet_access: false} (the same as denying 0.0.0.0/0)
 * @param allow    allowed address ranges
 * @param deny     denied address ranges
 * @param domains  allowed names, lower case, without a trailing dot; {@code *.x} matches any name below x, not x
 */
public record EgressRules(boolean internet, List<IpRange> allow, List<IpRange> deny, List<String> domains) {

    public static final EgressRules OPEN = new EgressRules(true, List.of(), List.of(), List.of());

    static final int MAX_ENTRIES = 1000;
    private static final Pattern LABEL = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?");

    public EgressRules {
        allow = List.copyOf(allow);
        deny = List.copyOf(deny);
        domains = List.copyOf(domains);
    }

    /** Validates and normalises what a client sent; throws IllegalArgumentException with a message for the client. */
    public static EgressRules parse(Boolean allowInternetAccess, List<String> allowOut, List<String> denyOut) {
        List<IpRange> allow = new ArrayList<>();
        List<IpRange> deny = new ArrayList<>();
        LinkedHashSet<String> domains = new LinkedHashSet<>();
        for (String entry : checkSize(allowOut, "allowOut")) {
            if (entry == null || entry.isBlank()) throw new IllegalArgumentException("allowOut has an empty entry");
            if (IpRange.looksNumeric(entry)) {
                allow.add(IpRange.parse(entry));
            } else {
                domains.add(domain(entry));
            }
        }
        for (String entry : checkSize(denyOut, "denyOut")) {
            if (entry == null || entry.isBlank()) throw new IllegalArgumentException("denyOut has an empty entry");
            if (!IpRange.looksNumeric(entry)) {
                throw new IllegalArgumentException("denyOut entry '" + entry
                        + "' is not an IP address or CIDR; domain names are not supported for deny rules");
            }
            deny.add(IpRange.parse(entry));
        }
        return new EgressRules(!Boolean.FALSE.equals(allowInternetAccess), allow.stream().distinct().toList(),
                deny.stream().distinct().toList(), List.copyOf(domains));
    }

    private static List<String> checkSize(List<String> entries, String name) {
        if (entries == null) return List.of();
        if (entries.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException(name + " has " + entries.size() + " entries; at most " + MAX_ENTRIES
                    + " are allowed");
        }
        return entries;
    }

    static String domain(String entry) {
        String d = entry.strip().toLowerCase(Locale.ROOT);
        if (d.endsWith(".")) d = d.substring(0, d.length() - 1);
        String name = d.startsWith("*.") ? d.substring(2) : d;
        boolean ok = !name.isEmpty() && name.length() <= 253;
        for (String label : name.split("\\.", -1)) {
            ok &= LABEL.matcher(label).matches();
        }
        if (!ok) {
            throw new IllegalArgumentException("'" + entry + "' is not a valid IP address, CIDR, domain or *.domain");
        }
        return d;
    }

    /** Whether the rules change anything compared with an unrestricted sandbox. */
    public boolean restricted() {
        return !internet || !deny.isEmpty();
    }

    /**
     * Whether the sandbox's DNS forwarder may relay any name upstream. Not with the internet off (or all of IPv4
     * denied): a query is itself traffic out (a name like {@code <secret>.attacker.example} reaches the attacker's
     * name server), so only names an allowed domain matches are resolved then.
     */
    public boolean resolvesEveryName() {
        return internet && deny.stream().noneMatch(r -> r.ipv4() && r.prefix() == 0);
    }

    public boolean hasDomains() {
        return !domains.isEmpty();
    }

    /** Exact names match themselves; {@code *.x} matches every name below x at any depth, but not x itself. */
    public boolean allowsName(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        for (String d : domains) {
            if (d.startsWith("*.") ? h.endsWith(d.substring(1)) && h.length() > d.length() - 1 : h.equals(d)) {
                return true;
            }
        }
        return false;
    }

    /** The IP rules' verdict for a destination (the always-blocked ranges are not considered here). */
    public boolean allowsAddress(InetAddress address) {
        if (allow.stream().anyMatch(r -> r.contains(address))) return true;
        return internet && deny.stream().noneMatch(r -> r.contains(address));
    }

    /** The {@code allowOut} list in E2B's form, for storing and showing. */
    public List<String> allowOut() {
        List<String> out = new ArrayList<>(allow.stream().map(IpRange::toString).toList());
        out.addAll(domains);
        return out;
    }

    public List<String> denyOut() {
        return deny.stream().map(IpRange::toString).toList();
    }
}
