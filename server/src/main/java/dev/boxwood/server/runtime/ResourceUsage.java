package dev.boxwood.server.runtime;

/** A sample of a sandbox's resource use; CPU is cumulative so callers derive percentages from two samples. */
public record ResourceUsage(long cpuUsageNanos, int cpuCount, long memUsedBytes, long memTotalBytes,
                            long memCacheBytes, long diskUsedBytes, long diskTotalBytes) {}
