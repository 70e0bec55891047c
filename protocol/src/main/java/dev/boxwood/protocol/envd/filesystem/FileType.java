package dev.boxwood.protocol.envd.filesystem;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** filesystem.FileType; on the wire by name, read by name or number. */
public enum FileType {
    FILE_TYPE_UNSPECIFIED,
    FILE_TYPE_FILE,
    FILE_TYPE_DIRECTORY,
    FILE_TYPE_SYMLINK;

    @JsonValue
    public String wireName() {
        return name();
    }

    @JsonCreator
    public static FileType of(Object value) {
        for (FileType t : values()) {
            if (t.name().equals(String.valueOf(value)) || String.valueOf(t.ordinal()).equals(String.valueOf(value))) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown file type " + value);
    }
}
