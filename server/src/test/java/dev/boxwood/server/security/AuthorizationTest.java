package dev.boxwood.server.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.server.loopback.LoopbackRuntime;
import dev.boxwood.server.loopback.TestServer;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Team B's key against every route of the API, aimed at team A's sandbox: each answers as if the sandbox did not
 * exist (the same answer as for an id nobody has), lists leave it out, and afterwards team A's sandbox is exactly
 * as it was. The route table is checked against the path words {@code ApiHandler} dispatches on, so a new route
 * without a row here fails {@link #everyRouteOfTheApiHandlerHasARow()}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthorizationTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String OWNED = "{id}";
    static final String NOBODYS = "ifyouseethisthenitexists000";

    /** One request; {@code path} has {@value #OWNED} where team A's sandbox id goes. */
    record Row(String method, String path, String body, Kind kind) {}

    enum Kind {
        /** Names one sandbox: answered 404 (or 403), same as for an id that does not exist. */
        HIDDEN,
        /** Lists things: 200, and team A's sandbox is not in it. */
        LISTS
    }

    static final List<Row> ROUTES = List.of(
            new Row("GET", "/sandboxes", null, Kind.LISTS),
            new Row("GET", "/v2/sandboxes", null, Kind.LISTS),
            new Row("GET", "/v2/sandboxes?state=paused", null, Kind.LISTS),
            new Row("GET", "/sandboxes/metrics?sandbox_ids={id}", null, Kind.LISTS),
            new Row("GET", "/templates", null, Kind.LISTS),
            new Row("GET", "/snapshots", null, Kind.LISTS),
            new Row("GET", "/sandboxes/{id}", null, Kind.HIDDEN),
            new Row("GET", "/v2/sandboxes/{id}", null, Kind.HIDDEN),
            new Row("DELETE", "/sandboxes/{id}", null, Kind.HIDDEN),
            new Row("POST", "/sandboxes/{id}/connect", "{\"timeout\":10}", Kind.HIDDEN),
            new Row("POST", "/v2/sandboxes/{id}/connect", "{}", Kind.HIDDEN),
            new Row("POST", "/sandboxes/{id}/timeout", "{\"timeout\":10}", Kind.HIDDEN),
            new Row("POST", "/sandboxes/{id}/refreshes", "{\"duration\":10}", Kind.HIDDEN),
            new Row("POST", "/sandboxes/{id}/refreshes", "{\"duration\":0}", Kind.HIDDEN),
            new Row("GET", "/sandboxes/{id}/logs", null, Kind.HIDDEN),
            new Row("GET", "/v2/sandboxes/{id}/logs", null, Kind.HIDDEN),
            new Row("GET", "/sandboxes/{id}/metrics", null, Kind.HIDDEN),
            new Row("POST", "/sandboxes/{id}/pause", null, Kind.HIDDEN),
            new Row("POST", "/sandboxes/{id}/resume", "{\"timeout\":10}", Kind.HIDDEN),
            new Row("POST", "/sandboxes/{id}/snapshots", "{}", Kind.HIDDEN),
            new Row("POST", "/sandboxes/{id}/fork", "{}", Kind.HIDDEN),
            new Row("PUT", "/sandboxes/{id}/network", "{}", Kind.HIDDEN),
            new Row("DELETE", "/templates/{id}", null, Kind.HIDDEN),
            new Row("GET", "/templates/{id}", null, Kind.HIDDEN));

    @TempDir
    static Path dir;
    TestServer s;
    String keyA;
    String keyB;
    String id;
    JsonNode before;

    @BeforeAll
    void start() throws Exception {
        s = new TestServer(dir, new LoopbackRuntime(), c -> c.rateLimit(0, 1));
        keyA = s.newKey("team-a");
        keyB = s.newKey("team-b");
        HttpResponse<String> created = s.call("POST", "/v2/sandboxes", keyA,
                "{\"templateID\":\"base\",\"timeout\":600,\"metadata\":{\"owner\":\"a\"}}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        id = JSON.readTree(created.body()).get("sandboxID").asText();
        before = detail();
    }

    @AfterAll
    void stop() {
        if (s != null) s.close();
    }

    JsonNode detail() throws IOException {
        HttpResponse<String> r = s.call("GET", "/sandboxes/" + id, keyA, null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    HttpResponse<String> send(String key, Row row, String sandboxId) {
        return s.call(row.method(), row.path().replace(OWNED, sandboxId), key, row.body());
    }

    @Test
    void teamBCannotReachTeamAsSandboxThroughAnyRoute() throws Exception {
        int started = s.runtime.started.size();
        int destroyed = s.runtime.destroyed.size();
        List<String> failures = new ArrayList<>();
        for (Row row : ROUTES) {
            HttpResponse<String> r = send(keyB, row, id);
            String what = row.method() + " " + row.path() + " -> " + r.statusCode() + " " + r.body();
            if (r.statusCode() >= 500) failures.add("server error: " + what);
            if (row.kind() == Kind.LISTS) {
                if (r.statusCode() == 200 && r.body().contains(id)) failures.add("lists team A's sandbox: " + what);
                if (r.statusCode() != 200 && r.statusCode() != 404) failures.add("list refused oddly: " + what);
                continue;
            }
            if (r.statusCode() != 404 && r.statusCode() != 403) {
                failures.add("not hidden: " + what);
                continue;
            }
            JsonNode body = JSON.readTree(r.body());
            if (body.path("code").asInt() != r.statusCode() || body.path("message").asText().isBlank()) {
                failures.add("error without E2B's {code,message} shape: " + what);
            }
            if (r.body().contains(before.path("envdAccessToken").asText("\u0000"))) {
                failures.add("leaks the access token: " + what);
            }
            // No oracle: a sandbox of another team looks exactly like one that does not exist.
            HttpResponse<String> none = send(keyB, row, NOBODYS);
            if (none.statusCode() != r.statusCode()
                    || !none.body().replace(NOBODYS, "ID").equals(r.body().replace(id, "ID"))) {
                failures.add("differs from a missing sandbox (" + none.statusCode() + " " + none.body() + "): " + what);
            }
        }
        assertThat(failures).isEmpty();

        // Team A's sandbox went through all of that untouched: alive, same end time, nothing created or destroyed.
        JsonNode after = detail();
        assertThat(after.get("endAt").asText()).isEqualTo(before.get("endAt").asText());
        assertThat(after.get("metadata")).isEqualTo(before.get("metadata"));
        assertThat(after.path("state").asText("running")).isEqualTo("running");
        assertThat(s.runtime.destroyed).hasSize(destroyed);
        assertThat(s.runtime.started).hasSize(started);
        assertThat(JSON.readTree(s.call("GET", "/v2/sandboxes", keyA, null).body()).findValuesAsText("sandboxID"))
                .containsExactly(id);
    }

    @Test
    void withoutAValidKeyEveryRouteIs401() throws Exception {
        int destroyed = s.runtime.destroyed.size();
        for (String key : new String[] {null, "", "e2b_" + "0".repeat(40), keyA + "x", keyA.substring(0, 20)}) {
            for (Row row : ROUTES) {
                HttpResponse<String> r = send(key, row, id);
                // A word this server does not route at all may 404 before authentication; nothing else may pass.
                if (r.statusCode() == 404 && r.body().contains("no such endpoint")) continue;
                assertThat(r.statusCode()).as(row + " with key " + key + ": " + r.body()).isEqualTo(401);
                assertThat(JSON.readTree(r.body()).path("code").asInt()).isEqualTo(401);
            }
        }
        assertThat(detail().get("endAt").asText()).isEqualTo(before.get("endAt").asText());
        assertThat(s.runtime.destroyed).hasSize(destroyed);
    }

    /** Secure by default: E2B v1's {@code secure:false} still gets a sandbox whose agent requires a token. */
    @Test
    void v1SecureFalseStillGetsAnAccessToken() throws Exception {
        for (String secure : new String[] {"false", "true", "null"}) {
            HttpResponse<String> r = s.call("POST", "/sandboxes", keyA,
                    "{\"templateID\":\"base\",\"secure\":" + secure + "}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            JsonNode made = JSON.readTree(r.body());
            String token = made.path("envdAccessToken").asText("");
            assertThat(token).as("secure=%s", secure).hasSizeGreaterThanOrEqualTo(32);
            // The agent was initialised with that token: it is what the agent will demand.
            assertThat(s.runtime.boxes.get(made.get("sandboxID").asText()).accessToken).isEqualTo(token);
            assertThat(s.call("DELETE", "/sandboxes/" + made.get("sandboxID").asText(), keyA, null).statusCode())
                    .isEqualTo(204);
        }
    }

    /** Guards the table: each literal path word the handler dispatches on must appear in some row. */
    @Test
    void everyRouteOfTheApiHandlerHasARow() throws IOException {
        Set<String> covered = new TreeSet<>();
        for (Row row : ROUTES) {
            for (String seg : row.path().replaceAll("\\?.*", "").split("/")) covered.add(seg);
        }
        Set<String> missing = new TreeSet<>(routeWords());
        missing.removeAll(covered);
        assertThat(routeWords()).as("the scan finds the handler's routes").contains("connect", "timeout", "logs");
        assertThat(missing).as("route words in ApiHandler without a row in AuthorizationTest.ROUTES").isEmpty();
    }

    /**
     * Lower-case literals in {@code case "..."} labels and {@code s[i].equals("...")} tests of ApiHandler and of the
     * route classes it delegates to ({@code api/*Routes.java}).
     */
    static Set<String> routeWords() throws IOException {
        Path api = home().resolve("server/src/main/java/dev/boxwood/server/api");
        StringBuilder all = new StringBuilder(Files.readString(api.resolve("ApiHandler.java")));
        try (var files = Files.list(api)) {
            for (Path p : files.filter(p -> p.getFileName().toString().endsWith("Routes.java")).toList()) {
                all.append('\n').append(Files.readString(p));
            }
        }
        String text = all.toString();
        Set<String> words = new TreeSet<>();
        Matcher cases = Pattern.compile("case\\s+((?:\"[^\"]*\"\\s*,?\\s*)+)->").matcher(text);
        while (cases.find()) {
            Matcher lit = Pattern.compile("\"([a-z][a-z0-9_-]*)\"").matcher(cases.group(1));
            while (lit.find()) words.add(lit.group(1));
        }
        Matcher eq = Pattern.compile("\\b(?:s|seg|segments|parts)\\[\\d+]\\.equals\\(\"([a-z][a-z0-9_-]*)\"\\)")
                .matcher(text);
        while (eq.find()) words.add(eq.group(1));
        Matcher paths = Pattern.compile("path\\.(?:equals|startsWith)\\(\"/([a-z][a-z0-9_/-]*)\"\\)").matcher(text);
        while (paths.find()) words.addAll(List.of(paths.group(1).split("/")));
        words.remove("health"); // unauthenticated by design, checked in withoutAValidKeyEveryRouteIs401's sibling tests
        words.remove("v2");
        return words;
    }

    static Path home() {
        String home = System.getProperty("boxwood.home");
        if (home != null) return Path.of(home);
        Path here = Path.of("").toAbsolutePath();
        return Files.isDirectory(here.resolve("server")) ? here : here.getParent();
    }
}
