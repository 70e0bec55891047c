package dev.boxwood.sdk.files;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.sdk.transport.Json;
import java.time.Instant;
import java.util.Map;

/**
 * A file, directory or symlink inside the sandbox.
 *
 * @param name          the base name
 * @param type          file, directory or symlink
 * @param path          the absolute path
 * @param size          the size in bytes
 * @param mode          the Unix mode bits
 * @param permissions   the mode as {@code ls} prints it, e.g. {@code -rw-r--r--}
 * @param owner         the owning user
 * @param group         the owning group
 * @param modifiedTime  the last modification
 * @param symlinkTarget where a symlink points, or null
 * @param metadata      the metadata stored with the file
 */
public record EntryInfo(String name, FileType type, String path, long size, int mode, String permissions,
                        String owner, String group, Instant modifiedTime, String symlinkTarget,
                        Map<String, String> metadata) {
    public EntryInfo {
        metadata = Map.copyOf(metadata);
    }

    static EntryInfo fromJson(JsonNode n) {
        JsonNode m = Json.field(n, "modifiedTime", "modified_time");
        String modified = m == null || m.isNull() ? null : m.asText();
        JsonNode link = Json.field(n, "symlinkTarget", "symlink_target");
        return new EntryInfo(Json.text(n, "name"), FileType.fromWire(Json.text(n, "type")), Json.text(n, "path"),
                n.path("size").asLong(), n.path("mode").asInt(), Json.text(n, "permissions"), Json.text(n, "owner"),
                Json.text(n, "group"), modified == null ? null : Instant.parse(modified),
                link == null || link.isNull() ? null : link.asText(), Json.stringMap(n.get("metadata")));
    }
}
