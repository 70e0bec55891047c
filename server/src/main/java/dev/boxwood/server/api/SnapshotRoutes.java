package dev.boxwood.server.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.boxwood.server.sandbox.SandboxManager;
import dev.boxwood.server.snapshot.Snapshot;
import dev.boxwood.server.snapshot.Snapshots;
import dev.boxwood.server.store.SandboxRow;
import dev.boxwood.server.store.Team;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * E2B's snapshot endpoints: {@code POST /sandboxes/{id}/snapshots}, {@code GET /snapshots},
 * {@code DELETE /templates/{snapshotID}} and {@code POST /sandboxes/{id}/fork}.
 */
final class SnapshotRoutes {
    private SnapshotRoutes() {}

    record SnapshotRequest(String name) {}

    record ForkRequest(Integer timeout, Integer count) {}

    /** E2B's {@code SnapshotInfo}, plus Boxwood's {@code sandboxID}, {@code sizeBytes} and {@code createdAt}. */
    record SnapshotInfo(String snapshotID, List<String> names, String sandboxID, long sizeBytes, String createdAt) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ForkResult(Wire.Sandbox sandbox, Wire.Error error) {}

    /** Handles the request if it is one of these endpoints (path segments after an optional version). */
    static boolean handle(Snapshots snapshots, SandboxManager sandboxes, String method, String[] s, Request request,
                          Response response, Callback callback, Team team, Function<SandboxRow, Wire.Sandbox> sandbox) {
        if (s[0].equals("sandboxes") && s.length == 3 && s[2].equals("snapshots")) {
            expect(method, "POST");
            SnapshotRequest body = ApiHandler.readBody(request, SnapshotRequest.class, true);
            Snapshot snap = snapshots.create(team, s[1], body == null ? null : body.name());
            HttpJson.write(response, callback, 201, info(snap));
            return true;
        }
        if (s[0].equals("sandboxes") && s.length == 3 && s[2].equals("fork")) {
            expect(method, "POST");
            ForkRequest body = ApiHandler.readBody(request, ForkRequest.class, true);
            Duration timeout = body == null || body.timeout() == null ? null : Duration.ofSeconds(body.timeout());
            int count = body == null || body.count() == null ? 1 : body.count();
            List<ForkResult> out = snapshots.fork(team, s[1], timeout, count).stream()
                    .map(row -> new ForkResult(sandbox.apply(row), null)).toList();
            HttpJson.write(response, callback, 201, out);
            return true;
        }
        if (s[0].equals("snapshots") && s.length == 1) {
            expect(method, "GET");
            Fields q = Request.extractQueryParameters(request);
            List<Snapshot> all = snapshots.list(team, q.getValue("sandboxID"), q.getValue("name"));
            int limit = intParam(q.getValue("limit"), 100, "limit");
            int from = intParam(q.getValue("nextToken"), 0, "nextToken");
            if (limit < 1 || limit > 100) throw ApiException.badRequest("limit must be between 1 and 100");
            List<Snapshot> page = all.subList(Math.min(from, all.size()), Math.min(from + limit, all.size()));
            if (from + limit < all.size()) response.getHeaders().put("X-Next-Token", Integer.toString(from + limit));
            response.getHeaders().put("X-Total-Bytes", Long.toString(snapshots.usage(team)));
            HttpJson.write(response, callback, 200, page.stream().map(SnapshotRoutes::info).toList());
            return true;
        }
        if (s[0].equals("templates") && s.length == 2 && method.equals("DELETE")) {
            snapshots.delete(team, s[1]);
            response.setStatus(204);
            response.write(true, null, callback);
            return true;
        }
        return false;
    }

    private static SnapshotInfo info(Snapshot s) {
        return new SnapshotInfo(s.id(), s.name() == null ? List.of(s.id()) : List.of(s.name()), s.sandboxId(),
                s.sizeBytes(), s.createdAt().toString());
    }

    private static int intParam(String v, int dflt, String name) {
        if (v == null || v.isEmpty()) return dflt;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest(name + " must be an integer");
        }
    }

    private static void expect(String method, String allowed) {
        if (!method.equals(allowed)) throw new ApiException(405, "method " + method + " not allowed here; use " + allowed);
    }
}
