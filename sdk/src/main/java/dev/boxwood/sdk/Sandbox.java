package dev.boxwood.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.sdk.code.CodeContext;
import dev.boxwood.sdk.code.CodeInterpreter;
import dev.boxwood.sdk.code.Execution;
import dev.boxwood.sdk.code.RunCodeOptions;
import dev.boxwood.sdk.commands.Commands;
import dev.boxwood.sdk.commands.Pty;
import dev.boxwood.sdk.files.Filesystem;
import dev.boxwood.sdk.transport.Json;
import dev.boxwood.sdk.transport.SandboxEndpoint;
import dev.boxwood.sdk.transport.Versions;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An isolated, disposable sandbox running on Boxwood (or E2B): run commands and code in it, read and write its
 * files. Closing it kills it, so try-with-resources cleans up:
 *
 * <pre>{@code
 * try (Sandbox sandbox = Sandbox.create()) {
 *     CommandResult r = sandbox.commands().run("echo hello");
 *     sandbox.files().write("/home/user/data.csv", "a,b\n1,2\n");
 *     Execution e = sandbox.runCode("1 + 1");   // needs the code-interpreter template
 * }
 * }</pre>
 *
 * <p>Connection settings come from the environment ({@code E2B_API_KEY}, {@code E2B_API_URL},
 * {@code E2B_SANDBOX_URL}, {@code E2B_DOMAIN}, {@code E2B_DEBUG}) unless a {@link ConnectionConfig} is given.
 * Every method may throw a {@link SandboxException} subclass carrying the server's message.
 */
public final class Sandbox implements AutoCloseable {
    /** The template used when none is named. */
    public static final String DEFAULT_TEMPLATE = "base";
    /** How long a sandbox lives unless told otherwise. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(300);
    /** The sandbox ID debug mode uses, as the official SDKs do. */
    public static final String DEBUG_SANDBOX_ID = "debug_sandbox_id";
    private static final String DEBUG_ENVD_VERSION = "99.99.99";
    private static final String MINIMUM_ENVD_VERSION = "0.1.0";

    private final ConnectionConfig config;
    private final ControlPlane api;
    private final String sandboxId;
    private final String templateId;
    private final String domain;
    private final String envdVersion;
    private final String trafficAccessToken;
    private final SandboxEndpoint endpoint;
    private final Filesystem files;
    private final Commands commands;
    private final Pty pty;
    private final CodeInterpreter interpreter;

    private Sandbox(ConnectionConfig config, String sandboxId, String templateId, String domain, String envdVersion,
                    String accessToken, String trafficAccessToken) {
        this.config = config;
        this.api = new ControlPlane(config);
        this.sandboxId = sandboxId;
        this.templateId = templateId;
        this.domain = domain;
        this.envdVersion = envdVersion;
        this.trafficAccessToken = trafficAccessToken;
        this.endpoint = SandboxEndpoint.of(config, sandboxId, domain, accessToken, envdVersion);
        this.files = new Filesystem(endpoint);
        this.commands = new Commands(endpoint);
        this.pty = new Pty(commands);
        this.interpreter = new CodeInterpreter(config.directUrl(sandboxId, ConnectionConfig.CODE_INTERPRETER_PORT,
                domain), sandboxId, accessToken, trafficAccessToken, config.requestTimeout(), endpoint::isRunning);
    }

    private static Sandbox fromJson(ConnectionConfig config, JsonNode n) {
        return new Sandbox(config, Json.text(n, "sandboxID"), Json.text(n, "templateID"), Json.text(n, "domain"),
                Json.text(n, "envdVersion"), Json.text(n, "envdAccessToken"), Json.text(n, "trafficAccessToken"));
    }

    // ---- creating and finding sandboxes ----

    /** Creates a sandbox from the {@code base} template with the default timeout (5 minutes). */
    public static Sandbox create() {
        return builder().create();
    }

    /** Creates a sandbox from a template (ID or alias) with the default timeout. */
    public static Sandbox create(String template) {
        return builder().template(template).create();
    }

    /** Starts describing a sandbox to create. */
    public static Builder builder() {
        return new Builder();
    }

    /** Connects to a running sandbox by ID (resuming it if paused), configured from the environment. */
    public static Sandbox connect(String sandboxId) {
        return connect(sandboxId, null, ConnectionConfig.fromEnvironment());
    }

    /**
     * Connects to a sandbox by ID (resuming it if paused).
     *
     * @param timeout how long it should live from now, or null to keep the server's default
     * @throws SandboxNotFoundException when it does not exist
     */
    public static Sandbox connect(String sandboxId, Duration timeout, ConnectionConfig config) {
        if (config.debug()) {
            return new Sandbox(config, sandboxId, null, null, DEBUG_ENVD_VERSION, null, null);
        }
        return fromJson(config, new ControlPlane(config).connect(sandboxId, timeout));
    }

    /** Lists the team's sandboxes, configured from the environment. */
    public static SandboxPaginator list() {
        return list(SandboxQuery.all());
    }

    /** Lists the team's sandboxes matching {@code query}, configured from the environment. */
    public static SandboxPaginator list(SandboxQuery query) {
        return list(query, ConnectionConfig.fromEnvironment());
    }

    /** Lists the team's sandboxes matching {@code query}. */
    public static SandboxPaginator list(SandboxQuery query, ConnectionConfig config) {
        return new SandboxPaginator(new ControlPlane(config), query);
    }

    /** Kills a sandbox by ID, configured from the environment; false when it did not exist. */
    public static boolean kill(String sandboxId) {
        return kill(sandboxId, ConnectionConfig.fromEnvironment());
    }

    /** Kills a sandbox by ID; false when it did not exist. */
    public static boolean kill(String sandboxId, ConnectionConfig config) {
        return config.debug() || new ControlPlane(config).kill(sandboxId);
    }

    /** Sets how long a sandbox lives from now. */
    public static void setTimeout(String sandboxId, Duration timeout, ConnectionConfig config) {
        if (!config.debug()) {
            new ControlPlane(config).setTimeout(sandboxId, timeout);
        }
    }

    /** What the control plane knows about a sandbox. */
    public static SandboxInfo getInfo(String sandboxId, ConnectionConfig config) {
        return new ControlPlane(config).getInfo(sandboxId);
    }

    // ---- this sandbox ----

    public String sandboxId() {
        return sandboxId;
    }

    /** The template it was created from (null in debug mode). */
    public String templateId() {
        return templateId;
    }

    /** The version of its agent. */
    public String envdVersion() {
        return envdVersion;
    }

    /**
     * The token that requests to its ports must carry as {@code E2B-Traffic-Access-Token} when it was created with
     * {@code allowPublicTraffic=false}; null otherwise. The SDK sends it itself for the code interpreter.
     */
    public String trafficAccessToken() {
        return trafficAccessToken;
    }

    public ConnectionConfig config() {
        return config;
    }

    /** Its filesystem. */
    public Filesystem files() {
        return files;
    }

    /** Its commands. */
    public Commands commands() {
        return commands;
    }

    /** Its interactive terminals. */
    public Pty pty() {
        return pty;
    }

    /** Kills it; false when it was already gone. */
    public boolean kill() {
        return config.debug() || api.kill(sandboxId);
    }

    /** Kills it (try-with-resources). A sandbox that is already gone is fine. */
    @Override
    public void close() {
        kill();
    }

    /** Sets how long it lives from now (it is killed when the time runs out). */
    public void setTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (!config.debug()) {
            api.setTimeout(sandboxId, timeout);
        }
    }

    /** What the control plane knows about it. */
    public SandboxInfo getInfo() {
        return api.getInfo(sandboxId);
    }

    /** Its resource-usage samples. */
    public List<SandboxMetric> getMetrics() {
        return getMetrics(null, null);
    }

    /** Its resource-usage samples between two instants (either may be null). */
    public List<SandboxMetric> getMetrics(Instant start, Instant end) {
        return config.debug() ? List.of() : api.getMetrics(sandboxId, start, end);
    }

    /** Pauses it (where the server supports pausing); false when it was already paused. */
    public boolean pause() {
        return api.pause(sandboxId);
    }

    /** Resumes it if paused (or extends its life if running) and returns a fresh handle. */
    public Sandbox resume(Duration timeout) {
        return connect(sandboxId, timeout, config);
    }

    /**
     * True while its agent answers. A sandbox that was killed or timed out answers 502 through the proxy, which
     * reads as false.
     */
    public boolean isRunning() {
        return endpoint.isRunning();
    }

    /**
     * The host name at which one of its ports is reachable, {@code <port>-<id>.<domain>} (or
     * {@code localhost:<port>} in debug mode).
     */
    public String getHost(int port) {
        return config.host(sandboxId, port, domain);
    }

    /** A URL that downloads a file without credentials; see {@link Filesystem#downloadUrl(String)}. */
    public String downloadUrl(String path) {
        return files.downloadUrl(path);
    }

    /** A URL that uploads a file without credentials; see {@link Filesystem#uploadUrl(String)}. */
    public String uploadUrl(String path) {
        return files.uploadUrl(path);
    }

    // ---- code interpreter ----

    /** Runs Python code in the default context (needs a code-interpreter template). */
    public Execution runCode(String code) {
        return runCode(code, RunCodeOptions.defaults());
    }

    /**
     * Runs code with callbacks, language or context, envs and timeout. Errors raised by the code are returned in
     * {@link Execution#error()}, not thrown.
     */
    public Execution runCode(String code, RunCodeOptions options) {
        return interpreter.runCode(code, options);
    }

    /** Creates a Python context in the home directory. */
    public CodeContext createCodeContext() {
        return interpreter.createContext(null, null);
    }

    /** Creates a context for {@code language} with working directory {@code cwd} (either may be null). */
    public CodeContext createCodeContext(String language, String cwd) {
        return interpreter.createContext(language, cwd);
    }

    /** Every code context, oldest first. */
    public List<CodeContext> listCodeContexts() {
        return interpreter.listContexts();
    }

    /** Removes a code context. */
    public void removeCodeContext(CodeContext context) {
        interpreter.removeContext(context.id());
    }

    /** Restarts a code context's kernel, dropping its state. */
    public void restartCodeContext(CodeContext context) {
        interpreter.restartContext(context.id());
    }

    @Override
    public String toString() {
        return "Sandbox[" + sandboxId + ", template=" + templateId + "]";
    }

    /**
     * Describes a sandbox to create.
     *
     * <pre>{@code
     * Sandbox sandbox = Sandbox.builder()
     *         .template("code-interpreter")
     *         .timeout(Duration.ofMinutes(10))
     *         .env("MODE", "test")
     *         .metadata("owner", "alice")
     *         .create();
     * }</pre>
     */
    public static final class Builder {
        private String template = DEFAULT_TEMPLATE;
        private Duration timeout = DEFAULT_TIMEOUT;
        private final Map<String, String> envs = new LinkedHashMap<>();
        private final Map<String, String> metadata = new LinkedHashMap<>();
        private boolean secure = true;
        private Boolean allowInternetAccess;
        private Integer cpuCount;
        private Integer memoryMB;
        private Integer diskSizeMB;
        private NetworkConfig network;
        private Boolean autoPause;
        private ConnectionConfig config;

        private Builder() {}

        /** The template ID or alias; default {@code base}. */
        public Builder template(String template) {
            this.template = Objects.requireNonNull(template, "template");
            return this;
        }

        /** How long the sandbox lives before it is killed; default 5 minutes. */
        public Builder timeout(Duration timeout) {
            this.timeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** An environment variable every process in the sandbox sees. */
        public Builder env(String name, String value) {
            envs.put(name, value);
            return this;
        }

        public Builder envs(Map<String, String> envs) {
            this.envs.putAll(envs);
            return this;
        }

        /** A metadata pair, returned by {@link Sandbox#getInfo()} and usable as a {@link SandboxQuery} filter. */
        public Builder metadata(String key, String value) {
            metadata.put(key, value);
            return this;
        }

        public Builder metadata(Map<String, String> metadata) {
            this.metadata.putAll(metadata);
            return this;
        }

        /**
         * Whether the sandbox's agent requires an access token (default true). An insecure sandbox is created
         * through the v1 endpoint, the only one that has the switch.
         */
        public Builder secure(boolean secure) {
            this.secure = secure;
            return this;
        }

        /** Whether the sandbox may reach the internet; default: the server's policy. */
        public Builder allowInternetAccess(boolean allow) {
            this.allowInternetAccess = allow;
            return this;
        }

        /** CPU and memory limits (Boxwood extension; the server caps them at its maximum). */
        public Builder resources(int cpuCount, int memoryMB) {
            if (cpuCount < 1 || memoryMB < 1) {
                throw new IllegalArgumentException("cpuCount and memoryMB must be positive");
            }
            this.cpuCount = cpuCount;
            this.memoryMB = memoryMB;
            return this;
        }

        /** Disk size in MiB (Boxwood extension; the server caps it at its maximum). */
        public Builder diskSizeMB(int diskSizeMB) {
            if (diskSizeMB < 1) {
                throw new IllegalArgumentException("diskSizeMB must be positive");
            }
            this.diskSizeMB = diskSizeMB;
            return this;
        }

        /** Network rules. */
        public Builder network(NetworkConfig network) {
            this.network = network;
            return this;
        }

        /** Pause instead of kill when the timeout passes (where the server supports pausing). */
        public Builder autoPause(boolean autoPause) {
            this.autoPause = autoPause;
            return this;
        }

        /** Where and how to connect; default {@link ConnectionConfig#fromEnvironment()}. */
        public Builder config(ConnectionConfig config) {
            this.config = config;
            return this;
        }

        /** The JSON body of the create request. */
        ObjectNode body() {
            ObjectNode body = Json.object().put("templateID", template).put("timeout", ControlPlane.seconds(timeout));
            if (!metadata.isEmpty()) {
                body.set("metadata", Json.fromMap(metadata));
            }
            if (!envs.isEmpty()) {
                body.set("envVars", Json.fromMap(envs));
            }
            if (!secure) {
                body.put("secure", false);
            }
            if (allowInternetAccess != null) {
                body.put("allow_internet_access", allowInternetAccess);
            }
            if (cpuCount != null) {
                body.put("cpuCount", cpuCount).put("memoryMB", memoryMB);
            }
            if (diskSizeMB != null) {
                body.put("diskSizeMB", diskSizeMB);
            }
            if (network != null) {
                body.set("network", network.toJson());
            }
            if (autoPause != null) {
                body.put("autoPause", autoPause);
            }
            return body;
        }

        /** Creates the sandbox; it runs when this returns. */
        public Sandbox create() {
            ConnectionConfig cfg = config != null ? config : ConnectionConfig.fromEnvironment();
            if (cfg.debug()) {
                return new Sandbox(cfg, DEBUG_SANDBOX_ID, template, null, DEBUG_ENVD_VERSION, null, null);
            }
            ControlPlane api = new ControlPlane(cfg);
            Sandbox sandbox = fromJson(cfg, api.create(body(), !secure));
            if (!Versions.atLeast(sandbox.envdVersion(), MINIMUM_ENVD_VERSION)) {
                sandbox.kill();
                throw new TemplateException("template " + template + " has agent version " + sandbox.envdVersion()
                        + ", older than " + MINIMUM_ENVD_VERSION + "; rebuild the template");
            }
            return sandbox;
        }
    }
}
