package dev.boxwood.protocol.envd.filesystem;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.boxwood.protocol.envd.Empty;

/**
 * filesystem.WatchDirResponse: oneof start, filesystem or keepalive, at the top level (unlike process events,
 * which are wrapped in {@code event}). The empty members must still be sent as {@code {}}.
 */
public record WatchDirResponse(@JsonInclude(JsonInclude.Include.NON_NULL) Empty start,
                               FilesystemEvent filesystem,
                               @JsonInclude(JsonInclude.Include.NON_NULL) Empty keepalive) {
    public static WatchDirResponse ofStart() {
        return new WatchDirResponse(new Empty(), null, null);
    }

    public static WatchDirResponse of(FilesystemEvent event) {
        return new WatchDirResponse(null, event, null);
    }

    public static WatchDirResponse ofKeepalive() {
        return new WatchDirResponse(null, null, new Empty());
    }
}
