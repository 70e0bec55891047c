package dev.boxwood.sdk;

/** The sandbox, file, process or code context does not exist (HTTP 404, Connect {@code not_found}). */
public class NotFoundException extends SandboxException {
    public NotFoundException(String message) {
        super(message);
    }

    public NotFoundException(String message, int status, String code, Throwable cause) {
        super(message, status, code, cause);
    }
}
