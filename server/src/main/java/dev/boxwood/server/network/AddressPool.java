package dev.boxwood.server.network;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.BitSet;

/**
 * Hands out one /30 per sandbox from a /16: slot n covers base + 4n .. base + 4n + 3, the host end is + 1 and the
 * sandbox + 2. Only this allocation is locked; everything else about a sandbox's network runs in parallel.
 */
public final class AddressPool {

    private final int base;
    private final int slots;
    private final BitSet used = new BitSet();
    private int next = 1;

    /** {@code cidr16} like {@code 10.88.0.0/16}. */
    public AddressPool(String cidr16) {
        String[] parts = cidr16.split("/");
        if (parts.length != 2 || !parts[1].equals("16")) {
            throw new IllegalArgumentException("sandbox network must be a /16, got " + cidr16);
        }
        this.base = toInt(parse(parts[0])) & 0xFFFF0000;
        this.slots = 1 << 14;
    }

    public String cidr() {
        return toAddress(base).getHostAddress() + "/16";
    }

    /** Takes the next free slot; slot 0 is never used so no address ends in .0.0/.0.1 by surprise. */
    public synchronized int allocate() {
        for (int i = 0; i < slots; i++) {
            int candidate = next;
            next = next + 1 >= slots ? 1 : next + 1;
            if (candidate != 0 && !used.get(candidate)) {
                used.set(candidate);
                return candidate;
            }
        }
        throw new IllegalStateException("no free sandbox addresses left in " + cidr());
    }

    /** Marks a slot taken, e.g. by a sandbox found running after a restart. Returns false if it already was. */
    public synchronized boolean reserve(int slot) {
        if (slot <= 0 || slot >= slots || used.get(slot)) {
            return false;
        }
        used.set(slot);
        return true;
    }

    public synchronized void release(int slot) {
        used.clear(slot);
    }

    public synchronized int inUse() {
        return used.cardinality();
    }

    public InetAddress hostAddress(int slot) {
        return toAddress(base + slot * 4 + 1);
    }

    public InetAddress sandboxAddress(int slot) {
        return toAddress(base + slot * 4 + 2);
    }

    private static InetAddress parse(String dotted) {
        try {
            return InetAddress.getByName(dotted);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IPv4 address: " + dotted);
        }
    }

    private static int toInt(InetAddress address) {
        byte[] b = address.getAddress();
        if (b.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: " + address);
        }
        return (b[0] & 0xFF) << 24 | (b[1] & 0xFF) << 16 | (b[2] & 0xFF) << 8 | (b[3] & 0xFF);
    }

    private static InetAddress toAddress(int value) {
        try {
            return InetAddress.getByAddress(new byte[] {
                    (byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
