package dev.boxwood.sdk.code;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.sdk.transport.Json;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One output of an execution: the value of the last expression ({@link #isMainResult()}) or something displayed
 * along the way (a plot, a table). It carries every representation the kernel produced; absent ones are null.
 *
 * @param text         {@code text/plain}
 * @param html         {@code text/html}
 * @param markdown     {@code text/markdown}
 * @param svg          {@code image/svg+xml}
 * @param png          a PNG image, base64 (see {@link #pngBytes()})
 * @param jpeg         a JPEG image, base64
 * @param pdf          a PDF, base64
 * @param latex        {@code text/latex}
 * @param json         {@code application/json}
 * @param javascript   {@code application/javascript}
 * @param data         a table (pandas DataFrame) as columns
 * @param chart        a chart's data extracted from a matplotlib figure (type, title, labels, elements)
 * @param extra        every other MIME type the kernel produced
 * @param isMainResult true for the value of the cell's last expression
 */
public record Result(String text, String html, String markdown, String svg, String png, String jpeg, String pdf,
                     String latex, JsonNode json, String javascript, JsonNode data, JsonNode chart,
                     Map<String, JsonNode> extra, boolean isMainResult) {
    public Result {
        extra = Map.copyOf(extra);
    }

    /** The PNG decoded, or null. */
    public byte[] pngBytes() {
        return png == null ? null : Base64.getMimeDecoder().decode(png);
    }

    /** The JPEG decoded, or null. */
    public byte[] jpegBytes() {
        return jpeg == null ? null : Base64.getMimeDecoder().decode(jpeg);
    }

    /** The names of the representations present, e.g. {@code [text, png, chart]}. */
    public List<String> formats() {
        List<String> out = new ArrayList<>();
        String[] names = {"text", "html", "markdown", "svg", "png", "jpeg", "pdf", "latex", "json", "javascript",
                "data", "chart"};
        Object[] values = {text, html, markdown, svg, png, jpeg, pdf, latex, json, javascript, data, chart};
        for (int i = 0; i < names.length; i++) {
            if (values[i] != null) {
                out.add(names[i]);
            }
        }
        out.addAll(extra.keySet());
        return out;
    }

    static Result fromJson(JsonNode n) {
        ObjectNode rest = n.deepCopy();
        for (String known : List.of("type", "text", "html", "markdown", "svg", "png", "jpeg", "pdf", "latex", "json",
                "javascript", "data", "chart", "extra", "is_main_result")) {
            rest.remove(known);
        }
        Map<String, JsonNode> extra = new LinkedHashMap<>();
        JsonNode declared = n.get("extra");
        if (declared != null && declared.isObject()) {
            declared.properties().forEach(e -> extra.put(e.getKey(), e.getValue()));
        }
        rest.properties().forEach(e -> extra.put(e.getKey(), e.getValue()));
        return new Result(Json.text(n, "text"), Json.text(n, "html"), Json.text(n, "markdown"), Json.text(n, "svg"),
                Json.text(n, "png"), Json.text(n, "jpeg"), Json.text(n, "pdf"), Json.text(n, "latex"), node(n, "json"),
                Json.text(n, "javascript"), node(n, "data"), node(n, "chart"), extra,
                n.path("is_main_result").asBoolean(false));
    }

    private static JsonNode node(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v;
    }
}
