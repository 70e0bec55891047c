package dev.boxwood.protocol.envd.process;

/** process.ProcessInfo: one running process, for List. */
public record ProcessInfo(ProcessConfig config, int pid, String tag) {}
