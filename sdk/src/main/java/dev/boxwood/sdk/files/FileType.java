package dev.boxwood.sdk.files;

/** The kind of a filesystem entry. */
public enum FileType {
    FILE,
    DIRECTORY,
    SYMLINK,
    /** A kind the agent reported that this SDK does not know. */
    UNKNOWN;

    static FileType fromWire(String s) {
        if (s == null) {
            return UNKNOWN;
        }
        return switch (s) {
            case "FILE_TYPE_FILE", "file", "1" -> FILE;
            case "FILE_TYPE_DIRECTORY", "dir", "directory", "2" -> DIRECTORY;
            case "FILE_TYPE_SYMLINK", "symlink", "3" -> SYMLINK;
            default -> UNKNOWN;
        };
    }
}
