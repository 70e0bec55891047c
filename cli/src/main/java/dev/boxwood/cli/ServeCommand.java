package dev.boxwood.cli;

import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.runtime.CrunRuntime;
import dev.boxwood.server.runtime.SandboxRuntime;
import dev.boxwood.server.sandbox.Templates;
import dev.boxwood.server.store.Team;
import dev.boxwood.server.store.TeamStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true, description = "Start the API server with embedded defaults")
final class ServeCommand implements Callable<Integer> {
    static final String DEFAULT_TEAM = "default";

    @Option(names = "--port", defaultValue = "3000", description = "Port (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE})")
    String bind;

    @Option(names = "--data-dir", defaultValue = "${sys:boxwood.dataDir:-" + Config.DEFAULT_DATA_DIR + "}",
            description = "Data directory (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--domain", description = "Domain of {port}-{sandboxId}.{domain} sandbox hosts (default: none)")
    String domain;

    @Option(names = "--runtime", defaultValue = "crun", description = "Sandbox runtime: crun, runsc, or runc (pause = CRIU checkpoint to disk; default: ${DEFAULT-VALUE})")
    String runtime;

    @Option(names = "--max-lifetime-hours", defaultValue = "24", description = "Longest a sandbox may live (default: ${DEFAULT-VALUE})")
    int maxLifetimeHours;

    @Option(names = "--max-cpu-count", description = "Most CPUs one sandbox may ask for (default: all of this host's)")
    Integer maxCpuCount;

    @Option(names = "--max-memory-mb", defaultValue = "8192", description = "Most memory one sandbox may ask for (default: ${DEFAULT-VALUE})")
    int maxMemoryMB;

    @Option(names = "--max-disk-mb", defaultValue = "20480", description = "Most disk one sandbox may ask for (default: ${DEFAULT-VALUE})")
    int maxDiskMB;

    @Option(names = "--rate-limit", defaultValue = "50",
            description = "API requests per second per key, and per client IP without a valid key; 0 = off (default: ${DEFAULT-VALUE})")
    double rateLimit;

    @Option(names = "--rate-limit-burst", defaultValue = "200",
            description = "API requests a key or IP may send at once (default: ${DEFAULT-VALUE})")
    int rateLimitBurst;

    @Option(names = "--pool", defaultValue = "base=2,code-interpreter-v1=1",
            description = "Warm pool size per template, e.g. base=2,code-interpreter-v1=1; 'none' for no pools;"
                    + " templates not built are skipped (default: ${DEFAULT-VALUE})")
    String pool;

    @Option(names = "--max-concurrent-boots", description = "Most sandboxes booting at once (creates and pool refills);"
            + " further creates wait in a FIFO queue (default: the number of CPUs, at least 2)")
    Integer maxConcurrentBoots;

    @Option(names = "--max-sandboxes-per-team", defaultValue = "0",
            description = "Most running sandboxes one team may have, creates under way included; a create beyond it"
                    + " gets 429 (the SDKs' RateLimitError); 0 = no limit (default: ${DEFAULT-VALUE})")
    int maxSandboxesPerTeam;

    @Option(names = {"--insecure-public-bind", "--insecure-public"},
            description = "Allow a non-loopback --bind without --tls although keys and tokens then travel in clear text")
    boolean insecurePublic;

    @Option(names = "--tls", description = "Serve HTTPS: with --tls-cert/--tls-key, or else with a wildcard certificate"
            + " for *.{domain} and {domain} that a local CA under <data-dir>/tls signs (needs --domain)")
    boolean tls;

    @Option(names = "--tls-cert", description = "PEM certificate chain, leaf first, for --tls")
    Path tlsCert;

    @Option(names = "--tls-key", description = "Unencrypted PKCS#8 PEM private key of --tls-cert")
    Path tlsKey;

    @Option(names = "--max-connections-per-sandbox", defaultValue = "1024",
            description = "Live connections per sandbox and direction, beyond which new ones are refused; 0 = no cap"
                    + " (default: ${DEFAULT-VALUE})")
    int maxConnectionsPerSandbox;

    @Option(names = "--bandwidth-mbit-per-sandbox", defaultValue = "100",
            description = "Megabits per second per sandbox and direction; 0 = no cap (default: ${DEFAULT-VALUE})")
    int bandwidthMbitPerSandbox;

    @Option(names = "--max-proxied-per-sandbox", defaultValue = "512",
            description = "Proxied requests and WebSockets in flight to one sandbox, beyond which the router answers"
                    + " 429 (default: ${DEFAULT-VALUE})")
    int maxProxiedPerSandbox;

    @Option(names = "--paused-retention-hours", defaultValue = "24",
            description = "How long a paused sandbox is kept before it is removed (default: ${DEFAULT-VALUE})")
    int pausedRetentionHours;

    @Option(names = "--snapshot-quota-mb", defaultValue = "10240",
            description = "Snapshot storage per team; a snapshot beyond it is refused with 403 (default: ${DEFAULT-VALUE})")
    long snapshotQuotaMB;

    @Override
    public Integer call() throws Exception {
        String refusal = dev.boxwood.server.auth.BindPolicy.refusal(bind, tls, insecurePublic);
        if (refusal != null) {
            System.err.println("boxwood serve: " + refusal);
            return 2;
        }
        if (!runtime.equals("crun") && !runtime.equals("runsc") && !runtime.equals("runc")) {
            System.err.println("boxwood serve: unknown runtime '" + runtime + "' (expected crun, runsc or runc)");
            return 2;
        }
        if (pausedRetentionHours < 1 || snapshotQuotaMB < 0) {
            System.err.println("boxwood serve: --paused-retention-hours must be at least 1 and --snapshot-quota-mb 0 or more");
            return 2;
        }
        if (maxLifetimeHours < 1) {
            System.err.println("boxwood serve: --max-lifetime-hours must be at least 1");
            return 2;
        }
        try {
            dev.boxwood.server.pool.PoolSizes.parse(pool);
        } catch (IllegalArgumentException e) {
            System.err.println("boxwood serve: --pool: " + e.getMessage());
            return 2;
        }
        if (rateLimit < 0 || rateLimitBurst < 1) {
            System.err.println("boxwood serve: --rate-limit must be 0 or more and --rate-limit-burst at least 1");
            return 2;
        }
        String tlsProblem = tlsProblem();
        if (tlsProblem != null) {
            System.err.println("boxwood serve: " + tlsProblem);
            return 2;
        }
        if (maxConnectionsPerSandbox < 0 || bandwidthMbitPerSandbox < 0 || maxProxiedPerSandbox < 1) {
            System.err.println("boxwood serve: per-sandbox connection and bandwidth caps must be 0 (none) or more, and"
                    + " --max-proxied-per-sandbox at least 1");
            return 2;
        }
        dataDir = dataDir.toAbsolutePath();
        System.setProperty("boxwood.dataDir", dataDir.toString());
        Files.createDirectories(dataDir);
        int cpus = maxCpuCount != null ? maxCpuCount : Runtime.getRuntime().availableProcessors();
        if (maxConcurrentBoots != null && maxConcurrentBoots < 1) {
            System.err.println("boxwood serve: --max-concurrent-boots must be at least 1");
            return 2;
        }
        if (maxSandboxesPerTeam < 0) {
            System.err.println("boxwood serve: --max-sandboxes-per-team must be 0 (no limit) or more");
            return 2;
        }
        if (cpus < 1 || maxMemoryMB < 64 || maxDiskMB < 64) {
            System.err.println("boxwood serve: sandbox maximums must be at least 1 CPU, 64 MiB memory and 64 MiB disk");
            return 2;
        }
        Config defaults = Config.defaults();
        Config config = Config.builder().dataDir(dataDir).bind(bind).port(port).domain(domain).runtime(runtime)
                .maxLifetime(Duration.ofHours(maxLifetimeHours)).maximums(cpus, maxMemoryMB, maxDiskMB)
                .rateLimit(rateLimit, rateLimitBurst)
                .insecurePublicBind(insecurePublic)
                .pools(dev.boxwood.server.pool.PoolSizes.parse(pool))
                .maxConcurrentBoots(maxConcurrentBoots != null ? maxConcurrentBoots
                        : dev.boxwood.server.pool.BootGate.defaultPermits())
                .maxSandboxesPerTeam(maxSandboxesPerTeam)
                .pausedRetention(Duration.ofHours(pausedRetentionHours)).snapshotQuotaBytes(snapshotQuotaMB << 20)
                .ingress(new dev.boxwood.server.router.IngressConfig(tls, abs(tlsCert), abs(tlsKey), maxProxiedPerSandbox))
                .defaults(Math.min(defaults.defaultCpuCount(), cpus), Math.min(defaults.defaultMemoryMB(), maxMemoryMB),
                        Math.min(defaults.defaultDiskMB(), maxDiskMB))
                .build();
        // Before the runtime starts: it re-applies these to the sandboxes it takes back.
        dev.boxwood.server.network.TrafficLimits.configure(
                new dev.boxwood.server.network.TrafficLimits.Settings(maxConnectionsPerSandbox, bandwidthMbitPerSandbox));

        if (!new Templates(config.templatesDir()).exists("base")) {
            System.err.println("boxwood serve: the base template is missing; building it (this takes a few minutes)");
            int built = new CommandLine(new TemplateCommand()).execute("build", "base");
            if (built != 0) {
                System.err.println("boxwood serve: building the base template failed");
                return 1;
            }
        }

        BoxwoodServer server;
        String key;
        try {
            server = new BoxwoodServer(config, createRuntime(runtime, config));
            key = apiKey(server.teams(), dataDir.resolve("api-key"));
            server.start();
        } catch (IllegalStateException | dev.boxwood.server.runtime.RuntimeFailure e) {
            System.err.println("boxwood serve: " + e.getMessage());
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // Sandboxes keep running; the next start reattaches them.
            System.err.println("boxwood serve: shutting down (sandboxes keep running)");
            server.close();
        }, "boxwood-shutdown"));

        String url = server.uri().getScheme() + "://" + advertisedHost(bind) + ":" + server.uri().getPort();
        System.out.println("E2B_API_KEY=" + key);
        System.out.println("E2B_API_URL=" + url);
        System.out.println("E2B_SANDBOX_URL=" + url);
        System.out.println("E2B_DOMAIN=" + (domain == null ? "localhost" : config.advertisedDomain()));
        if (server.certificate() != null && server.certificate().caFile() != null) {
            // getHost() URLs are https://{port}-{id}.{domain}; Node trusts the local CA through this variable.
            System.out.println("NODE_EXTRA_CA_CERTS=" + server.certificate().caFile());
        }
        System.out.println("Boxwood is ready");
        System.out.flush();
        Thread.currentThread().join();
        return 0;
    }

    /** Why the TLS flags cannot work, or null. */
    private String tlsProblem() {
        if ((tlsCert == null) != (tlsKey == null)) return "--tls-cert and --tls-key go together";
        if (tlsCert != null && !tls) return "--tls-cert and --tls-key need --tls";
        if (tls && tlsCert == null && domain == null) {
            return "--tls without --tls-cert generates a wildcard certificate for --domain; pass --domain"
                    + " (e.g. boxwood.localhost)";
        }
        for (Path p : new Path[] {tlsCert, tlsKey}) {
            if (p != null && !Files.isReadable(p)) return "cannot read " + p;
        }
        return null;
    }

    private static Path abs(Path p) {
        return p == null ? null : p.toAbsolutePath();
    }

    /** The default team's key from the file written on first start, or a new one if there is none or it was revoked. */
    static String apiKey(TeamStore teams, Path file) throws IOException {
        Team team = teams.ensureTeam(DEFAULT_TEAM);
        if (Files.isRegularFile(file)) {
            String existing = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (teams.teamForKey(existing).isPresent()) return existing;
        }
        String key = teams.createKey(team);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, key + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return key;
    }

    static SandboxRuntime createRuntime(String name, Config config) {
        if (name.equals("crun")) return new CrunRuntime(CrunRuntime.Config.defaults());
        if (name.equals("runc")) return new dev.boxwood.server.runtime.RuncRuntime(CrunRuntime.Config.defaults());
        // gVisor is optional; looked up by name so builds without it still compile.
        try {
            return (SandboxRuntime) Class.forName("dev.boxwood.server.runtime.RunscRuntime")
                    .getConstructor(CrunRuntime.Config.class).newInstance(CrunRuntime.Config.defaults());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("runtime " + name + " is not available in this build", e);
        }
    }

    private static String advertisedHost(String bind) {
        if (bind.equals("0.0.0.0") || bind.equals("::")) return "127.0.0.1";
        return bind.contains(":") ? "[" + bind + "]" : bind;
    }
}
