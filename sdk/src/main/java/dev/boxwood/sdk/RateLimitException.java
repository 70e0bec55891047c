package dev.boxwood.sdk;

/** The server refused the request because too many were made (HTTP 429, Connect {@code resource_exhausted}). */
public class RateLimitException extends SandboxException {
    public RateLimitException(String message) {
        super(message);
    }

    public RateLimitException(String message, int status, String code, Throwable cause) {
        super(message, status, code, cause);
    }
}
