package dev.boxwood.agent.interpreter;

/** A request the interpreter refuses; {@code status} is the HTTP status, the message goes out as plain text. */
public final class InterpreterException extends Exception {
    private final int status;

    public InterpreterException(int status, String message) {
        super(message);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
