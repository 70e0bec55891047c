package dev.boxwood.sdk;

/** The sandbox's template is too old for the requested feature (its agent version lacks it). */
public class TemplateException extends SandboxException {
    public TemplateException(String message) {
        super(message);
    }

    public TemplateException(String message, int status, String code, Throwable cause) {
        super(message, status, code, cause);
    }
}
