package dev.boxwood.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import dev.boxwood.server.runtime.CrunRuntime;
import dev.boxwood.server.runtime.ForwardingRuntime;
import dev.boxwood.server.runtime.HostCommand;
import dev.boxwood.server.runtime.OciRuntime;
import dev.boxwood.server.runtime.RunningSandbox;
import dev.boxwood.server.runtime.SandboxSpec;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * A real Boxwood server over real sandboxes (crun, runc or runsc) with the real agent, in directories of its own, for
 * the hostile suite. It remembers every secret it sees (API keys, access and traffic tokens, init tokens) and
 * everything the server printed, so the suite can check that no secret was ever logged.
 */
final class HostileHarness implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path TEMPLATES = Path.of(Config.DEFAULT_DATA_DIR, "templates");

    final Path dataDir;
    final Path runDir;
    final ScopedRuntime runtime;
    final BoxwoodServer server;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    /** Every secret handed out during the suite: none may show up in any log. */
    final Set<String> secrets = ConcurrentHashMap.newKeySet();
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final PrintStream originalErr = System.err;
    private final PrintStream originalOut = System.out;

    static void assumeSandboxesWork(String binary) {
        assumeTrue("root".equals(System.getProperty("user.name")), "sandboxes need root");
        assumeTrue(HostCommand.run(List.of(binary, "--version")).ok(), "sandboxes need " + binary);
        assumeTrue(Files.isDirectory(TEMPLATES.resolve("base/rootfs")), "the base template is not built");
        assumeTrue(Files.isRegularFile(agentJar()), "the agent jar is not built");
    }

    static Path agentJar() {
        Path home = Path.of(System.getProperty("boxwood.home", "..")).toAbsolutePath().normalize();
        return home.resolve("agent/target/boxwood-agent.jar");
    }

    HostileHarness(int pidsLimit, Function<CrunRuntime.Config, OciRuntime> runtimeOf) {
        // Server log lines go to System.err (slf4j-simple); tee them so the suite can search them afterwards.
        System.setErr(new PrintStream(new Tee(originalErr, printed), true, StandardCharsets.UTF_8));
        System.setOut(new PrintStream(new Tee(originalOut, printed), true, StandardCharsets.UTF_8));
        try {
            var open = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x"));
            dataDir = Files.createTempDirectory("boxwood-hostile-", open);
            runDir = Files.createTempDirectory(Path.of("/run"), "boxwood-hostile-", open);
            Files.createDirectories(dataDir.resolve("templates"));
            Files.createSymbolicLink(dataDir.resolve("templates/base"), TEMPLATES.resolve("base"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        runtime = new ScopedRuntime(runtimeOf.apply(new CrunRuntime.Config(dataDir, runDir,
                Path.of(System.getProperty("java.home")), agentJar(), null, pidsLimit, true, Duration.ofSeconds(90))));
        Config config = Config.builder().dataDir(dataDir).port(0).metricsInterval(Duration.ofSeconds(1))
                .defaults(1, 256, 256).maximums(2, 1024, 1024).rateLimit(0, 1).build();
        server = new BoxwoodServer(config, runtime).start();
    }

    String newKey(String team) {
        String key = server.teams().createKey(server.teams().ensureTeam(team));
        secrets.add(key);
        return key;
    }

    /** A sandbox made through the API; its tokens are remembered as secrets. */
    Box create(String key, String body) {
        HttpResponse<String> r = api("POST", "/v2/sandboxes", key, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        try {
            JsonNode json = JSON.readTree(r.body());
            Box box = new Box(json.get("sandboxID").asText(), json.get("envdAccessToken").asText(),
                    json.path("trafficAccessToken").asText(null));
            secrets.add(box.accessToken());
            if (box.trafficToken() != null) secrets.add(box.trafficToken());
            return box;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    record Box(String id, String accessToken, String trafficToken) {}

    HttpResponse<String> api(String method, String path, String key, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri().resolve(path)).timeout(Duration.ofSeconds(120));
        if (key != null) b.header("X-API-Key", key);
        if (body != null) b.header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** What a command run through the agent did: its exit, how many stdout bytes came, the first 64 KiB of them. */
    record Run(int exitCode, String status, long stdoutBytes, String stdout, String stderr) {}

    /**
     * Runs {@code bash -c script} in the sandbox as {@code user} through the server's router and the agent's
     * process stream (what an SDK does), counting stdout rather than keeping it.
     */
    Run run(Box box, String user, String script) {
        String start = "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-c\"," + quote(script) + "]}}";
        byte[] payload = start.getBytes(StandardCharsets.UTF_8);
        byte[] body = ByteBuffer.allocate(5 + payload.length).put((byte) 0).putInt(payload.length).put(payload).array();
        HttpRequest request = HttpRequest.newBuilder(server.uri().resolve("/process.Process/Start"))
                .timeout(Duration.ofMinutes(5))
                .header("E2b-Sandbox-Id", box.id()).header("E2b-Sandbox-Port", "49983")
                .header("X-Access-Token", box.accessToken())
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":").getBytes(StandardCharsets.UTF_8)))
                .header("Connect-Protocol-Version", "1").header("Content-Type", "application/connect+json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try {
            HttpResponse<InputStream> r = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            assertThat(r.statusCode()).as("process start in %s", box.id()).isEqualTo(200);
            long count = 0;
            StringBuilder out = new StringBuilder();
            StringBuilder err = new StringBuilder();
            try (DataInputStream in = new DataInputStream(r.body())) {
                while (true) {
                    int flags;
                    try {
                        flags = in.readUnsignedByte();
                    } catch (EOFException e) {
                        throw new AssertionError("process stream ended without an end event; stdout so far: " + out);
                    }
                    byte[] frame = in.readNBytes(in.readInt());
                    JsonNode json = JSON.readTree(frame);
                    if ((flags & 2) != 0) throw new AssertionError("stream ended with " + json + "; stdout: " + out);
                    JsonNode event = json.path("event");
                    JsonNode data = event.path("data");
                    if (data.has("stdout")) {
                        byte[] bytes = Base64.getDecoder().decode(data.get("stdout").asText());
                        count += bytes.length;
                        if (out.length() < 65536) out.append(new String(bytes, StandardCharsets.UTF_8));
                    }
                    if (data.has("stderr") && err.length() < 65536) {
                        err.append(new String(Base64.getDecoder().decode(data.get("stderr").asText()), StandardCharsets.UTF_8));
                    }
                    JsonNode end = event.path("end");
                    if (!end.isMissingNode()) {
                        return new Run(end.path("exitCode").asInt(0), end.path("status").asText(""), count,
                                out.toString(), err.toString());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    String sh(Box box, String script) {
        return run(box, "root", script).stdout().strip();
    }

    static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The init token the runtime gave the sandbox. */
    String initToken(String id) {
        return runtime.started.get(id).initToken();
    }

    /** Everything the server printed so far, and every agent log on disk. */
    String logs() {
        // Kills answer before their teardown ends; walking a sandbox folder the teardown is removing would fail.
        server.sandboxes().awaitTeardowns(java.time.Duration.ofSeconds(60));
        StringBuilder all = new StringBuilder(printed.toString(StandardCharsets.UTF_8));
        try (Stream<Path> files = Files.walk(dataDir.resolve("sandboxes"))) {
            for (Path p : files.filter(p -> p.toString().endsWith(".log") && Files.isRegularFile(p)).toList()) {
                all.append('\n').append(Files.readString(p, StandardCharsets.ISO_8859_1));
            }
        } catch (IOException | UncheckedIOException e) {
            all.append("\n(cannot read agent logs: ").append(e).append(')');
        }
        return all.toString();
    }

    @Override
    public void close() {
        try {
            server.close();
            for (String id : runtime.mine) runtime.destroy(id);
            deleteTree(dataDir);
            deleteTree(runDir);
        } finally {
            System.setErr(originalErr);
            System.setOut(originalOut);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("could not remove " + root + ": " + e.getMessage());
        }
    }

    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final ByteArrayOutputStream b;

        Tee(OutputStream a, ByteArrayOutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int x) throws IOException {
            a.write(x);
            synchronized (b) {
                b.write(x);
            }
        }

        @Override
        public void write(byte[] buf, int off, int len) throws IOException {
            a.write(buf, off, len);
            synchronized (b) {
                b.write(buf, off, len);
            }
        }
    }

    /** The runtime, blind to sandboxes it did not start (other servers on this host keep theirs). */
    static final class ScopedRuntime extends ForwardingRuntime {
        final OciRuntime oci;
        final Set<String> mine = ConcurrentHashMap.newKeySet();
        final Map<String, RunningSandbox> started = new ConcurrentHashMap<>();

        ScopedRuntime(OciRuntime oci) {
            super(oci);
            this.oci = oci;
        }

        @Override
        public RunningSandbox start(SandboxSpec spec) {
            mine.add(spec.sandboxId());
            RunningSandbox running = oci.start(spec);
            started.put(spec.sandboxId(), running);
            return running;
        }

        @Override
        public List<String> leftovers() {
            return oci.leftovers().stream().filter(mine::contains).toList();
        }
    }
}
