package dev.boxwood.sdk.files;

/**
 * A change in a watched directory ({@link Filesystem#watchDir}).
 *
 * @param name  the changed path, relative to the watched directory
 * @param type  what happened
 * @param entry the entry after the change when {@link WatchOptions#includeEntry} was asked for, else null
 */
public record FilesystemEvent(String name, EventType type, EntryInfo entry) {
    /** What happened to a path. */
    public enum EventType {
        CREATE,
        WRITE,
        REMOVE,
        RENAME,
        CHMOD,
        UNKNOWN;

        static EventType fromWire(String s) {
            if (s == null) {
                return UNKNOWN;
            }
            return switch (s) {
                case "EVENT_TYPE_CREATE", "1" -> CREATE;
                case "EVENT_TYPE_WRITE", "2" -> WRITE;
                case "EVENT_TYPE_REMOVE", "3" -> REMOVE;
                case "EVENT_TYPE_RENAME", "4" -> RENAME;
                case "EVENT_TYPE_CHMOD", "5" -> CHMOD;
                default -> UNKNOWN;
            };
        }
    }
}
