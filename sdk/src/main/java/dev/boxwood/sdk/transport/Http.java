package dev.boxwood.sdk.transport;

import dev.boxwood.sdk.SandboxException;
import dev.boxwood.sdk.TimeoutException;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/** The SDK's shared HTTP client and the translation of transport failures into SDK exceptions. */
public final class Http {
    /** The SDK's User-Agent, in the official SDKs' {@code <name>/<version>} form. */
    public static final String USER_AGENT = "boxwood-java-sdk/0.1.0";

    // HTTP/1.1 on purpose: the JDK would otherwise try an h2c upgrade on plain http:// URLs, which Boxwood and
    // E2B's agent do not speak; TLS endpoints negotiate nothing else anyway for the Connect streams we use.
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NORMAL)
            .connectTimeout(Duration.ofSeconds(10))
            .build();

    private Http() {}

    public static <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        try {
            return CLIENT.send(request, handler);
        } catch (HttpTimeoutException e) {
            throw new TimeoutException("request to " + request.uri().getPath() + " timed out: " + e.getMessage(),
                    0, "canceled", e);
        } catch (IOException e) {
            throw new SandboxException("request to " + request.uri() + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException("interrupted while waiting for " + request.uri().getPath(), e);
        }
    }

    /** Reads the start of an error body (enough for its message) and closes it. */
    public static byte[] drain(java.io.InputStream in) {
        try (in) {
            return in.readNBytes(64 * 1024);
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /** Applies the request timeout unless it is zero (no limit). */
    public static HttpRequest.Builder timeout(HttpRequest.Builder builder, Duration timeout) {
        if (timeout != null && !timeout.isZero()) {
            builder.timeout(timeout);
        }
        return builder;
    }
}
