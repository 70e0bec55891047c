package dev.boxwood.agent.connect;

/** A failure that reaches the client as a Connect error ({@code {"code":"not_found","message":...}}). */
public final class ConnectError extends RuntimeException {
    private final Code code;

    public ConnectError(Code code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public Code code() {
        return code;
    }

    public static ConnectError invalidArgument(String message) {
        return new ConnectError(Code.INVALID_ARGUMENT, message);
    }

    public static ConnectError notFound(String message) {
        return new ConnectError(Code.NOT_FOUND, message);
    }

    public static ConnectError alreadyExists(String message) {
        return new ConnectError(Code.ALREADY_EXISTS, message);
    }

    public static ConnectError permissionDenied(String message) {
        return new ConnectError(Code.PERMISSION_DENIED, message);
    }

    public static ConnectError failedPrecondition(String message) {
        return new ConnectError(Code.FAILED_PRECONDITION, message);
    }

    public static ConnectError unauthenticated(String message) {
        return new ConnectError(Code.UNAUTHENTICATED, message);
    }

    public static ConnectError resourceExhausted(String message) {
        return new ConnectError(Code.RESOURCE_EXHAUSTED, message);
    }

    public static ConnectError internal(String message) {
        return new ConnectError(Code.INTERNAL, message);
    }
}
