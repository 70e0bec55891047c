package dev.boxwood.protocol.envd.process;

/** process.SendSignalRequest. */
public record SendSignalRequest(ProcessSelector process, Signal signal) {}
