package dev.boxwood.protocol.envd.process;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** process.Signal; on the wire by name, read by name or number. */
public enum Signal {
    SIGNAL_UNSPECIFIED(0),
    SIGNAL_SIGKILL(9),
    SIGNAL_SIGTERM(15);

    private final int number;

    Signal(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }

    @JsonValue
    public String wireName() {
        return name();
    }

    @JsonCreator
    public static Signal of(Object value) {
        for (Signal s : values()) {
            if (s.name().equals(String.valueOf(value)) || String.valueOf(s.number).equals(String.valueOf(value))) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown signal " + value);
    }
}
