package dev.boxwood.server;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything the server can be told at start-up. Defaults follow E2B where E2B has one.
 *
 * @param dataDir          holds {@code boxwood.db}, templates and per-sandbox state
 * @param bind             address the single HTTP port listens on
 * @param port             0 picks a free port (tests)
 * @param domain           the domain of {@code {port}-{sandboxId}.{domain}} hosts; null when none is served
 * @param runtime          "crun" or "runsc"
 * @param maxLifetime      no sandbox lives longer than this after its start
 * @param defaultCpuCount  CPUs of a sandbox that asks for none
 * @param defaultMemoryMB  memory of a sandbox that asks for none
 * @param defaultDiskMB    writable-layer size of a sandbox that asks for none
 * @param maxCpuCount      the most a create may ask for
 * @param maxMemoryMB      the most a create may ask for
 * @param maxDiskMB        the most a create may ask for
 * @param metricsInterval  how often live sandboxes' cgroups are sampled
 * @param rateLimit        API requests per second per key (and per client IP without a valid key); 0 = no limit
 * @param rateBurst        API requests a key or IP may send at once after a quiet period
 * @param pools            warm pool size per template (sandboxes booted ahead with the default resources); empty = none
 * @param ingress          TLS and the per-sandbox cap on proxied requests (see {@link dev.boxwood.server.router.IngressConfig})
 * @param insecurePublicBind listen on a non-loopback address without TLS all the same ({@link dev.boxwood.server.auth.BindPolicy})
 * @param pausedRetention  how long a paused sandbox is kept before it is removed (E2B: paused sandboxes do not time out)
 * @param snapshotQuotaBytes most bytes of snapshots one team may keep; a snapshot beyond it is refused
 * @param maxConcurrentBoots most sandboxes booting at once (creates and pool refills); the rest wait in a FIFO queue
 * @param maxSandboxesPerTeam most running sandboxes one team may have (booting ones included); a create beyond it is
 *                           refused with 429; 0 = no limit
 */
public record Config(Path dataDir, String bind, int port, String domain, String runtime, Duration maxLifetime,
                     int defaultCpuCount, int defaultMemoryMB, int defaultDiskMB,
                     int maxCpuCount, int maxMemoryMB, int maxDiskMB, Duration metricsInterval,
                     double rateLimit, int rateBurst, java.util.Map<String, Integer> pools,
                     Duration pausedRetention, long snapshotQuotaBytes,
                     dev.boxwood.server.router.IngressConfig ingress, boolean insecurePublicBind,
                     int maxConcurrentBoots, int maxSandboxesPerTeam) {

    public static final String DEFAULT_DATA_DIR = "/var/lib/boxwood";

    /** The data dir named by {@code -Dboxwood.dataDir}, else {@value #DEFAULT_DATA_DIR}. */
    public static Path defaultDataDir() {
        return Path.of(System.getProperty("boxwood.dataDir", DEFAULT_DATA_DIR));
    }

    public static Config defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts from the defaults; set only what differs. */
    public static final class Builder {
        private static final int CPUS = Math.max(1, Runtime.getRuntime().availableProcessors());
        private Path dataDir = defaultDataDir();
        private String bind = "127.0.0.1";
        private int port = 3000;
        private String domain;
        private String runtime = "crun";
        private Duration maxLifetime = Duration.ofHours(24);
        private int defaultCpuCount = Math.min(2, CPUS);
        private int defaultMemoryMB = 512;
        private int defaultDiskMB = 2048;
        private int maxCpuCount = CPUS;
        private int maxMemoryMB = 8192;
        private int maxDiskMB = 20480;
        private Duration metricsInterval = Duration.ofSeconds(5);
        private double rateLimit = 50;
        private int rateBurst = 200;
        private java.util.Map<String, Integer> pools = java.util.Map.of();
        private dev.boxwood.server.router.IngressConfig ingress = dev.boxwood.server.router.IngressConfig.defaults();
        private boolean insecurePublicBind;
        private Duration pausedRetention = Duration.ofHours(24);
        private long snapshotQuotaBytes = 10L << 30;
        private int maxConcurrentBoots = dev.boxwood.server.pool.BootGate.defaultPermits();
        private int maxSandboxesPerTeam;

        public Builder dataDir(Path v) { dataDir = v; return this; }
        public Builder bind(String v) { bind = v; return this; }
        public Builder port(int v) { port = v; return this; }
        public Builder domain(String v) { domain = v; return this; }
        public Builder runtime(String v) { runtime = v; return this; }
        public Builder maxLifetime(Duration v) { maxLifetime = v; return this; }
        public Builder defaults(int cpus, int memoryMB, int diskMB) {
            defaultCpuCount = cpus;
            defaultMemoryMB = memoryMB;
            defaultDiskMB = diskMB;
            return this;
        }
        public Builder maximums(int cpus, int memoryMB, int diskMB) {
            maxCpuCount = cpus;
            maxMemoryMB = memoryMB;
            maxDiskMB = diskMB;
            return this;
        }
        public Builder metricsInterval(Duration v) { metricsInterval = v; return this; }
        public Builder rateLimit(double perSecond, int burst) {
            rateLimit = perSecond;
            rateBurst = burst;
            return this;
        }

        public Builder pools(java.util.Map<String, Integer> v) { pools = java.util.Map.copyOf(v); return this; }
        public Builder ingress(dev.boxwood.server.router.IngressConfig v) { ingress = v; return this; }
        public Builder insecurePublicBind(boolean v) { insecurePublicBind = v; return this; }
        public Builder pausedRetention(Duration v) { pausedRetention = v; return this; }
        public Builder snapshotQuotaBytes(long v) { snapshotQuotaBytes = v; return this; }
        public Builder maxConcurrentBoots(int v) { maxConcurrentBoots = v; return this; }
        public Builder maxSandboxesPerTeam(int v) { maxSandboxesPerTeam = v; return this; }

        public Config build() {
            return new Config(dataDir, bind, port, domain, runtime, maxLifetime, defaultCpuCount, defaultMemoryMB,
                    defaultDiskMB, maxCpuCount, maxMemoryMB, maxDiskMB, metricsInterval, rateLimit, rateBurst, pools,
                    pausedRetention, snapshotQuotaBytes, ingress, insecurePublicBind, maxConcurrentBoots,
                    maxSandboxesPerTeam);
        }
    }

    /**
     * The domain the API tells SDKs (E2B's {@code domain} field, from which {@code getHost()} builds
     * {@code https://{port}-{id}.{domain}}): with TLS on a port other than 443, {@code domain:port}, so those URLs
     * reach this server.
     */
    public String advertisedDomain() {
        if (domain == null || !ingress.tls() || port == 443 || port == 0) return domain;
        return domain + ":" + port;
    }

    public Path databaseFile() {
        return dataDir.resolve("boxwood.db");
    }

    public Path templatesDir() {
        return dataDir.resolve("templates");
    }
}
