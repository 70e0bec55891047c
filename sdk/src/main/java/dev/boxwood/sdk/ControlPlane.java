package dev.boxwood.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.sdk.transport.Errors;
import dev.boxwood.sdk.transport.Http;
import dev.boxwood.sdk.transport.Json;
import dev.boxwood.sdk.transport.UrlEncoding;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.stream.Collectors;

/** The control-plane REST API (E2B's {@code /sandboxes} endpoints), with 429 retries and error mapping. */
final class ControlPlane {
    record Page(List<SandboxInfo> items, String nextToken) {}

    private final ConnectionConfig config;

    ControlPlane(ConnectionConfig config) {
        this.config = config;
    }

    JsonNode create(ObjectNode body, boolean v1) {
        return json(send("POST", v1 ? "/sandboxes" : "/v2/sandboxes", body, false));
    }

    JsonNode connect(String sandboxId, Duration timeout) {
        ObjectNode body = Json.object();
        if (timeout != null) {
            body.put("timeout", seconds(timeout));
        }
        return json(send("POST", "/v2/sandboxes/" + id(sandboxId) + "/connect", body, true));
    }

    Page list(SandboxQuery query, String nextToken) {
        StringJoiner q = new StringJoiner("&");
        if (!query.metadata().isEmpty()) {
            q.add("metadata=" + UrlEncoding.metadataQueryValue(query.metadata()));
        }
        if (!query.states().isEmpty()) {
            // Form style, not exploded: state=running,paused (the comma stays escaped as a query serializer does).
            q.add("state=" + UrlEncoding.encodeUriComponent(query.states().stream().sorted()
                    .map(SandboxState::wireName).collect(Collectors.joining(","))));
        }
        if (query.template() != null) {
            q.add("template=" + UrlEncoding.encodeUriComponent(query.template()));
        }
        if (query.startedAfter() != null) {
            q.add("startedAfter=" + UrlEncoding.encodeUriComponent(query.startedAfter().toString()));
        }
        if (query.ascending() != null) {
            q.add("order=" + (query.ascending() ? "asc" : "desc"));
        }
        if (query.limit() != null) {
            q.add("limit=" + query.limit());
        }
        if (nextToken != null) {
            q.add("nextToken=" + UrlEncoding.encodeUriComponent(nextToken));
        }
        String path = "/v2/sandboxes" + (q.length() == 0 ? "" : "?" + q);
        HttpResponse<byte[]> response = send("GET", path, null, false);
        List<SandboxInfo> items = new ArrayList<>();
        for (JsonNode n : json(response)) {
            items.add(SandboxInfo.fromJson(n));
        }
        return new Page(items, response.headers().firstValue("x-next-token").orElse(null));
    }

    /** Kills a sandbox; false when it did not exist. */
    boolean kill(String sandboxId) {
        try {
            send("DELETE", "/sandboxes/" + id(sandboxId), null, true);
            return true;
        } catch (NotFoundException e) {
            return false;
        }
    }

    void setTimeout(String sandboxId, Duration timeout) {
        ObjectNode body = Json.object().put("timeout", seconds(timeout));
        send("POST", "/sandboxes/" + id(sandboxId) + "/timeout", body, true);
    }

    SandboxInfo getInfo(String sandboxId) {
        return SandboxInfo.fromJson(json(send("GET", "/sandboxes/" + id(sandboxId), null, true)));
    }

    List<SandboxMetric> getMetrics(String sandboxId, Instant start, Instant end) {
        StringJoiner q = new StringJoiner("&", "?", "").setEmptyValue("");
        if (start != null) {
            q.add("start=" + start.getEpochSecond());
        }
        if (end != null) {
            q.add("end=" + end.getEpochSecond());
        }
        List<SandboxMetric> out = new ArrayList<>();
        for (JsonNode n : json(send("GET", "/sandboxes/" + id(sandboxId) + "/metrics" + q, null, true))) {
            out.add(SandboxMetric.fromJson(n));
        }
        return out;
    }

    /** Pauses a sandbox; false when it was already paused. */
    boolean pause(String sandboxId) {
        try {
            send("POST", "/sandboxes/" + id(sandboxId) + "/pause", Json.object(), true);
            return true;
        } catch (SandboxException e) {
            if (e.status() == 409) {
                return false;
            }
            throw e;
        }
    }

    private HttpResponse<byte[]> send(String method, String path, JsonNode body, boolean sandboxScoped) {
        if (config.apiKey() == null) {
            throw new AuthenticationException("no API key: set E2B_API_KEY or ConnectionConfig.builder().apiKey(...)");
        }
        HttpRequest.Builder b = Http.timeout(HttpRequest.newBuilder(URI.create(config.apiUrl() + path)),
                        config.requestTimeout())
                .header("X-API-Key", config.apiKey())
                .header("User-Agent", Http.USER_AGENT)
                .header("lang", "java")
                .header("lang_version", System.getProperty("java.version"))
                .header("package_version", "0.1.0")
                .header("publisher", "boxwood")
                .header("sdk_runtime", "jvm")
                .header("system", System.getProperty("os.name"));
        for (Map.Entry<String, String> h : config.headers().entrySet()) {
            b.header(h.getKey(), h.getValue());
        }
        if (body != null) {
            b.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body)));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpRequest request = b.build();
        for (int attempt = 0; ; attempt++) {
            HttpResponse<byte[]> response = Http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            int status = response.statusCode();
            if (status >= 200 && status < 300) {
                return response;
            }
            Long retryAfter = status == 429 ? retryAfterSeconds(response) : null;
            if (retryAfter != null && attempt < config.retries()) {
                sleep(Duration.ofSeconds(retryAfter));
                continue;
            }
            throw Errors.fromHttp(status, response.body(), sandboxScoped);
        }
    }

    private static Long retryAfterSeconds(HttpResponse<?> response) {
        try {
            return response.headers().firstValue("retry-after").map(String::strip).map(Long::parseLong)
                    .filter(s -> s >= 0).orElse(null);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException("interrupted while waiting to retry", e);
        }
    }

    private static JsonNode json(HttpResponse<byte[]> response) {
        return Json.parse(response.body());
    }

    /** Timeouts go out as whole seconds, rounded up, as the official SDKs send them. */
    static long seconds(Duration d) {
        long s = d.getSeconds();
        return d.getNano() > 0 ? s + 1 : s;
    }

    private static String id(String sandboxId) {
        if (sandboxId == null || sandboxId.isEmpty()) {
            throw new IllegalArgumentException("sandbox ID is empty");
        }
        return UrlEncoding.encodeUriComponent(sandboxId);
    }
}
