package dev.boxwood.sdk;

/** The server refused the request's arguments (HTTP 400, Connect {@code invalid_argument}). */
public class InvalidArgumentException extends SandboxException {
    public InvalidArgumentException(String message) {
        super(message);
    }

    public InvalidArgumentException(String message, int status, String code, Throwable cause) {
        super(message, status, code, cause);
    }
}
