package dev.boxwood.server.runtime;

/** The host has no room for a new sandbox (its disk could not be filled without eating the host's reserve). */
public final class NoRoomForSandbox extends RuntimeFailure {
    public NoRoomForSandbox(String message) {
        super(message);
    }
}
