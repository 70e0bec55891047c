package dev.boxwood.server.api;

import dev.boxwood.server.store.SandboxRow;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.jetty.util.Fields;

/** The filters and cursor of {@code GET /sandboxes} and {@code GET /v2/sandboxes}. */
record ListQuery(Set<String> states, Map<String, String> metadata, int limit, Cursor after, boolean ascending,
                 Instant startedAfter, String template) {

    static final int MAX_LIMIT = 100;

    /** Position in the listing order: the last item of the previous page. */
    record Cursor(long startedAtMillis, String id) {
        String encode() {
            return Base64.getUrlEncoder().withoutPadding()
                    .encodeToString((startedAtMillis + ":" + id).getBytes(StandardCharsets.UTF_8));
        }

        static Cursor decode(String token) {
            try {
                String s = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
                int colon = s.indexOf(':');
                return new Cursor(Long.parseLong(s.substring(0, colon)), s.substring(colon + 1));
            } catch (RuntimeException e) {
                throw ApiException.badRequest("invalid nextToken");
            }
        }
    }

    static ListQuery parse(Fields query, boolean paginated) {
        Set<String> states = new java.util.HashSet<>();
        for (String v : query.getValuesOrEmpty("state")) {
            for (String s : v.split(",")) {
                s = s.trim();
                if (s.isEmpty()) continue;
                if (!s.equals("running") && !s.equals("paused")) {
                    throw ApiException.badRequest("invalid state '" + s + "': expected running or paused");
                }
                states.add(s);
            }
        }
        if (states.isEmpty()) states = Set.of("running", "paused");
        Map<String, String> metadata = parseMetadata(query.getValue("metadata"));
        int limit = MAX_LIMIT;
        String limitParam = query.getValue("limit");
        if (paginated && limitParam != null) {
            try {
                limit = Integer.parseInt(limitParam);
            } catch (NumberFormatException e) {
                throw ApiException.badRequest("limit must be an integer");
            }
            if (limit < 1 || limit > MAX_LIMIT) throw ApiException.badRequest("limit must be between 1 and " + MAX_LIMIT);
        }
        String token = paginated ? query.getValue("nextToken") : null;
        Cursor after = token == null || token.isEmpty() ? null : Cursor.decode(token);
        String order = paginated ? query.getValue("order") : null;
        if (order != null && !order.equals("asc") && !order.equals("desc")) {
            throw ApiException.badRequest("order must be asc or desc");
        }
        Instant startedAfter = null;
        String sa = paginated ? query.getValue("startedAfter") : null;
        if (sa != null && !sa.isEmpty()) {
            try {
                startedAfter = OffsetDateTime.parse(sa).toInstant();
            } catch (DateTimeParseException e) {
                throw ApiException.badRequest("startedAfter must be an RFC 3339 timestamp");
            }
        }
        String template = paginated ? query.getValue("template") : null;
        return new ListQuery(states, metadata, limit, after, "asc".equals(order), startedAfter, template);
    }

    /**
     * The SDK encodes {@code metadata} three times; Jetty undid one layer. As E2B's server does: decode the whole
     * string once more, split into pairs, and decode each key and value.
     */
    static Map<String, String> parseMetadata(String raw) {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) return out;
        String once;
        try {
            once = URLDecoder.decode(raw, StandardCharsets.UTF_8);
            for (String pair : once.split("&")) {
                if (pair.isEmpty()) continue;
                int eq = pair.indexOf('=');
                if (eq <= 0) throw ApiException.badRequest("invalid metadata filter: expected key=value pairs");
                out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid metadata filter: " + e.getMessage());
        }
        return out;
    }

    /** One page of matching rows and the cursor of the next page (null on the last). */
    record Page(List<SandboxRow> items, String nextToken, int totalMatching) {}

    Page apply(List<SandboxRow> running) {
        List<SandboxRow> matching = new ArrayList<>();
        {
            for (SandboxRow r : running) {
                if (!states.contains(r.status() == SandboxRow.Status.PAUSED ? "paused" : "running")) continue;
                if (startedAfter != null && r.startedAt().isBefore(startedAfter)) continue;
                if (template != null && !template.isEmpty() && !template.equals(r.templateId())) continue;
                if (!r.metadata().entrySet().containsAll(metadata.entrySet())) continue;
                matching.add(r);
            }
        }
        Comparator<SandboxRow> order = Comparator.comparing((SandboxRow r) -> r.startedAt().toEpochMilli())
                .thenComparing(SandboxRow::id);
        if (!ascending) order = order.reversed();
        matching.sort(order);
        List<SandboxRow> rest = matching;
        if (after != null) {
            int sign = ascending ? 1 : -1;
            rest = matching.stream().filter(r -> {
                int c = Long.compare(r.startedAt().toEpochMilli(), after.startedAtMillis());
                if (c == 0) c = r.id().compareTo(after.id());
                return c * sign > 0;
            }).toList();
        }
        List<SandboxRow> page = rest.subList(0, Math.min(limit, rest.size()));
        String next = null;
        if (rest.size() > limit) {
            SandboxRow last = page.getLast();
            next = new Cursor(last.startedAt().toEpochMilli(), last.id()).encode();
        }
        return new Page(List.copyOf(page), next, matching.size());
    }
}
