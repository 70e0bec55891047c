package dev.boxwood.protocol.envd.filesystem;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** filesystem.EventType; on the wire by name, read by name or number. */
public enum EventType {
    EVENT_TYPE_UNSPECIFIED,
    EVENT_TYPE_CREATE,
    EVENT_TYPE_WRITE,
    EVENT_TYPE_REMOVE,
    EVENT_TYPE_RENAME,
    EVENT_TYPE_CHMOD;

    @JsonValue
    public String wireName() {
        return name();
    }

    @JsonCreator
    public static EventType of(Object value) {
        for (EventType t : values()) {
            if (t.name().equals(String.valueOf(value)) || String.valueOf(t.ordinal()).equals(String.valueOf(value))) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown event type " + value);
    }
}
