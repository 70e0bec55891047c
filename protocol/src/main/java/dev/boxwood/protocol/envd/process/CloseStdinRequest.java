package dev.boxwood.protocol.envd.process;

/** process.CloseStdinRequest. */
public record CloseStdinRequest(ProcessSelector process) {}
