package dev.boxwood.sdk.files;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.sdk.transport.Json;

/**
 * A file that was written.
 *
 * @param name the base name
 * @param type its type (a file)
 * @param path the absolute path it was written to
 */
public record WriteInfo(String name, FileType type, String path) {
    static WriteInfo fromJson(JsonNode n) {
        return new WriteInfo(Json.text(n, "name"), FileType.fromWire(Json.text(n, "type")), Json.text(n, "path"));
    }
}
