package dev.boxwood.cli;

import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.runtime.CrunRuntime;
import dev.boxwood.server.runtime.SandboxRuntime;
import dev.boxwood.server.sandbox.Templates;
import dev.boxwood.server.store.Team;
import dev.boxwood.server.store.TeamStore;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
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

    @Option(names = "--runtime", defaultValue = "crun", description = "Sandbox runtime: crun or runsc (default: ${DEFAULT-VALUE})")
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

    @Option(names = "--insecure-public", description = "Allow a non-loopback --bind although traffic is not encrypted")
    boolean insecurePublic;

    @Override
    public Integer call() throws Exception {
        if (!isLoopback(bind) && !insecurePublic) {
            System.err.println("boxwood serve: refusing to listen on " + bind + " without TLS; bind a loopback address"
                    + " or pass --insecure-public to accept that API keys travel in clear text");
            return 2;
        }
        if (!runtime.equals("crun") && !runtime.equals("runsc")) {
            System.err.println("boxwood serve: unknown runtime '" + runtime + "' (expected crun or runsc)");
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
        dataDir = dataDir.toAbsolutePath();
        System.setProperty("boxwood.dataDir", dataDir.toString());
        Files.createDirectories(dataDir);
        int cpus = maxCpuCount != null ? maxCpuCount : Runtime.getRuntime().availableProcessors();
        if (cpus < 1 || maxMemoryMB < 64 || maxDiskMB < 64) {
            System.err.println("boxwood serve: sandbox maximums must be at least 1 CPU, 64 MiB memory and 64 MiB disk");
            return 2;
        }
        Config defaults = Config.defaults();
        Config config = Config.builder().dataDir(dataDir).bind(bind).port(port).domain(domain).runtime(runtime)
                .maxLifetime(Duration.ofHours(maxLifetimeHours)).maximums(cpus, maxMemoryMB, maxDiskMB)
                .rateLimit(rateLimit, rateLimitBurst)
                .pools(dev.boxwood.server.pool.PoolSizes.parse(pool))
                .defaults(Math.min(defaults.defaultCpuCount(), cpus), Math.min(defaults.defaultMemoryMB(), maxMemoryMB),
                        Math.min(defaults.defaultDiskMB(), maxDiskMB))
                .build();

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

        String url = "http://" + advertisedHost(bind) + ":" + server.uri().getPort();
        System.out.println("E2B_API_KEY=" + key);
        System.out.println("E2B_API_URL=" + url);
        System.out.println("E2B_SANDBOX_URL=" + url);
        System.out.println("E2B_DOMAIN=" + (domain == null ? "localhost" : domain));
        System.out.println("Boxwood is ready");
        System.out.flush();
        Thread.currentThread().join();
        return 0;
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
        // gVisor is optional; looked up by name so builds without it still compile.
        try {
            return (SandboxRuntime) Class.forName("dev.boxwood.server.runtime.RunscRuntime")
                    .getConstructor(CrunRuntime.Config.class).newInstance(CrunRuntime.Config.defaults());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("runtime " + name + " is not available in this build", e);
        }
    }

    static boolean isLoopback(String address) {
        try {
            return InetAddress.getByName(address).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static String advertisedHost(String bind) {
        if (bind.equals("0.0.0.0") || bind.equals("::")) return "127.0.0.1";
        return bind.contains(":") ? "[" + bind + "]" : bind;
    }
}
