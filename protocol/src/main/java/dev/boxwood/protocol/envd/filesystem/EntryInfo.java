package dev.boxwood.protocol.envd.filesystem;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/**
 * filesystem.EntryInfo. {@code size} is an int64, so a JSON string on the wire; {@code modifiedTime} is an RFC 3339
 * timestamp; {@code metadata} holds the {@code user.e2b.*} xattrs without their prefix.
 */
public record EntryInfo(
        String name,
        FileType type,
        String path,
        @JsonFormat(shape = JsonFormat.Shape.STRING) long size,
        int mode,
        String permissions,
        String owner,
        String group,
        @JsonAlias("modified_time") String modifiedTime,
        @JsonAlias("symlink_target") @JsonInclude(JsonInclude.Include.NON_NULL) String symlinkTarget,
        Map<String, String> metadata) {}
