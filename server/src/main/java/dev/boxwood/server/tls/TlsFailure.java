package dev.boxwood.server.tls;

/** The server cannot serve HTTPS as configured; the message says why in terms an operator can act on. */
public final class TlsFailure extends IllegalStateException {
    public TlsFailure(String message) {
        super(message);
    }

    public TlsFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
