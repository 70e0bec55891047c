package dev.boxwood.sdk.transport;

import dev.boxwood.sdk.ConnectionConfig;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/**
 * How to reach one sandbox's agent: its base URL, the headers every request carries (routing headers, access token)
 * and the agent version, which gates features exactly as the official SDKs gate them.
 *
 * @param sandboxId    the sandbox's ID, sent as {@code E2b-Sandbox-Id}
 * @param baseUrl      the agent's base URL, without a trailing slash
 * @param accessToken  the agent's access token, or null (debug mode, insecure sandboxes)
 * @param envdVersion  the agent version reported by the control plane
 * @param requestTimeout the per-request timeout ({@link Duration#ZERO} = none)
 */
public record SandboxEndpoint(String sandboxId, String baseUrl, String accessToken, String envdVersion,
                              Duration requestTimeout) {
    /** Agents before this version assume user {@code user} and need it spelled out. */
    public static final String VERSION_DEFAULT_USER = "0.4.0";
    /** Agents from this version take raw {@code application/octet-stream} uploads. */
    public static final String VERSION_OCTET_STREAM_UPLOAD = "0.5.7";
    /** Agents from this version close a process's stdin on request. */
    public static final String VERSION_CLOSE_STDIN = "0.5.2";
    /** Agents from this version store file metadata. */
    public static final String VERSION_FILE_METADATA = "0.6.2";
    /** Agents from this version attach entry info to watch events. */
    public static final String VERSION_WATCH_ENTRY = "0.6.3";
    /** Agents from this version watch recursively. */
    public static final String VERSION_RECURSIVE_WATCH = "0.1.4";

    public static SandboxEndpoint of(ConnectionConfig config, String sandboxId, String domain, String accessToken,
                                     String envdVersion) {
        return new SandboxEndpoint(sandboxId, config.envdUrl(sandboxId, domain), accessToken, envdVersion,
                config.requestTimeout());
    }

    /** A request to {@code path} (which may carry a query) with the routing headers and the access token. */
    public HttpRequest.Builder request(String pathAndQuery) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + pathAndQuery))
                .header("User-Agent", Http.USER_AGENT)
                .header("E2b-Sandbox-Id", sandboxId)
                .header("E2b-Sandbox-Port", Integer.toString(ConnectionConfig.ENVD_PORT));
        if (accessToken != null) {
            b.header("X-Access-Token", accessToken);
        }
        return Http.timeout(b, requestTimeout);
    }

    /**
     * True while the agent answers {@code GET /health}; a proxy's 502 (the sandbox is gone) reads as false, and
     * so does an agent that cannot be reached at all.
     */
    public boolean isRunning() {
        HttpResponse<byte[]> response;
        try {
            response = Http.send(request("/health").GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (dev.boxwood.sdk.TimeoutException e) {
            throw e;
        } catch (dev.boxwood.sdk.SandboxException e) {
            return false;
        }
        int status = response.statusCode();
        if (status == 502) {
            return false;
        }
        if (status >= 200 && status < 300) {
            return true;
        }
        throw Errors.fromHttp(status, response.body(), true);
    }

    public boolean supports(String minimumVersion) {
        return Versions.atLeast(envdVersion, minimumVersion);
    }

    /** The user to name on the wire: the caller's, or {@code user} for agents that need it spelled out. */
    public String effectiveUser(String user) {
        if (user != null) {
            return user;
        }
        return supports(VERSION_DEFAULT_USER) ? null : "user";
    }

    /** {@code Authorization: Basic base64("<user>:")}, how the agent learns which user runs an RPC. */
    public static String basicAuth(String user) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":").getBytes(StandardCharsets.UTF_8));
    }
}
