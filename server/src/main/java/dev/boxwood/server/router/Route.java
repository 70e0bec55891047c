package dev.boxwood.server.router;

/** Where a request goes: the control plane, a sandbox port, or straight back with an error. */
public sealed interface Route {
    /** Not sandbox traffic: the control-plane API handles it. */
    record ControlPlane() implements Route {}

    /** Sandbox traffic for {@code port} of {@code sandboxId} (which may not exist or be running). */
    record Sandbox(String sandboxId, int port) implements Route {}

    /** Sandbox traffic that is malformed (e.g. only one of the two routing headers). */
    record Invalid(int status, String message) implements Route {}
}
