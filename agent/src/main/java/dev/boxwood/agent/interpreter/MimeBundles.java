package dev.boxwood.agent.interpreter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/** Maps a Jupyter MIME bundle to the fields of an E2B {@code result} line. */
final class MimeBundles {
    private static final Map<String, String> FIELDS = Map.ofEntries(
            Map.entry("text/plain", "text"),
            Map.entry("text/html", "html"),
            Map.entry("text/markdown", "markdown"),
            Map.entry("image/svg+xml", "svg"),
            Map.entry("image/png", "png"),
            Map.entry("image/jpeg", "jpeg"),
            Map.entry("application/pdf", "pdf"),
            Map.entry("text/latex", "latex"),
            Map.entry("application/json", "json"),
            Map.entry("application/javascript", "javascript"),
            Map.entry("e2b/data", "data"),
            Map.entry("e2b/chart", "chart"));

    private MimeBundles() {}

    static OutputItem.Result toResult(JsonNode data, boolean main) {
        ObjectNode fields = OutputItem.JSON.createObjectNode();
        fields.put("type", "result");
        ObjectNode extra = OutputItem.JSON.createObjectNode();
        long bytes = 128;
        for (Map.Entry<String, JsonNode> e : data.properties()) {
            JsonNode value = e.getValue();
            if (value == null || value.isNull()) continue;
            bytes += e.getKey().length() + (value.isTextual() ? 2L * value.asText().length() : value.toString().length());
            String field = FIELDS.get(e.getKey());
            if (field == null) {
                extra.set(e.getKey(), value);
            } else if (field.equals("text")) {
                fields.put("text", stripQuotes(value.isTextual() ? value.asText() : value.toString()));
            } else if ((field.equals("png") || field.equals("jpeg")) && value.isTextual()) {
                // Some kernels wrap or end their base64 with newlines; strict decoders reject that.
                fields.put(field, value.asText().replaceAll("\\s", ""));
            } else {
                fields.set(field, value);
            }
        }
        if (!extra.isEmpty()) fields.set("extra", extra);
        fields.put("is_main_result", main);
        return new OutputItem.Result(fields, bytes);
    }

    /** A string's repr comes back quoted ('abc'); E2B hands the bare text to the caller. */
    static String stripQuotes(String text) {
        if (text.length() >= 2) {
            char first = text.charAt(0), last = text.charAt(text.length() - 1);
            if ((first == '\'' || first == '"') && first == last) return text.substring(1, text.length() - 1);
        }
        return text;
    }
}
