package dev.boxwood.server.template;

/** A template could not be built; the message is one line a person can act on. */
public final class TemplateBuildFailure extends RuntimeException {
    public TemplateBuildFailure(String message) {
        super(message);
    }
}
