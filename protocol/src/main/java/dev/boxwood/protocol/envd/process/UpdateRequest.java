package dev.boxwood.protocol.envd.process;

/** process.UpdateRequest: resizes the process's PTY. */
public record UpdateRequest(ProcessSelector process, Pty pty) {}
