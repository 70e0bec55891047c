package dev.boxwood.protocol.envd.process;

/** process.ConnectRequest. */
public record ConnectRequest(ProcessSelector process) {}
