package dev.boxwood.sdk;

/** The sandbox does not exist, or no longer exists (killed or expired). */
public class SandboxNotFoundException extends NotFoundException {
    public SandboxNotFoundException(String message) {
        super(message);
    }

    public SandboxNotFoundException(String message, int status, String code, Throwable cause) {
        super(message, status, code, cause);
    }
}
