package dev.boxwood.sdk;

/** A deadline passed: the request timeout, the command or watch timeout, or the sandbox itself timed out and is gone (HTTP 502, Connect {@code deadline_exceeded}, {@code unavailable}, {@code canceled}). */
public class TimeoutException extends SandboxException {
    public TimeoutException(String message) {
        super(message);
    }

    public TimeoutException(String message, int status, String code, Throwable cause) {
        super(message, status, code, cause);
    }
}
