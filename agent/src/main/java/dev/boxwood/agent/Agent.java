package dev.boxwood.agent;

import dev.boxwood.agent.http.AgentHandler;
import dev.boxwood.agent.http.Replies;
import dev.boxwood.agent.http.ServerResources;
import dev.boxwood.agent.connect.ConnectRouter;
import dev.boxwood.agent.files.FilesHandler;
import dev.boxwood.agent.filesystem.Access;
import dev.boxwood.agent.filesystem.FilesystemService;
import dev.boxwood.agent.metrics.Metrics;
import dev.boxwood.agent.process.ProcessService;
import dev.boxwood.agent.users.Accounts;
import dev.boxwood.agent.users.Users;
import dev.boxwood.protocol.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.LoggerFactory;

/**
 * Entry point of the in-sandbox daemon (E2B's envd): HTTP/1.1 on 0.0.0.0:49983, every request on a virtual thread.
 * Environment: {@code BOXWOOD_AGENT_PORT} (default 49983), {@code BOXWOOD_AGENT_HOST} (default 0.0.0.0),
 * {@code BOXWOOD_INIT_TOKEN_FILE} (a file holding the secret {@code POST /init} must carry, removed once read) or
 * {@code BOXWOOD_INIT_TOKEN} (the secret itself; when neither is set, /init is open, as in envd's local debug mode).
 * With {@code --train} it runs {@link dev.boxwood.agent.startup.Training} and exits: a training run for the JVM's AOT
 * cache ({@code -XX:AOTCacheOutput}).
 */
public final class Agent implements AutoCloseable {
    private final Server server;
    private final ServerConnector connector;
    private final ServerResources owned;

    private Agent(Server server, ServerConnector connector, ServerResources owned) {
        this.server = server;
        this.connector = connector;
        this.owned = owned;
    }

    public static void main(String[] args) throws Exception {
        // Jetty's MimeTypes lists Locale.getAvailableLocales() when the server is built, and Jackson's first mapper
        // builds US date formats: with the default CLDR provider that parses the data of ~1,150 locales, ~90 ms of CPU
        // at every start. The JDK's built-in provider (what HOST falls back to on Linux) knows ~170, with the same
        // English formats for everything the agent formats (HTTP dates, JSON, numbers); only localized "styles" (such
        // as DateFormat.getDateTimeInstance(), which nothing here uses) differ in punctuation. Set before anything
        // touches locale data, in the training run too, so that the AOT cache holds the same classes.
        if (System.getProperty("java.locale.providers") == null) System.setProperty("java.locale.providers", "HOST");
        if (args.length > 0 && args[0].equals("--train")) {
            dev.boxwood.agent.startup.Training.run();
            System.exit(0); // the JVM writes the cache on exit; a thread the interpreter left must not hold it up
        }
        prepareInitInBackground();
        String port = System.getenv().getOrDefault("BOXWOOD_AGENT_PORT", String.valueOf(Ports.AGENT));
        String host = System.getenv().getOrDefault("BOXWOOD_AGENT_HOST", "0.0.0.0");
        String initToken = initToken();
        dev.boxwood.agent.process.ResourceExemption.keepToTheAgent(); // before the agent starts anything
        awaitLoopback();
        // >>> code interpreter hook: E2B's interpreter on 49999 when the template has a Jupyter kernel. Started
        // first, so its port is open by the time the server sees this agent healthy and hands the sandbox out.
        Accounts accounts = new Accounts();
        Settings settings = initialSettings(accounts);
        ServerResources jetty = ServerResources.start();
        dev.boxwood.agent.interpreter.InterpreterServer.startIfAvailable(settings, jetty);
        // <<< code interpreter hook
        Agent agent = start(host, Integer.parseInt(port), initToken == null || initToken.isEmpty() ? null : initToken,
                accounts, settings, jetty);
        startTimerThreads();
        logListening(host, agent.port());
        // >>> sudo hook: /usr/local/bin/sudo asks the agent over /run/boxwood-sudo.sock (setuid is inert under NNP).
        // Started once /health answers: binding a Unix socket initialises the JDK's whole security-provider framework
        // (UnixDomainSockets seeds a SecureRandom), ~50-150 ms of CPU a cold create need not wait for; a sudo run
        // that comes sooner waits for the socket (templates/base/sudo).
        dev.boxwood.agent.sudo.SudoService.startIfRoot();
        // <<< sudo hook
        agent.server.join();
    }

    /**
     * The secret {@code /init} must carry: read from {@code BOXWOOD_INIT_TOKEN_FILE} and the file removed, before any
     * process of the sandbox's user can run, or else {@code BOXWOOD_INIT_TOKEN} (local debugging). A file that is named
     * but cannot be read ends the agent: falling back to an open {@code /init} would hand the sandbox to anyone.
     */
    static String initToken() throws IOException {
        String file = System.getenv("BOXWOOD_INIT_TOKEN_FILE");
        if (file == null) return System.getenv("BOXWOOD_INIT_TOKEN");
        Path path = Path.of(file);
        String token = Files.readString(path).strip();
        Files.delete(path);
        if (token.isEmpty()) throw new IOException("the init token file " + file + " is empty");
        return token;
    }

    /**
     * Builds Jackson's deserializer for {@code /init} on a second thread while the main one starts Jetty. The first
     * {@code /init} of a fresh agent took 55-85 ms against 6-9 ms for a second one, and the server sends it right after
     * {@code /health}, so a cold create waited for that set-up; now it overlaps the start. Measured A/B (8 cold creates
     * each, twice): start to healthy +20-40 ms, the whole create 40-85 ms shorter. Warming a first command's path the
     * same way (JNA, a spawn, the process service's messages) was tried and dropped: it cut that command by ~30 ms but
     * made start to healthy ~120 ms longer, as the host's two cores are busy with the boot.
     */
    static void prepareInitInBackground() {
        Thread.ofPlatform().daemon().name("prepare-init").start(() -> {
            try {
                dev.boxwood.protocol.Json.mapper().readValue(
                        "{\"accessToken\":\"t\",\"envVars\":{\"A\":\"1\"},\"defaultUser\":\"user\","
                                + "\"defaultWorkdir\":\"/home/user\",\"timestamp\":\"2026-01-01T00:00:00Z\"}",
                        dev.boxwood.protocol.envd.InitRequest.class);
            } catch (java.io.IOException | RuntimeException e) {
                // only a head start: /init builds it itself otherwise
            }
        });
    }

    /** Start-up time as the benchmarks define it: from the JVM's process start to a listening /health. */
    public static void logListening(String host, int port) {
        // The process start time has a resolution of a clock tick but is relative to the boot time, which the kernel
        // reports in whole seconds: the figure can be off by up to a second (compare runs, not single values).
        ProcessHandle.current().info().startInstant().ifPresent(t -> LoggerFactory.getLogger(Agent.class).info(
                "listening on {}:{} {} ms after JVM start", host, port,
                java.time.Duration.between(t, java.time.Instant.now()).toMillis()));
    }

    /**
     * The server wires up the sandbox's network while this JVM starts, so on a loaded host {@code lo} may come up a
     * moment after main() begins; kernels started before then could not bind 127.0.0.1. Listening on the wildcard
     * address needs no interface, and the server asks for /health only once the network is up, so nothing else waits.
     */
    static void awaitLoopback() throws InterruptedException {
        Path flags = Path.of("/sys/class/net/lo/flags");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                if ((Integer.decode(java.nio.file.Files.readString(flags).strip()) & 1) != 0) return; // IFF_UP
            } catch (java.io.IOException | NumberFormatException e) {
                return; // no sysfs view of the interfaces here: nothing to wait for
            }
            Thread.sleep(2);
        }
    }

    /**
     * Makes the JVM start, now, the thread that wakes timed virtual-thread waits (the scheduler's delay thread). It is
     * otherwise started on first use, and a fork bomb that holds every pid of the sandbox at that moment makes the
     * start fail for good: every later timed wait, and the streams waiting on them, would hang (HostileWorkloadTest).
     */
    public static void startTimerThreads() throws InterruptedException {
        Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }).join();
    }

    /** What a fresh agent's settings are before /init: the default user is "user" where the template has one. */
    public static Settings initialSettings(Accounts accounts) {
        return new Settings(accounts.byName("user").isPresent() ? "user" : "root");
    }

    /** Starts an agent; port 0 picks a free one (tests). */
    public static Agent start(String host, int port, String initToken) throws Exception {
        Accounts accounts = new Accounts();
        return start(host, port, initToken, accounts, initialSettings(accounts), null);
    }

    /**
     * Starts an agent on settings shared with the interpreter, which reads the sandbox-wide env vars from them, and on
     * Jetty resources shared with the interpreter's server ({@code null}: resources of its own, stopped with it).
     */
    public static Agent start(String host, int port, String initToken, Accounts accounts, Settings settings,
                              ServerResources shared) throws Exception {
        Map<String, AgentHandler.Route> exact = new HashMap<>();
        Map<String, AgentHandler.Route> prefixed = new HashMap<>();
        Users users = new Users(accounts, settings);
        ConnectRouter rpc = new ConnectRouter(users);
        new ProcessService(settings).register(rpc);
        Access access = new Access(accounts);
        new FilesystemService(access).register(rpc);
        prefixed.put("/process.Process/", rpc);
        prefixed.put("/filesystem.Filesystem/", rpc);
        exact.put("/envs", (req, resp, cb) -> Replies.json(resp, cb, 200, settings.envVars()));
        Metrics metrics = new Metrics(Path.of("/"));
        exact.put("/metrics", (req, resp, cb) -> Replies.json(resp, cb, 200, metrics.sample()));
        AgentHandler.Route files = new FilesHandler(settings, users, access,
                Path.of(System.getProperty("java.io.tmpdir"), "boxwood-agent-uploads"));

        ServerResources owned = shared == null ? ServerResources.start() : null;
        Server server = (shared != null ? shared : owned).newServer();
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(false);
        ServerConnector connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setHost(host);
        connector.setPort(port);
        connector.setIdleTimeout(640_000);
        server.addConnector(connector);
        server.setHandler(new AgentHandler(settings, initToken, exact, prefixed, files));
        server.setStopAtShutdown(true);
        server.start();
        return new Agent(server, connector, owned);
    }

    public int port() {
        return connector.getLocalPort();
    }

    @Override
    public void close() throws Exception {
        server.stop();
        if (owned != null) owned.close();
    }
}
