package dev.boxwood.protocol.envd.process;

/** process.PTY. */
public record Pty(PtySize size) {}
