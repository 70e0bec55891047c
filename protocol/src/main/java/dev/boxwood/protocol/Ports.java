package dev.boxwood.protocol;

/** Well-known ports inside every sandbox, fixed by E2B's SDKs. */
public final class Ports {
    /** The agent (E2B's envd): processes, filesystem, files. */
    public static final int AGENT = 49983;
    /** The code interpreter's HTTP API. */
    public static final int INTERPRETER = 49999;

    private Ports() {}
}
