package dev.boxwood.sdk;

/**
 * Base of every error the SDK raises. It carries the server's own message, and, when the error came from an
 * HTTP response or a Connect RPC, the HTTP status and the Connect error code (e.g. {@code "not_found"}).
 *
 * <p>Subclasses name the kinds a caller usually wants to tell apart: {@link AuthenticationException},
 * {@link NotFoundException}, {@link TimeoutException}, {@link RateLimitException},
 * {@link InvalidArgumentException}, {@link NotEnoughSpaceException}, {@link TemplateException} and
 * {@link dev.boxwood.sdk.commands.CommandExitException}.
 */
public class SandboxException extends RuntimeException {
    private final int status;
    private final String code;

    public SandboxException(String message) {
        this(message, 0, null, null);
    }

    public SandboxException(String message, Throwable cause) {
        this(message, 0, null, cause);
    }

    public SandboxException(String message, int status, String code, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.code = code;
    }

    /** The HTTP status of the failed response, or 0 when the error did not come from one. */
    public int status() {
        return status;
    }

    /** The Connect error code ({@code "not_found"}, {@code "already_exists"}, ...) of a failed RPC, or null. */
    public String code() {
        return code;
    }
}
