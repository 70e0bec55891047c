package dev.boxwood.protocol.envd.process;

/** process.PTY.Size. */
public record PtySize(int cols, int rows) {}
