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
 *
 * <p>Each attached sandbox is also served, on the host end of its veth, by a {@link DnsForwarder} (the sandbox's
 * resolv.conf names {@link #dnsAddress()}, which its NAT chain sends there) and an {@link EgressProxy} for its domain
 * rules. These live in this process: a restarted server starts them again when it re-applies the rules.
 */
public final class SandboxNetwork implements AutoCloseable {

    public static final String DEFAULT_CIDR = "10.88.0.0/16";
    private static final String NETNS_PREFIX = "bw-";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SandboxNetwork.class);
    /** Far longer than a boot takes from writing the record to pinning the namespace (milliseconds). */
    private static final java.time.Duration STALE_AFTER = java.time.Duration.ofMinutes(1);

    private final AddressPool pool;
    private final Firewall firewall;
    private final Path stateDir;
    private final java.util.Map<String, Served> served = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile UpstreamResolver resolver = UpstreamResolver.fromResolvConf(Path.of("/etc/resolv.conf"));

    /** What this process runs for one sandbox; {@link #rules} is read by the proxy on every connection. */
    private static final class Served implements AutoCloseable {
        final DnsForwarder dns;
        final EgressProxy proxy;
        /** The rules this process put into the firewall itself (null: none yet, e.g. after a restart). */
        volatile EgressRules applied;

        Served(String id, NetworkAttachment net, UpstreamResolver resolver) throws IOException {
            dns = new DnsForwarder(net.hostAddress(), resolver, this::rules);
            try {
                proxy = new EgressProxy(id, net.hostAddress(), this::rules, resolver);
            } catch (IOException e) {
                dns.close();
                throw e;
            }
        }

        /** What the DNS forwarder and the proxy enforce: the rules last applied, open until there are any. */
        EgressRules rules() {
            EgressRules r = applied;
            return r != null ? r : EgressRules.OPEN;
        }

        @Override
        public void close() {
            dns.close();
            proxy.close();
        }
    }

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

    /** Where sandboxes' DNS queries and the egress proxy's own lookups go (default: the host's resolv.conf). */
    public void useResolvers(List<java.net.InetSocketAddress> servers) {
        resolver = new UpstreamResolver(servers);
    }

    public UpstreamResolver resolver() {
        return resolver;
    }

    /**
     * The resolver address every sandbox is given: the unused host address of slot 0, which each sandbox's NAT chain
     * maps to the host end of its own veth, where its {@link DnsForwarder} listens.
     */
    public java.net.InetAddress dnsAddress() {
        return pool.hostAddress(0);
    }

    /** The {@code /etc/resolv.conf} for sandboxes on this network. */
    public String resolvConf() {
        return "nameserver " + dnsAddress().getHostAddress() + "\n";
    }

    /**
     * Replaces a sandbox's outbound rules (atomically, in nftables) and makes sure this process serves its DNS and
     * egress proxy, e.g. after a server restart. Throws {@link RuntimeFailure} if the sandbox has no network here.
     */
    public void applyEgress(String sandboxId, EgressRules rules) {
        NetworkAttachment net = find(sandboxId)
                .orElseThrow(() -> new RuntimeFailure("sandbox " + sandboxId + " has no network"));
        Served s = serve(net);
        // A cold create asks for the open rules its set-up has just put in: an nft run (25-45 ms) on its path for
        // nothing. Rules this process has not applied itself are always applied.
        if (rules.equals(s.applied)) return;
        firewall.applyRules(net, rules, dnsAddress());
        s.applied = rules;
    }

    /** The rules this process last applied to a sandbox (open when it applied none). */
    public EgressRules egress(String sandboxId) {
        Served s = served.get(sandboxId);
        return s == null ? EgressRules.OPEN : s.rules();
    }

    private Served serve(NetworkAttachment net) {
        try {
            return served.computeIfAbsent(net.sandboxId(), id -> {
                try {
                    return new Served(id, net, resolver);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw new RuntimeFailure("cannot serve DNS and the egress proxy for " + net.sandboxId() + " on "
                    + net.hostAddress().getHostAddress() + ": " + e.getCause().getMessage(), e.getCause());
        }
    }

    /**
     * Starts the sandbox's DNS forwarder and egress proxy on its host address, as soon as that address exists: false
     * when another process still holds a socket on it (a Boxwood process killed without a stop keeps its sandboxes'
     * sockets bound after their interfaces are gone), so that the caller takes another slot instead of failing.
     */
    private boolean servedOrTaken(NetworkAttachment net) {
        try {
            serve(net);
            return true;
        } catch (RuntimeFailure e) {
            if (!(e.getCause() instanceof java.net.BindException)) throw e;
            LOG.warn("slot {} skipped: {}", net.slot(), e.getMessage());
            return false;
        }
    }

    private void unserve(String sandboxId) {
        Served s = served.remove(sandboxId);
        if (s != null) s.close();
    }

    /** Stops this process's DNS forwarders and proxies; sandboxes and their nftables rules stay. */
    @Override
    public void close() {
        for (String id : List.copyOf(served.keySet())) {
            unserve(id);
        }
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
        removeOrphanChains();
        for (String id : recordedSandboxes()) {
            Optional<NetworkAttachment> recorded = find(id);
            if (recorded.isPresent() && gone(recorded.get())) {
                dropRecord(id);
                continue;
            }
            recorded.ifPresent(net -> pool.reserve(net.slot()));
            recorded.ifPresent(TrafficLimits::reapply);
        }
    }

    /**
     * Whether a recorded network no longer exists anywhere on the host: no namespace pin, no host end, and the record
     * not just written by a boot in progress (it is written first). A server killed without a stop, whose sandboxes
     * were then removed, leaves such records; each held its address slot until a reboot.
     */
    private boolean gone(NetworkAttachment net) {
        if (pinned(net.sandboxId()) || Files.exists(Path.of("/sys/class/net", net.hostInterface()))) return false;
        try {
            java.time.Instant written = Files.getLastModifiedTime(stateDir.resolve(net.sandboxId())).toInstant();
            return written.isBefore(java.time.Instant.now().minus(STALE_AFTER));
        } catch (IOException e) {
            return false;
        }
    }

    private void dropRecord(String sandboxId) {
        try {
            Files.deleteIfExists(stateDir.resolve(sandboxId));
            LOG.info("dropped the network record of {}: its namespace and veth are gone", sandboxId);
        } catch (IOException e) {
            LOG.warn("cannot drop the stale network record of {}: {}", sandboxId, e.getMessage());
        }
    }

    /**
     * A process that died while a sandbox was booting (a test JVM, the start-up cache's training sandbox cut off at
     * exit) can leave that sandbox's chains behind. They are empty and unreferenced, so harmless, but they pile up in
     * the table every server shares. The namespace is pinned before any chain is made and dropped after both are
     * gone, so a chain whose namespace is missing belongs to no live sandbox of any Boxwood process on this host.
     */
    private void removeOrphanChains() {
        for (String chain : firewall.sandboxChains()) {
            String id = chain.substring("sb_".length());
            if (!Files.exists(Path.of("/run/netns", NETNS_PREFIX + id))) {
                firewall.removeOrphanChains(id);
            }
        }
    }

    /** Wires up the network namespace of the process {@code pid} (the sandbox's init, not yet started). */
    public NetworkAttachment attach(String sandboxId, long pid) {
        NetworkAttachment net = link(sandboxId, pid);
        complete(net);
        return net;
    }

    /**
     * A network being wired up on a virtual thread while the sandbox starts: the agent's JVM start and this set-up
     * overlap instead of adding up. Until {@link #completed} the sandbox can send nothing anywhere (the firewall drops
     * traffic from an interface it has no {@code sources} entry for), so its user code, which runs only after
     * {@code /init}, never sees it half done; the agent itself only listens.
     */
    public final class Attaching {
        private final java.util.concurrent.CompletableFuture<NetworkAttachment> linked =
                new java.util.concurrent.CompletableFuture<>();
        private final java.util.concurrent.CompletableFuture<NetworkAttachment> completed =
                new java.util.concurrent.CompletableFuture<>();
        private volatile long setUpNanos;

        private Attaching(String sandboxId, long pid) {
            Thread.ofVirtual().name("network-" + sandboxId).start(() -> {
                long t0 = System.nanoTime();
                NetworkAttachment net;
                try {
                    net = link(sandboxId, pid);
                    linked.complete(net);
                } catch (Throwable e) {
                    linked.completeExceptionally(e);
                    completed.completeExceptionally(e);
                    return;
                } finally {
                    setUpNanos = System.nanoTime() - t0;
                }
                try {
                    complete(net);
                    completed.complete(net);
                } catch (Throwable e) {
                    completed.completeExceptionally(e);
                } finally {
                    setUpNanos = System.nanoTime() - t0;
                }
            });
        }

        /** Waits until the host can reach the sandbox's address (veth, addresses, route). */
        public NetworkAttachment linked() {
            return await(linked);
        }

        /** Waits until all is done: firewall entries, limits, DNS and the egress proxy. */
        public NetworkAttachment completed() {
            return await(completed);
        }

        /** Waits for the set-up to end, however it ends: a failed boot must not tear down what is still being made. */
        public void settle() {
            try {
                completed.join();
            } catch (RuntimeException ignored) {
                // the boot reports its own failure
            }
        }

        /** How long the set-up took (so far), wherever it overlapped the boot. */
        public long setUpNanos() {
            return setUpNanos;
        }

        private static NetworkAttachment await(java.util.concurrent.CompletableFuture<NetworkAttachment> step) {
            try {
                return step.join();
            } catch (java.util.concurrent.CompletionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw new RuntimeFailure("network set-up failed: " + e.getCause(), e.getCause());
            }
        }
    }

    /** Starts {@link #attach} on a virtual thread; the caller must wait on the result before destroying the sandbox. */
    public Attaching attachInBackground(String sandboxId, long pid) {
        return new Attaching(sandboxId, pid);
    }

    /**
     * The namespace pin, the veth pair (its sandbox end created in the sandbox's namespace as {@code eth0}), both
     * addresses and the sandbox's default route: two {@code ip -batch} processes, since a tool's start costs far more
     * than the kernel's work. Then the DNS forwarder and egress proxy on the host address, which the firewall keeps
     * out of the sandbox's reach until {@link #complete}: binding them here lets a slot whose address is still held
     * elsewhere be given up for the next.
     */
    NetworkAttachment link(String sandboxId, long pid) {
        String netns = NETNS_PREFIX + sandboxId;
        boolean pinned = false;
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
            String pin = pinned ? "" : "netns attach " + netns + " " + pid + "\n";
            HostCommand.Result link = HostCommand.run(List.of("ip", "-batch", "-"), pin + """
                    link add %1$s type veth peer name eth0 netns %2$s
                    addr add %3$s/30 dev %1$s
                    link set %1$s up
                    """.formatted(net.hostInterface(), netns, net.hostAddress().getHostAddress()),
                    null, java.util.Map.of(), line -> {});
            pinned = pinned || Files.exists(Path.of("/run/netns", netns));
            if (link.ok()) {
                configureInside(net);
                if (servedOrTaken(net)) return net;
                // The slot stays marked used in this pool: its address is held by someone else.
                HostCommand.run(List.of("ip", "link", "del", net.hostInterface()));
                if (attempt >= 8) {
                    throw new RuntimeFailure("cannot serve DNS and the egress proxy for " + sandboxId
                            + ": the host addresses of " + (attempt + 1) + " slots are held by other processes");
                }
                continue;
            }
            if (!pinned) {
                throw new RuntimeFailure("cannot pin the network namespace of " + sandboxId + ": " + link.output());
            }
            if (!link.output().contains("File exists") || attempt >= 8) {
                // Our link add succeeded (a later line failed): remove it. Never delete a name someone else owns.
                HostCommand.run(List.of("ip", "link", "del", net.hostInterface()));
                throw new RuntimeFailure("cannot create the network of " + sandboxId + ": " + link.output());
            }
        }
    }

    /**
     * Moves a sandbox's {@code eth0} from its pinned namespace into the network namespace of {@code pid} (a CRIU
     * restore makes a new, empty one), pins that one instead and sets up again only what the move lost: {@code eth0}'s
     * address, its route, {@code lo} and {@code eth0}'s shaping qdisc. The host end (its address and qdisc), the
     * firewall and limits entries (keyed by the host interface) and the DNS and proxy are untouched. Four tool runs:
     * each costs far more than the kernel's work, and a restore waits for them.
     */
    public NetworkAttachment moveInto(String sandboxId, long pid) {
        NetworkAttachment net = find(sandboxId)
                .orElseThrow(() -> new RuntimeFailure("sandbox " + sandboxId + " has no network"));
        // Moved before the pin goes: the old namespace, with eth0 (and so the veth), would go with its last pin.
        HostCommand.check(List.of("ip", "-n", net.netns(), "link", "set", "eth0", "netns", Long.toString(pid)));
        HostCommand.check(List.of("ip", "-batch", "-"), "netns del " + net.netns() + "\nnetns attach " + net.netns()
                + " " + pid + "\n");
        HostCommand.check(List.of("ip", "-n", net.netns(), "-batch", "-"), insideScript(net));
        TrafficLimits.shapeInside(net);
        return net;
    }

    private void configureInside(NetworkAttachment net) {
        // No IPv6 on the host end: no link-local address, no router solicitations.
        try {
            Files.writeString(Path.of("/proc/sys/net/ipv6/conf/" + net.hostInterface() + "/disable_ipv6"), "1");
        } catch (IOException ignored) {
            // IPv6 may be disabled host-wide; the firewall drops sandbox IPv6 either way
        }
        HostCommand.check(List.of("ip", "-n", net.netns(), "-batch", "-"), insideScript(net));
    }

    /** {@code lo} up, and {@code eth0}'s address, link and default route, for {@code ip -n <netns> -batch}. */
    private static String insideScript(NetworkAttachment net) {
        return """
                link set lo up
                addr add %1$s/30 dev eth0
                link set eth0 up
                route add default via %2$s
                """.formatted(net.sandboxAddress().getHostAddress(), net.hostAddress().getHostAddress());
    }

    /**
     * The firewall entries, the connection caps and the open default rules in one nftables transaction (with the DNS
     * forwarder and egress proxy that {@link #link} started), then the bandwidth shaping (one {@code tc -batch} per
     * end).
     */
    void complete(NetworkAttachment net) {
        Served s = serve(net);
        TrafficLimits.ensureInstalled();
        String transaction = firewall.addScript(net) + TrafficLimits.script(net, TrafficLimits.configured())
                + firewall.rulesScript(net, EgressRules.OPEN, dnsAddress());
        HostCommand.Result applied = HostCommand.run(List.of("nft", "-f", "-"), transaction, null,
                java.util.Map.of(), line -> {});
        if (!applied.ok()) {
            // Rare: elements a dead sandbox left under this interface name, or a limits table someone removed.
            firewall.clearStale(net);
            TrafficLimits.install();
            HostCommand.check(List.of("nft", "-f", "-"), transaction);
        }
        s.applied = EgressRules.OPEN;
        TrafficLimits.shapeNew(net);
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
        unserve(sandboxId);
        Optional<NetworkAttachment> recorded = find(sandboxId);
        recorded.ifPresent(net -> {
            // One transaction when everything is there (the usual case); one command per object otherwise.
            if (!HostCommand.run(List.of("nft", "-f", "-"), firewall.removeScript(net) + TrafficLimits.removeScript(net),
                    null, java.util.Map.of(), line -> {}).ok()) {
                firewall.removeSandbox(net);
                TrafficLimits.remove(net);
            }
        });
        // -force: go on past a link or pin that is gone already
        HostCommand.run(List.of("ip", "-force", "-batch", "-"), recorded.map(net -> "link del " + net.hostInterface()
                + "\n").orElse("") + "netns del " + NETNS_PREFIX + sandboxId + "\n", null, java.util.Map.of(),
                line -> {});
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
