package dev.boxwood.agent.testing;

import dev.boxwood.agent.Agent;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A real agent on a random loopback port, in this JVM (tests run as root, like the agent in a sandbox), initialised
 * like the server does it: an access token, a sandbox env var and the default user {@code user}, created on the host
 * when missing.
 */
public final class TestAgent implements AutoCloseable {
    public static final String INIT_TOKEN = "init-secret";
    public static final String ACCESS_TOKEN = "access-token-123";
    public static final String USER = "user";

    private final Agent agent;
    private final ConnectClient client;

    private TestAgent(Agent agent) {
        this.agent = agent;
        this.client = new ConnectClient("http://127.0.0.1:" + agent.port());
    }

    /** Started but not initialised. */
    public static TestAgent startUninitialised() throws Exception {
        ensureUser();
        return new TestAgent(Agent.start("127.0.0.1", 0, INIT_TOKEN));
    }

    /** Started and initialised with {@link #ACCESS_TOKEN}; the client sends the token. */
    public static TestAgent start() throws Exception {
        TestAgent t = startUninitialised();
        HttpResponse<String> r = t.client.http().send(HttpRequest.newBuilder(URI.create(t.client.base() + "/init"))
                .header("X-Boxwood-Init-Token", INIT_TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString("{\"accessToken\":\"" + ACCESS_TOKEN
                        + "\",\"envVars\":{\"SANDBOX_VAR\":\"from-init\"},\"defaultUser\":\"user\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 204) throw new IllegalStateException("init failed: " + r.statusCode() + " " + r.body());
        t.client.accessToken(ACCESS_TOKEN);
        return t;
    }

    public ConnectClient client() {
        return client;
    }

    public int port() {
        return agent.port();
    }

    public static Path home() {
        return Path.of("/home", USER);
    }

    private static final List<Path> SCRATCH = new java.util.concurrent.CopyOnWriteArrayList<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path dir : SCRATCH) {
                try {
                    new ProcessBuilder("rm", "-rf", dir.toString()).start().waitFor();
                } catch (Exception ignored) {
                    // best effort: the JVM is exiting
                }
            }
        }));
    }

    /** A fresh directory in the test user's home, owned by that user; removed when the test JVM exits. */
    public static Path scratch(String name) throws IOException, InterruptedException {
        Path dir = home().resolve(name + "-" + Long.toHexString(System.nanoTime()));
        run("install", "-d", "-o", USER, "-g", USER, dir.toString());
        SCRATCH.add(dir);
        return dir;
    }

    public static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (p.waitFor() != 0) throw new IllegalStateException("failed: " + List.of(cmd));
    }

    private static synchronized void ensureUser() throws IOException, InterruptedException {
        boolean present = Files.readAllLines(Path.of("/etc/passwd")).stream().anyMatch(l -> l.startsWith(USER + ":"));
        if (!present) {
            // uid 1000 when free (E2B's convention); any uid otherwise
            Process p = new ProcessBuilder("useradd", "-m", "-u", "1000", "-s", "/bin/bash", USER).start();
            if (p.waitFor() != 0) run("useradd", "-m", "-s", "/bin/bash", USER);
        }
        Path home = home();
        if (!Files.isDirectory(home)) run("install", "-d", "-o", USER, "-g", USER, home.toString());
    }

    @Override
    public void close() throws Exception {
        agent.close();
    }
}
