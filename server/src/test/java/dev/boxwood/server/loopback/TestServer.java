package dev.boxwood.server.loopback;

import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/** A real Boxwood server on a free loopback port over a {@link LoopbackRuntime}, with a base template present. */
public final class TestServer implements AutoCloseable {
    public final Path dataDir;
    public final LoopbackRuntime runtime;
    public final BoxwoodServer server;
    public final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    public TestServer(Path dataDir, LoopbackRuntime runtime, Consumer<Config.Builder> tweak) {
        this.dataDir = dataDir;
        this.runtime = runtime;
        try {
            Files.createDirectories(dataDir.resolve("templates/base/rootfs"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Config.Builder config = Config.builder().dataDir(dataDir).port(0).metricsInterval(Duration.ofMillis(500))
                .maximums(4, 4096, 8192);
        tweak.accept(config);
        this.server = new BoxwoodServer(config.build(), runtime).start();
    }

    public TestServer(Path dataDir) {
        this(dataDir, new LoopbackRuntime(), c -> {});
    }

    public String newKey(String team) {
        return server.teams().createKey(server.teams().ensureTeam(team));
    }

    public URI uri(String path) {
        return server.uri().resolve(path);
    }

    /** {@code headers} alternate name, value. A null key sends no X-API-Key. */
    public HttpResponse<String> call(String method, String path, String key, String json, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60));
        if (key != null) b.header("X-API-Key", key);
        if (json != null) b.header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        b.method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
