package dev.boxwood.cli;

/** Entry point of the boxwood command. */
public final class Main {
    public static void main(String[] args) {
        throw new UnsupportedOperationException("cli not built yet");
    }
}
