package dev.boxwood.sdk;

import java.util.Locale;

/** The state of a listed sandbox. */
public enum SandboxState {
    RUNNING,
    PAUSED;

    /** The name on the wire ({@code running}, {@code paused}). */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    static SandboxState fromWire(String s) {
        return s == null ? RUNNING : valueOf(s.toUpperCase(Locale.ROOT));
    }
}
