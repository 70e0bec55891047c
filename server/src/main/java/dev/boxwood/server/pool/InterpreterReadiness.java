package dev.boxwood.server.pool;

import dev.boxwood.protocol.Ports;
import dev.boxwood.server.runtime.RunningSandbox;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * A pooled sandbox is ready when its agent is healthy (the runtime's {@code start} guarantees that) and, where the
 * template has a code interpreter, when the interpreter answers too. The agent opens the interpreter's port before its
 * own and starts the default kernels at boot, so by the time a pooled sandbox is claimed they have had the pool's
 * whole idle time to come up.
 */
public final class InterpreterReadiness implements Consumer<RunningSandbox> {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
            .version(HttpClient.Version.HTTP_1_1).build();

    @Override
    public void accept(RunningSandbox sandbox) {
        HttpRequest request = HttpRequest.newBuilder(sandbox.uri(Ports.INTERPRETER).resolve("/health"))
                .timeout(Duration.ofSeconds(5)).GET().build();
        try {
            http.send(request, HttpResponse.BodyHandlers.discarding());
        } catch (ConnectException e) {
            // no interpreter in this template: the agent alone is the sandbox
        } catch (IOException e) {
            throw new IllegalStateException("the sandbox's code interpreter did not answer: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
