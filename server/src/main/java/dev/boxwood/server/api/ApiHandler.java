package dev.boxwood.server.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.boxwood.server.Config;
import dev.boxwood.server.auth.RateLimiter;
import dev.boxwood.server.network.EgressJson;
import dev.boxwood.server.network.EgressRules;
import dev.boxwood.server.sandbox.CreateSpec;
import dev.boxwood.server.sandbox.Metric;
import dev.boxwood.server.sandbox.SandboxError;
import dev.boxwood.server.sandbox.SandboxManager;
import dev.boxwood.server.sandbox.Templates;
import dev.boxwood.server.store.SandboxEvent;
import dev.boxwood.server.store.SandboxRow;
import dev.boxwood.server.store.SandboxStore;
import dev.boxwood.server.store.Team;
import dev.boxwood.server.store.TeamStore;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * E2B's control-plane REST API. Runs on virtual threads, so handlers simply block (a create waits for the sandbox
 * to boot). Every error leaves as {@code {"code":N,"message":"..."}}.
 */
public final class ApiHandler extends Handler.Abstract {
    private static final Logger LOG = LoggerFactory.getLogger(ApiHandler.class);
    public static final String CLIENT_ID = "6532622b";
    public static final String ENVD_VERSION = "0.6.13";
    private static final int MAX_BODY = 1024 * 1024;
    private static final Duration V1_DEFAULT_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration V2_DEFAULT_TIMEOUT = Duration.ofSeconds(300);

    private final Config config;
    private final TeamStore teams;
    private final SandboxManager sandboxes;
    private final SandboxStore store;
    private final Templates templates;
    private final dev.boxwood.server.snapshot.Snapshots snapshots;
    private final RateLimiter rateLimiter;

    public ApiHandler(Config config, TeamStore teams, SandboxManager sandboxes, SandboxStore store, Templates templates,
                      dev.boxwood.server.snapshot.Snapshots snapshots) {
        this.config = config;
        this.teams = teams;
        this.sandboxes = sandboxes;
        this.store = store;
        this.templates = templates;
        this.snapshots = snapshots;
        this.rateLimiter = new RateLimiter(config.rateLimit(), config.rateBurst());
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        try {
            route(request, response, callback);
        } catch (ApiException e) {
            HttpJson.error(response, callback, e.status(), e.getMessage());
        } catch (SandboxError e) {
            int status = switch (e.kind()) {
                case BAD_REQUEST -> 400;
                case NOT_FOUND -> 404;
                case CONFLICT -> 409;
                case LIMITED -> 429;
                case UNAVAILABLE -> 503;
                case FAILED -> 500;
            };
            if (status == 500) LOG.error("request {} {} failed: {}", request.getMethod(), path(request), e.getMessage(), e);
            HttpJson.error(response, callback, status, e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("request {} {} failed", request.getMethod(), path(request), e);
            HttpJson.error(response, callback, 500, "internal server error");
        }
        return true;
    }

    private static String path(Request request) {
        return request.getHttpURI().getPath();
    }

    private void route(Request request, Response response, Callback callback) {
        String method = request.getMethod();
        String path = path(request);
        if (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
        String[] seg = path.substring(1).split("/");
        boolean v2 = seg.length > 0 && seg[0].equals("v2");
        String[] s = v2 ? java.util.Arrays.copyOfRange(seg, 1, seg.length) : seg;

        if (path.equals("/health")) {
            expect(method, "GET");
            HttpJson.write(response, callback, 200, Map.of("status", "ok"));
            return;
        }
        if (s.length == 0 || !(s[0].equals("sandboxes") || s[0].equals("templates") || s[0].equals("snapshots"))) {
            throw new ApiException(404, "no such endpoint: " + method + " " + path);
        }
        Team team = rateLimiter.admit(request, response, this::authenticate);

        if (!v2 && SnapshotRoutes.handle(snapshots, sandboxes, method, s, request, response, callback, team, this::sandbox)) {
            return;
        }
        if (s[0].equals("templates") && s.length == 1 && !v2) {
            expect(method, "GET");
            HttpJson.write(response, callback, 200, listTemplates());
            return;
        }
        if (s[0].equals("sandboxes") && s.length == 1) {
            if (method.equals("POST")) {
                Wire.NewSandbox newSandbox = readBody(request, Wire.NewSandbox.class, false);
                CreateSpec spec = createSpec(team, newSandbox, v2);
                SandboxRow row = sandboxes.create(team, spec,
                        egress(() -> EgressJson.create(newSandbox.allowInternetAccess(), newSandbox.network())));
                HttpJson.write(response, callback, 201, sandbox(row));
            } else if (method.equals("GET")) {
                list(request, response, callback, team, v2);
            } else {
                throw new ApiException(405, "method " + method + " not allowed on " + path);
            }
            return;
        }
        if (s[0].equals("sandboxes") && s.length == 2 && !v2 && s[1].equals("metrics")) {
            expect(method, "GET");
            latestMetrics(request, response, callback, team);
            return;
        }
        if (s[0].equals("sandboxes") && s.length == 2 && !v2) {
            String id = s[1];
            switch (method) {
                case "GET" -> HttpJson.write(response, callback, 200, detail(sandboxes.get(team, id).row()));
                case "DELETE" -> {
                    sandboxes.kill(team, id);
                    noContent(response, callback);
                }
                default -> throw new ApiException(405, "method " + method + " not allowed on " + path);
            }
            return;
        }
        if (s[0].equals("sandboxes") && s.length == 3) {
            String id = s[1];
            String action = s[2];
            switch (action) {
                case "connect" -> {
                    expect(method, "POST");
                    Wire.ConnectSandbox body = readBody(request, Wire.ConnectSandbox.class, v2);
                    Duration timeout;
                    if (body == null || body.timeout() == null) {
                        if (!v2) throw ApiException.badRequest("timeout is required");
                        timeout = V2_DEFAULT_TIMEOUT;
                    } else {
                        timeout = Duration.ofSeconds(body.timeout());
                    }
                    SandboxManager.Connected connected = sandboxes.connectOrResume(team, id, timeout);
                    HttpJson.write(response, callback, connected.resumed() ? 201 : 200, sandbox(connected.row()));
                }
                case "logs" -> {
                    expect(method, "GET");
                    logs(request, response, callback, team, id, v2);
                }
                case "timeout" -> {
                    expect(method, "POST");
                    notV2(v2, path);
                    Wire.TimeoutRequest body = readBody(request, Wire.TimeoutRequest.class, false);
                    if (body.timeout() == null) throw ApiException.badRequest("timeout is required");
                    sandboxes.setTimeout(team, id, Duration.ofSeconds(body.timeout()));
                    noContent(response, callback);
                }
                case "refreshes" -> {
                    expect(method, "POST");
                    notV2(v2, path);
                    Wire.RefreshRequest body = readBody(request, Wire.RefreshRequest.class, true);
                    int seconds = body == null || body.duration() == null ? 15 : body.duration();
                    if (seconds < 0 || seconds > 3600) throw ApiException.badRequest("duration must be between 0 and 3600 seconds");
                    if (seconds == 0) sandboxes.get(team, id);
                    else sandboxes.connect(team, id, Duration.ofSeconds(seconds));
                    noContent(response, callback);
                }
                case "metrics" -> {
                    expect(method, "GET");
                    notV2(v2, path);
                    metrics(request, response, callback, team, id);
                }
                case "pause" -> {
                    expect(method, "POST");
                    notV2(v2, path);
                    // {"memory": false} asks for a filesystem-only pause; the freezer keeps memory either way.
                    readBody(request, Wire.PauseRequest.class, true);
                    sandboxes.pause(team, id);
                    noContent(response, callback);
                }
                case "resume" -> {
                    expect(method, "POST");
                    notV2(v2, path);
                    Wire.ResumeRequest body = readBody(request, Wire.ResumeRequest.class, true);
                    Duration timeout = body == null || body.timeout() == null ? V1_DEFAULT_TIMEOUT
                            : Duration.ofSeconds(body.timeout());
                    SandboxRow row = sandboxes.resume(team, id, timeout);
                    if (body != null && body.autoPause() != null) {
                        row = sandboxes.lifecycle(team, id, body.autoPause(), row.autoResume());
                    }
                    HttpJson.write(response, callback, 201, sandbox(row));
                }
                case "network" -> {
                    expect(method, "PUT");
                    notV2(v2, path);
                    JsonNode body = readBody(request, JsonNode.class, true);
                    sandboxes.updateNetwork(team, id, egress(() -> EgressJson.update(body)));
                    noContent(response, callback);
                }
                default -> throw new ApiException(404, "no such endpoint: " + method + " " + path);
            }
            return;
        }
        throw new ApiException(404, "no such endpoint: " + method + " " + path);
    }

    private static void expect(String method, String allowed) {
        if (!method.equals(allowed)) throw new ApiException(405, "method " + method + " not allowed here; use " + allowed);
    }

    private static void notV2(boolean v2, String path) {
        if (v2) throw new ApiException(404, "no such endpoint: " + path);
    }

    private static void noContent(Response response, Callback callback) {
        response.setStatus(HttpStatus.NO_CONTENT_204);
        response.write(true, null, callback);
    }

    private Team authenticate(Request request) {
        String key = request.getHeaders().get("X-API-Key");
        if (key == null || key.isBlank()) {
            throw new ApiException(401, "missing API key: send it in the X-API-Key header");
        }
        return teams.teamForKey(key.trim()).orElseThrow(() -> new ApiException(401, "invalid API key"));
    }

    // ---- bodies -------------------------------------------------------------------------------------------------

    /** Parses the JSON body; an empty body is null when {@code optional}, else a 400. */
    static <T> T readBody(Request request, Class<T> type, boolean optional) {
        byte[] bytes;
        try (InputStream in = Content.Source.asInputStream(request)) {
            bytes = in.readNBytes(MAX_BODY + 1);
        } catch (IOException e) {
            throw ApiException.badRequest("cannot read request body: " + e.getMessage());
        }
        if (bytes.length > MAX_BODY) throw new ApiException(413, "request body larger than " + MAX_BODY + " bytes");
        if (isBlank(bytes)) {
            if (optional) return null;
            throw ApiException.badRequest("request body is required (JSON)");
        }
        try {
            T value = HttpJson.MAPPER.readValue(bytes, type);
            if (value == null && !optional) throw ApiException.badRequest("request body must be a JSON object");
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw ApiException.badRequest("unknown field '" + e.getPropertyName() + "' in request body");
        } catch (MismatchedInputException e) {
            String field = e.getPath().isEmpty() ? null : e.getPath().getLast().getFieldName();
            throw ApiException.badRequest(field == null ? "request body has the wrong shape: " + firstLine(e.getOriginalMessage())
                    : "invalid value for field '" + field + "': " + firstLine(e.getOriginalMessage()));
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("malformed JSON in request body: " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw ApiException.badRequest("cannot read request body: " + e.getMessage());
        }
    }

    private static boolean isBlank(byte[] bytes) {
        for (byte b : bytes) if (!Character.isWhitespace(b)) return false;
        return true;
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private CreateSpec createSpec(Team team, Wire.NewSandbox body, boolean v2) {
        if (v2 && body.secure() != null) throw ApiException.badRequest("unknown field 'secure' in request body");
        if (body.templateID() == null || body.templateID().isBlank()) throw ApiException.badRequest("templateID is required");
        Duration timeout = body.timeout() == null ? (v2 ? V2_DEFAULT_TIMEOUT : V1_DEFAULT_TIMEOUT)
                : Duration.ofSeconds(body.timeout());
        Integer cpu = body.cpuCount();
        Integer mem = body.memoryMB();
        Integer disk = body.diskSizeMB();
        if (body.resources() != null) {
            if (cpu != null || mem != null || disk != null) {
                throw ApiException.badRequest("give resources either in 'resources' or as top-level fields, not both");
            }
            cpu = body.resources().cpuCount();
            mem = body.resources().memoryMB();
            disk = body.resources().diskSizeMB();
        }
        boolean autoPause = Boolean.TRUE.equals(body.autoPause());
        boolean autoResume = body.autoResume() != null && body.autoResume().path("enabled").asBoolean(false);
        if (body.lifecycle() != null && !body.lifecycle().isNull()) {
            // The shape getInfo reports, {onTimeout: "kill"|"pause", autoResume: bool}, accepted on create as well.
            String onTimeout = body.lifecycle().path("onTimeout").asText("kill");
            if (!onTimeout.equals("kill") && !onTimeout.equals("pause")) {
                throw ApiException.badRequest("lifecycle.onTimeout must be 'kill' or 'pause'");
            }
            autoPause |= onTimeout.equals("pause");
            autoResume |= body.lifecycle().path("autoResume").asBoolean(false);
        }
        return new CreateSpec(templates.resolve(snapshots.resolve(team, body.templateID())), timeout, body.envVars(), body.metadata(), cpu, mem, disk,
                body.allowInternetAccess(), autoPause, privateTraffic(body), autoResume);
    }

    /**
     * Options this server cannot honour yet are refused rather than silently ignored: a sandbox that was asked to be
     * offline must not quietly be online. Returns whether public traffic to the sandbox's ports is off.
     */
    private static boolean privateTraffic(Wire.NewSandbox body) {
        if (present(body.mcp())) throw ApiException.badRequest("mcp is not supported by this server");
        if (present(body.iam())) throw ApiException.badRequest("iam is not supported by this server");
        if (present(body.volumeMounts())) throw ApiException.badRequest("volumeMounts are not supported by this server");
        JsonNode network = body.network();
        if (network == null || network.isNull()) return false;
        if (!network.isObject()) throw ApiException.badRequest("network must be an object");
        boolean privateTraffic = false;
        for (var field : network.properties()) {
            String name = field.getKey();
            JsonNode value = field.getValue();
            if (name.equals("allowPublicTraffic")) {
                if (!value.isBoolean() && !value.isNull()) throw ApiException.badRequest("network.allowPublicTraffic must be a boolean");
                privateTraffic = value.isBoolean() && !value.asBoolean();
            } else if (present(value) && !name.equals("allowOut") && !name.equals("denyOut")) {
                throw ApiException.badRequest("network." + name + " is not supported by this server yet");
            }
        }
        return privateTraffic;
    }

    /** Outbound rules from a request; what is wrong with them is the client's 400. */
    private static EgressRules egress(java.util.function.Supplier<EgressRules> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
    }

    /** Set to something other than null, false, or an empty array/object/string. */
    private static boolean present(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) return false;
        if (v.isBoolean()) return v.asBoolean();
        if (v.isTextual()) return !v.asText().isEmpty();
        if (v.isContainerNode()) return !v.isEmpty();
        return true;
    }

    // ---- responses ----------------------------------------------------------------------------------------------

    Wire.Sandbox sandbox(SandboxRow row) {
        return new Wire.Sandbox(row.id(), row.templateId(), null, CLIENT_ID, ENVD_VERSION, row.accessToken(),
                row.trafficToken(), config.advertisedDomain());
    }

    private static Wire.ListedSandbox listed(SandboxRow row) {
        return new Wire.ListedSandbox(row.id(), row.templateId(), null, CLIENT_ID, row.startedAt().toString(),
                row.endAt().toString(), row.cpuCount(), row.memoryMB(), row.diskSizeMB(), state(row), ENVD_VERSION,
                row.metadata());
    }

    private static String state(SandboxRow row) {
        return row.status() == SandboxRow.Status.PAUSED ? "paused" : "running";
    }

    private Wire.SandboxDetail detail(SandboxRow row) {
        // the rules as last set (create or PUT .../network), not only as created
        java.util.Optional<EgressRules> egress = store.egress(row.id());
        return new Wire.SandboxDetail(row.id(), row.templateId(), null, CLIENT_ID, row.startedAt().toString(),
                row.endAt().toString(), row.cpuCount(), row.memoryMB(), row.diskSizeMB(), state(row), ENVD_VERSION,
                row.metadata(), row.accessToken(), config.advertisedDomain(), egress.map(r -> (Boolean) r.internet())
                        .orElse(row.allowInternetAccess()),
                new Wire.Lifecycle(row.autoPause() ? "pause" : "kill", row.autoResume()),
                new Wire.NetworkInfo(egress.map(EgressRules::allowOut).orElse(List.of()),
                        egress.map(EgressRules::denyOut).orElse(List.of()), row.trafficToken() == null));
    }

    private void list(Request request, Response response, Callback callback, Team team, boolean v2) {
        ListQuery query = ListQuery.parse(Request.extractQueryParameters(request), v2);
        ListQuery.Page page = query.apply(sandboxes.list(team));
        if (page.nextToken() != null) response.getHeaders().put("X-Next-Token", page.nextToken());
        response.getHeaders().put("X-Total-Running", page.totalMatching());
        HttpJson.write(response, callback, 200, page.items().stream().map(ApiHandler::listed).toList());
    }

    private void metrics(Request request, Response response, Callback callback, Team team, String id) {
        Fields q = Request.extractQueryParameters(request);
        Instant from = epochSeconds(q.getValue("start"), "start");
        Instant to = epochSeconds(q.getValue("end"), "end");
        List<Wire.SandboxMetric> out = sandboxes.metrics(team, id, from, to).stream().map(ApiHandler::metric).toList();
        HttpJson.write(response, callback, 200, out);
    }

    /** {@code GET /sandboxes/metrics?sandbox_ids=a,b}: the latest sample of each of the team's sandboxes named. */
    private void latestMetrics(Request request, Response response, Callback callback, Team team) {
        java.util.Set<String> ids = new java.util.LinkedHashSet<>();
        for (String v : Request.extractQueryParameters(request).getValuesOrEmpty("sandbox_ids")) {
            for (String id : v.split(",")) if (!id.isBlank()) ids.add(id.trim());
        }
        if (ids.size() > 100) throw ApiException.badRequest("at most 100 sandbox_ids are allowed");
        Map<String, Wire.SandboxMetric> out = new java.util.LinkedHashMap<>();
        for (String id : ids) {
            List<Metric> all = sandboxes.metrics(team, id, null, null);
            if (!all.isEmpty()) out.put(id, metric(all.getLast()));
        }
        HttpJson.write(response, callback, 200, Map.of("sandboxes", out));
    }

    private static Wire.SandboxMetric metric(Metric m) {
        return new Wire.SandboxMetric(m.at().toString(), m.at().getEpochSecond(), m.cpuCount(), m.cpuUsedPct(),
                m.memUsed(), m.memTotal(), m.memCache(), m.diskUsed(), m.diskTotal());
    }

    private static Instant epochSeconds(String v, String name) {
        if (v == null || v.isEmpty()) return null;
        try {
            return Instant.ofEpochSecond(Long.parseLong(v));
        } catch (NumberFormatException e) {
            throw ApiException.badRequest(name + " must be a unix timestamp in seconds");
        }
    }

    private void logs(Request request, Response response, Callback callback, Team team, String id, boolean v2) {
        Fields q = Request.extractQueryParameters(request);
        long fromMs = parseLong(q.getValue(v2 ? "cursor" : "start"), 0, v2 ? "cursor" : "start");
        long limit = parseLong(q.getValue("limit"), 1000, "limit");
        if (limit < 1 || limit > 10000) throw ApiException.badRequest("limit must be between 1 and 10000");
        List<SandboxEvent> events = sandboxes.logs(team, id, Instant.ofEpochMilli(fromMs), (int) limit);
        List<Wire.SandboxLogEntry> entries = events.stream()
                .map(e -> new Wire.SandboxLogEntry(e.at().toString(), e.level(), e.message(), Map.of())).toList();
        if (v2) {
            String search = q.getValue("search");
            if (search != null) entries = entries.stream().filter(e -> e.message().contains(search)).toList();
            if ("backward".equals(q.getValue("direction"))) entries = entries.reversed();
            HttpJson.write(response, callback, 200, new Wire.SandboxLogsV2(entries));
        } else {
            List<Wire.SandboxLog> lines = events.stream().map(e -> new Wire.SandboxLog(e.at().toString(), e.message())).toList();
            HttpJson.write(response, callback, 200, new Wire.SandboxLogs(lines, entries));
        }
    }

    private static long parseLong(String v, long dflt, String name) {
        if (v == null || v.isEmpty()) return dflt;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest(name + " must be an integer");
        }
    }

    private List<Wire.Template> listTemplates() {
        return templates.list().stream().map(t -> new Wire.Template(t.name(), t.name(), config.defaultCpuCount(),
                config.defaultMemoryMB(), config.defaultDiskMB(), true, List.of(t.name()), List.of(t.name()),
                t.builtAt().toString(), t.builtAt().toString(), null, null, store.countStartedFrom(t.name()), 1,
                ENVD_VERSION, "ready")).toList();
    }

}
