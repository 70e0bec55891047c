package dev.boxwood.protocol.envd.process;

/** process.SendInputRequest. */
public record SendInputRequest(ProcessSelector process, ProcessInput input) {}
