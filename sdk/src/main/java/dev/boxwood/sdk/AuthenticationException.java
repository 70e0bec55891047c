package dev.boxwood.sdk;

/** The API key or the sandbox access token was missing or refused (HTTP 401, Connect {@code unauthenticated}). */
public class AuthenticationException extends SandboxException {
    public AuthenticationException(String message) {
        super(message);
    }

    public AuthenticationException(String message, int status, String code, Throwable cause) {
        super(message, status, code, cause);
    }
}
