package dev.boxwood.server.pool;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/** Parses {@code --pool base=2,code-interpreter-v1=1}: how many sandboxes to keep booted ahead per template. */
public final class PoolSizes {
    private static final Pattern TEMPLATE = Pattern.compile("[a-z0-9][a-z0-9._-]{0,127}");
    /** Most sandboxes one template's pool may hold: each one is a booted agent using memory while idle. */
    public static final int MAX_PER_TEMPLATE = 64;

    private PoolSizes() {}

    /** An empty or "none" text means no pools; a size of 0 drops that template. */
    public static Map<String, Integer> parse(String text) {
        Map<String, Integer> sizes = new LinkedHashMap<>();
        if (text == null || text.isBlank() || text.strip().equals("none")) return sizes;
        for (String part : text.split(",")) {
            String entry = part.strip();
            if (entry.isEmpty()) continue;
            int eq = entry.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("pool entry '" + entry + "' is not template=size");
            String template = entry.substring(0, eq).strip();
            if (!TEMPLATE.matcher(template).matches()) {
                throw new IllegalArgumentException("pool entry '" + entry + "' names no valid template");
            }
            int size;
            try {
                size = Integer.parseInt(entry.substring(eq + 1).strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("pool size in '" + entry + "' is not a number");
            }
            if (size < 0 || size > MAX_PER_TEMPLATE) {
                throw new IllegalArgumentException("pool size in '" + entry + "' must be 0-" + MAX_PER_TEMPLATE);
            }
            if (size > 0) sizes.put(template, size);
            else sizes.remove(template);
        }
        return sizes;
    }
}
