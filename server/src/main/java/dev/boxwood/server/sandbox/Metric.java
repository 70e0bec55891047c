package dev.boxwood.server.sandbox;

import java.time.Instant;

/** One sample of a sandbox's resource use, as {@code GET /sandboxes/{id}/metrics} reports it. */
public record Metric(Instant at, int cpuCount, double cpuUsedPct, long memUsed, long memTotal, long memCache,
                     long diskUsed, long diskTotal) {}
