package dev.boxwood.agent;

/** Entry point of the in-sandbox daemon. */
public final class Agent {
    public static void main(String[] args) {
        throw new UnsupportedOperationException("agent not built yet");
    }
}
