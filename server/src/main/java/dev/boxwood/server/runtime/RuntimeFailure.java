package dev.boxwood.server.runtime;

/** A sandbox could not be created or handled; the message is safe to show an API client. */
public class RuntimeFailure extends RuntimeException {
    public RuntimeFailure(String message) {
        super(message);
    }

    public RuntimeFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
