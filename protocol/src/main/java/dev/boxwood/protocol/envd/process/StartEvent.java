package dev.boxwood.protocol.envd.process;

/** process.ProcessEvent.StartEvent. */
public record StartEvent(int pid) {}
