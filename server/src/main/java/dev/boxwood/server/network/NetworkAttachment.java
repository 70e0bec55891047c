package dev.boxwood.server.network;

import java.net.InetAddress;

/**
 * A sandbox's link to the host: a veth pair, {@code hostInterface} in the host's namespace and {@code eth0} in the
 * sandbox's, on a /30 of its own.
 *
 * @param slot           index of the sandbox's /30 inside the pool
 * @param netns          name under {@code /run/netns} that pins the sandbox's network namespace
 * @param hostInterface  host end of the veth pair
 * @param hostAddress    address of the host end (the sandbox's default gateway)
 * @param sandboxAddress address of {@code eth0} inside the sandbox
 */
public record NetworkAttachment(String sandboxId, int slot, String netns, String hostInterface,
                                InetAddress hostAddress, InetAddress sandboxAddress) {

    /** Name of the sandbox's own nftables chain, where per-sandbox egress rules go. */
    public String chain() {
        return "sb_" + sandboxId;
    }

    /** Name of the sandbox's own NAT chain: DNS and, with domain rules, web traffic to the host end. */
    public String natChain() {
        return "nat_" + sandboxId;
    }
}
