package dev.boxwood.sdk;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Where the control plane and the sandboxes are, and how to authenticate. Values set in code win; unset values come
 * from the environment exactly as E2B's official SDKs read it:
 *
 * <ul>
 *   <li>{@code E2B_API_KEY}: the API key, sent as {@code X-API-Key};</li>
 *   <li>{@code E2B_DOMAIN}: the base domain, default {@code e2b.app};</li>
 *   <li>{@code E2B_API_URL}: the control plane, default {@code https://api.<domain>}
 *       ({@code http://localhost:3000} in debug mode);</li>
 *   <li>{@code E2B_SANDBOX_URL}: one base URL for every sandbox and port (Boxwood's single-port mode);</li>
 *   <li>{@code E2B_DEBUG}: {@code true} talks to an agent on {@code localhost:49983} without a control plane.</li>
 * </ul>
 *
 * <pre>{@code
 * ConnectionConfig config = ConnectionConfig.builder()
 *         .apiUrl("http://127.0.0.1:3000").sandboxUrl("http://127.0.0.1:3000").apiKey(key).build();
 * }</pre>
 */
public final class ConnectionConfig {
    /** The port of the in-sandbox agent (E2B's envd). */
    public static final int ENVD_PORT = 49983;
    /** The port of the in-sandbox code interpreter. */
    public static final int CODE_INTERPRETER_PORT = 49999;
    /** The default time a single HTTP request may take before it fails with {@link TimeoutException}. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);

    // E2B's own clouds serve every sandbox's agent behind one stable host.
    private static final Set<String> SHARED_HOST_DOMAINS = Set.of("e2b.app", "e2b.dev", "e2b.pro", "e2b-staging.dev");
    private static final String DEFAULT_DOMAIN = "e2b.app";

    private final String apiKey;
    private final String domain;
    private final String apiUrl;
    private final String sandboxUrl;
    private final boolean debug;
    private final Duration requestTimeout;
    private final Map<String, String> headers;
    private final int retries;

    private ConnectionConfig(Builder b) {
        Map<String, String> env = b.environment;
        this.debug = b.debug != null ? b.debug : "true".equalsIgnoreCase(env.getOrDefault("E2B_DEBUG", ""));
        this.apiKey = firstNonBlank(b.apiKey, env.get("E2B_API_KEY"));
        this.domain = Objects.requireNonNullElse(firstNonBlank(b.domain, env.get("E2B_DOMAIN")), DEFAULT_DOMAIN);
        String api = firstNonBlank(b.apiUrl, env.get("E2B_API_URL"));
        this.apiUrl = stripSlash(api != null ? api : debug ? "http://localhost:3000" : "https://api." + domain);
        String sandbox = firstNonBlank(b.sandboxUrl, env.get("E2B_SANDBOX_URL"));
        this.sandboxUrl = sandbox == null ? null : stripSlash(sandbox);
        this.requestTimeout = b.requestTimeout != null ? b.requestTimeout : DEFAULT_REQUEST_TIMEOUT;
        this.headers = Map.copyOf(b.headers);
        this.retries = b.retries;
    }

    /** A configuration read entirely from the environment. */
    public static ConnectionConfig fromEnvironment() {
        return builder().build();
    }

    /** A builder whose unset values fall back to the process environment. */
    public static Builder builder() {
        return new Builder(System.getenv());
    }

    /** A builder whose unset values fall back to {@code environment} instead of the process environment. */
    public static Builder builder(Map<String, String> environment) {
        return new Builder(environment);
    }

    /** A builder starting from this configuration's values. */
    public Builder toBuilder() {
        Builder b = new Builder(Map.of());
        b.apiKey = apiKey;
        b.domain = domain;
        b.apiUrl = apiUrl;
        b.sandboxUrl = sandboxUrl;
        b.debug = debug;
        b.requestTimeout = requestTimeout;
        b.headers.putAll(headers);
        b.retries = retries;
        return b;
    }

    /** The API key, or null when none is configured. */
    public String apiKey() {
        return apiKey;
    }

    public String domain() {
        return domain;
    }

    /** The control plane's base URL, without a trailing slash. */
    public String apiUrl() {
        return apiUrl;
    }

    /** The {@code E2B_SANDBOX_URL} override, or null. */
    public String sandboxUrl() {
        return sandboxUrl;
    }

    public boolean debug() {
        return debug;
    }

    /** How long one HTTP request may take; {@link Duration#ZERO} means no limit. */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    /** Extra headers sent to the control plane only (never to sandboxes). */
    public Map<String, String> headers() {
        return headers;
    }

    /** How often a 429 answer carrying {@code Retry-After} is retried. */
    public int retries() {
        return retries;
    }

    /**
     * The base URL of a sandbox's agent: {@code E2B_SANDBOX_URL} if set, {@code http://localhost:49983} in debug
     * mode, the shared {@code https://sandbox.<domain>} on E2B's clouds, else {@code https://49983-<id>.<domain>}.
     *
     * @param sandboxDomain the domain the control plane returned for this sandbox, or null to use {@link #domain()}
     */
    public String envdUrl(String sandboxId, String sandboxDomain) {
        if (sandboxUrl != null) {
            return sandboxUrl;
        }
        if (debug) {
            return "http://localhost:" + ENVD_PORT;
        }
        String d = sandboxDomain != null ? sandboxDomain : domain;
        if (SHARED_HOST_DOMAINS.contains(d)) {
            return "https://sandbox." + d;
        }
        return "https://" + ENVD_PORT + "-" + sandboxId + "." + d;
    }

    /**
     * The base URL of a port inside a sandbox (used for the code interpreter and signed file URLs): never the
     * shared host, so {@code E2B_SANDBOX_URL}, {@code http://localhost:<port>} in debug mode, or
     * {@code https://<port>-<id>.<domain>}.
     */
    public String directUrl(String sandboxId, int port, String sandboxDomain) {
        if (sandboxUrl != null) {
            return sandboxUrl;
        }
        if (debug) {
            return "http://localhost:" + port;
        }
        return "https://" + host(sandboxId, port, sandboxDomain);
    }

    /**
     * The host name (no scheme) at which a port of a sandbox is reachable: {@code <port>-<id>.<domain>}, or
     * {@code localhost:<port>} in debug mode. Like the official SDKs it ignores {@code E2B_SANDBOX_URL}.
     */
    public String host(String sandboxId, int port, String sandboxDomain) {
        if (debug) {
            return "localhost:" + port;
        }
        return port + "-" + sandboxId + "." + (sandboxDomain != null ? sandboxDomain : domain);
    }

    private static String firstNonBlank(String a, String b) {
        if (a != null && !a.isBlank()) {
            return a;
        }
        return b != null && !b.isBlank() ? b : null;
    }

    private static String stripSlash(String url) {
        String u = url.trim();
        while (u.endsWith("/")) {
            u = u.substring(0, u.length() - 1);
        }
        return u;
    }

    @Override
    public String toString() {
        // The key stays out of logs and exception messages.
        return "ConnectionConfig[apiUrl=" + apiUrl + ", sandboxUrl=" + sandboxUrl + ", domain=" + domain
                + ", debug=" + debug + ", apiKey=" + (apiKey == null ? "none" : "set") + "]";
    }

    /** Builds a {@link ConnectionConfig}; every setter is optional. */
    public static final class Builder {
        private final Map<String, String> environment;
        private String apiKey;
        private String domain;
        private String apiUrl;
        private String sandboxUrl;
        private Boolean debug;
        private Duration requestTimeout;
        private final Map<String, String> headers = new LinkedHashMap<>();
        private int retries = 3;

        private Builder(Map<String, String> environment) {
            this.environment = Map.copyOf(environment);
        }

        public Builder apiKey(String apiKey) {
            this.apiKey = apiKey;
            return this;
        }

        public Builder domain(String domain) {
            this.domain = domain;
            return this;
        }

        public Builder apiUrl(String apiUrl) {
            this.apiUrl = apiUrl;
            return this;
        }

        public Builder sandboxUrl(String sandboxUrl) {
            this.sandboxUrl = sandboxUrl;
            return this;
        }

        public Builder debug(boolean debug) {
            this.debug = debug;
            return this;
        }

        /** Per-request timeout; {@link Duration#ZERO} disables it. */
        public Builder requestTimeout(Duration requestTimeout) {
            if (requestTimeout.isNegative()) {
                throw new IllegalArgumentException("requestTimeout must not be negative");
            }
            this.requestTimeout = requestTimeout;
            return this;
        }

        /** Adds a header sent to the control plane (not to sandboxes). */
        public Builder header(String name, String value) {
            headers.put(name.toLowerCase(Locale.ROOT), value);
            return this;
        }

        /** How often to retry a 429 answer that carries {@code Retry-After}; default 3. */
        public Builder retries(int retries) {
            if (retries < 0) {
                throw new IllegalArgumentException("retries must not be negative");
            }
            this.retries = retries;
            return this;
        }

        public ConnectionConfig build() {
            return new ConnectionConfig(this);
        }
    }
}
