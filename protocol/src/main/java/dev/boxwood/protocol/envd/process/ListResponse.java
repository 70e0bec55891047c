package dev.boxwood.protocol.envd.process;

import java.util.List;

/** process.ListResponse. */
public record ListResponse(List<ProcessInfo> processes) {}
