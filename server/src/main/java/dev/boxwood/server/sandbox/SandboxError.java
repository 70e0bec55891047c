package dev.boxwood.server.sandbox;

/** A lifecycle operation refused or failed; {@link Kind} says which HTTP status it deserves. */
public final class SandboxError extends RuntimeException {
    /**
     * {@code LIMITED}: over a quota the operator set (429, which the SDKs raise as a RateLimitError).
     * {@code UNAVAILABLE}: the host has no room for it now (503, which the SDKs raise as a ServiceBusyError).
     */
    public enum Kind { BAD_REQUEST, NOT_FOUND, CONFLICT, LIMITED, UNAVAILABLE, FAILED }

    private final Kind kind;

    public SandboxError(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public SandboxError(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    static SandboxError badRequest(String message) {
        return new SandboxError(Kind.BAD_REQUEST, message);
    }

    static SandboxError notFound(String id) {
        return new SandboxError(Kind.NOT_FOUND, "sandbox '" + id + "' not found");
    }
}
