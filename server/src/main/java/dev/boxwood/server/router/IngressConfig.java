package dev.boxwood.server.router;

import java.nio.file.Path;

/**
 * How the server takes traffic in.
 *
 * @param tls                    listen with HTTPS instead of HTTP
 * @param certFile               PEM certificate chain to serve; null with {@code tls} = generate a wildcard one for
 *                               the domain under {@code <dataDir>/tls/}
 * @param keyFile                PEM private key of {@code certFile}; given together with it or not at all
 * @param maxProxiedPerSandbox   most proxied requests and WebSocket tunnels in flight to one sandbox (429 beyond)
 */
public record IngressConfig(boolean tls, Path certFile, Path keyFile, int maxProxiedPerSandbox) {
    public static final int DEFAULT_MAX_PROXIED_PER_SANDBOX = 512;

    public static IngressConfig defaults() {
        return new IngressConfig(false, null, null, DEFAULT_MAX_PROXIED_PER_SANDBOX);
    }

    public IngressConfig {
        if ((certFile == null) != (keyFile == null)) {
            throw new IllegalArgumentException("a TLS certificate and its key are given together or not at all");
        }
        if ((certFile != null) && !tls) {
            throw new IllegalArgumentException("a TLS certificate was given but TLS is off");
        }
        if (maxProxiedPerSandbox < 1) {
            throw new IllegalArgumentException("the per-sandbox ingress cap must be at least 1");
        }
    }
}
