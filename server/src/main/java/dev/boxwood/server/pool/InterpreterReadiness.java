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
 * template has a code interpreter, when the interpreter's default kernels are up ({@code GET /health?kernels=<ms>}
 * answers 200 once they are, 503 while they still start). A sandbox handed out with its kernels still starting makes
 * the first {@code runCode} wait for them, and on a loaded machine those kernel starts (several Python and Node
 * processes at once) take the sandbox's CPU from its agent while it is being initialised.
 */
public final class InterpreterReadiness implements Consumer<RunningSandbox> {
    /** How long one health request may wait inside the agent for the kernels. */
    private static final long WAIT_MS = 5_000;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
            .version(HttpClient.Version.HTTP_1_1).build();
    private final Duration deadline;

    public InterpreterReadiness() {
        this(Duration.ofMinutes(2));
    }

    /** @param deadline how long the kernels may take to come up before the sandbox is rejected */
    public InterpreterReadiness(Duration deadline) {
        this.deadline = deadline;
    }

    @Override
    public void accept(RunningSandbox sandbox) {
        HttpRequest request = HttpRequest.newBuilder(sandbox.uri(Ports.INTERPRETER).resolve("/health?kernels=" + WAIT_MS))
                .timeout(Duration.ofMillis(WAIT_MS).plusSeconds(10)).GET().build();
        long until = System.nanoTime() + deadline.toNanos();
        try {
            while (true) {
                int status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                if (status / 100 == 2) return;
                if (status != 503) throw new IllegalStateException("the sandbox's code interpreter answered " + status);
                if (System.nanoTime() > until) {
                    throw new IllegalStateException("the sandbox's kernels did not start within " + deadline.toSeconds() + " s");
                }
            }
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
