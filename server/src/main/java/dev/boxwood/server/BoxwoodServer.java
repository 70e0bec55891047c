package dev.boxwood.server;

import dev.boxwood.server.api.ApiHandler;
import dev.boxwood.server.api.JsonErrorHandler;
import dev.boxwood.server.router.SandboxProxy;
import dev.boxwood.server.router.SandboxRouter;
import dev.boxwood.server.tls.ServerCertificate;
import dev.boxwood.server.tls.TlsConnector;
import dev.boxwood.server.pool.InterpreterReadiness;
import dev.boxwood.server.pool.WarmPools;
import dev.boxwood.server.runtime.SandboxRuntime;
import dev.boxwood.server.sandbox.AgentClient;
import dev.boxwood.server.sandbox.SandboxManager;
import dev.boxwood.server.sandbox.Templates;
import dev.boxwood.server.store.Database;
import dev.boxwood.server.store.SandboxStore;
import dev.boxwood.server.store.TeamStore;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Executors;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The composition root: one port serving E2B's control plane and routing sandbox traffic. Closing it stops serving
 * and leaves sandboxes running, to be reattached by the next server on the same data dir.
 */
public final class BoxwoodServer implements AutoCloseable {
    private final Config config;
    private final Database database;
    private final TeamStore teams;
    private final SandboxStore store;
    private final SandboxManager sandboxes;
    private final dev.boxwood.server.snapshot.Snapshots snapshots;
    private final WarmPools pools;
    private final Server jetty;
    private final ServerConnector connector;
    private final FileChannel dataDirLock;
    private final ServerCertificate certificate;

    public BoxwoodServer(Config config, SandboxRuntime runtime) {
        this.config = config;
        String refusal = dev.boxwood.server.auth.BindPolicy.refusal(config.bind(), config.ingress().tls(),
                config.insecurePublicBind());
        if (refusal != null) throw new IllegalStateException(refusal);
        // First, so a bad certificate fails the start before anything is opened.
        this.certificate = config.ingress().tls() ? TlsConnector.certificate(config.ingress().certFile(),
                config.ingress().keyFile(), config.domain(), config.dataDir().resolve("tls")) : null;
        this.dataDirLock = lockDataDir(config.dataDir());
        try {
            this.database = new Database(config.databaseFile());
        } catch (RuntimeException e) {
            try {
                dataDirLock.close();
            } catch (IOException ignored) {
                // failing anyway
            }
            throw e;
        }
        this.teams = new TeamStore(database);
        this.store = new SandboxStore(database);
        Templates templates = new Templates(config.templatesDir());
        this.sandboxes = new SandboxManager(config, runtime, store, templates, new AgentClient());
        this.snapshots = new dev.boxwood.server.snapshot.Snapshots(config, database, sandboxes, runtime);
        this.pools = warmPools(config, runtime, templates, sandboxes);
        sandboxes.pools(pools);

        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("boxwood-http");
        // Handlers block (a create waits for a boot); virtual threads make that cheap.
        threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        jetty = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(true);
        connector = certificate != null ? TlsConnector.create(jetty, http, certificate)
                : new ServerConnector(jetty, new HttpConnectionFactory(http));
        connector.setHost(config.bind());
        connector.setPort(config.port());
        // Longer than the agent's 50 s keepalive interval, so quiet streams survive (E2B's envd uses 640 s).
        connector.setIdleTimeout(640_000);
        jetty.addConnector(connector);
        SandboxRouter router = new SandboxRouter(config.domain(), sandboxes::allLive);
        jetty.setHandler(new Handler.Sequence(new SandboxProxy(router, sandboxes, config.ingress().maxProxiedPerSandbox()),
                new ApiHandler(config, teams, sandboxes, store, templates, snapshots)));
        jetty.setErrorHandler(new JsonErrorHandler());
        jetty.setStopTimeout(5_000);
    }

    /** Takes back sandboxes left by an earlier process, then listens. */
    public BoxwoodServer start() {
        snapshots.mountAll(); // sandboxes of a snapshot need its root filesystem
        sandboxes.recover();
        snapshots.collectForks();
        pools.start(); // after recovery, which destroys unrecorded sandboxes such as an earlier process's pool
        try {
            jetty.start();
        } catch (Exception e) {
            close();
            throw new IllegalStateException("cannot listen on " + config.bind() + ":" + config.port() + ": " + e.getMessage(), e);
        }
        return this;
    }

    /** Base URL clients use, e.g. {@code http://127.0.0.1:3000}. */
    public URI uri() {
        String host = config.bind().contains(":") ? "[" + config.bind() + "]" : config.bind();
        return URI.create((certificate == null ? "http://" : "https://") + host + ":" + connector.getLocalPort());
    }

    /** The HTTPS certificate, or null when serving plain HTTP. */
    public ServerCertificate certificate() {
        return certificate;
    }

    public Config config() {
        return config;
    }

    public TeamStore teams() {
        return teams;
    }

    public SandboxStore store() {
        return store;
    }

    public SandboxManager sandboxes() {
        return sandboxes;
    }

    public dev.boxwood.server.snapshot.Snapshots snapshots() {
        return snapshots;
    }

    public WarmPools pools() {
        return pools;
    }

    /** Pools for the configured templates that are built, booted with the server's default resources. */
    private static WarmPools warmPools(Config config, SandboxRuntime runtime, Templates templates, SandboxManager sandboxes) {
        java.util.Map<String, Integer> sizes = new java.util.LinkedHashMap<>();
        config.pools().forEach((name, size) -> {
            if (templates.exists(name)) sizes.merge(templates.resolve(name), size, Integer::sum);
            else org.slf4j.LoggerFactory.getLogger(BoxwoodServer.class).warn("no warm pool for template {}: not built", name);
        });
        return new WarmPools(runtime, sizes, Math.min(config.defaultCpuCount(), config.maxCpuCount()),
                Math.min(config.defaultMemoryMB(), config.maxMemoryMB()), Math.min(config.defaultDiskMB(), config.maxDiskMB()),
                SandboxManager::newSandboxId, new InterpreterReadiness(), 1, sandboxes.boots(), sandboxes::personaliseAhead);
    }

    @Override
    public void close() {
        try {
            jetty.stop();
        } catch (Exception ignored) {
            // stopping anyway
        }
        pools.close();
        sandboxes.close();
        database.close();
        try {
            dataDirLock.close();
        } catch (IOException ignored) {
            // the lock goes with the process anyway
        }
    }

    /**
     * Two servers on one data dir would both reattach, time out and kill the same sandboxes; the second one is
     * refused instead.
     */
    private static FileChannel lockDataDir(Path dataDir) {
        try {
            Files.createDirectories(dataDir);
            FileChannel channel = FileChannel.open(dataDir.resolve("server.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                throw new IllegalStateException("another Boxwood server is already using the data directory " + dataDir);
            }
            return channel;
        } catch (IOException e) {
            throw new IllegalStateException("cannot lock the data directory " + dataDir + ": " + e.getMessage(), e);
        }
    }
}
