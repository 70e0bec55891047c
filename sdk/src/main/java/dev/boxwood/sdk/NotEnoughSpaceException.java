package dev.boxwood.sdk;

/** The sandbox's disk is full (HTTP 507). */
public class NotEnoughSpaceException extends SandboxException {
    public NotEnoughSpaceException(String message) {
        super(message);
    }

    public NotEnoughSpaceException(String message, int status, String code, Throwable cause) {
        super(message, status, code, cause);
    }
}
