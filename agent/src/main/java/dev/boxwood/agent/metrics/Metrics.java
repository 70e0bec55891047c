package dev.boxwood.agent.metrics;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * envd's {@code GET /metrics}: CPU, memory and disk of the sandbox. Inside a sandbox the cgroup namespace makes
 * {@code /sys/fs/cgroup} the sandbox's own cgroup, so its figures are the sandbox's; cgroup v2 and v1 layouts are
 * both read, with /proc as the fallback. CPU use is measured between consecutive calls.
 */
public final class Metrics {
    private static final Path CG = Path.of("/sys/fs/cgroup");

    private final Path disk;
    private long lastCpuNanos;
    private long lastWallNanos;

    public Metrics(Path disk) {
        this.disk = disk;
        this.lastCpuNanos = cpuNanos();
        this.lastWallNanos = System.nanoTime();
    }

    public synchronized Map<String, Object> sample() {
        int cpus = Runtime.getRuntime().availableProcessors();
        long cpu = cpuNanos();
        long wall = System.nanoTime();
        double pct = 0;
        if (cpu >= 0 && lastCpuNanos >= 0 && wall > lastWallNanos) {
            pct = 100.0 * (cpu - lastCpuNanos) / (double) (wall - lastWallNanos) / cpus;
            pct = Math.max(0, Math.min(100, Math.round(pct * 100) / 100.0));
        }
        lastCpuNanos = cpu;
        lastWallNanos = wall;

        Map<String, Long> meminfo = keyed(Path.of("/proc/meminfo"), 1024);
        long hostTotal = meminfo.getOrDefault("MemTotal:", 0L);
        long limit = firstNumber(CG.resolve("memory.max"), CG.resolve("memory/memory.limit_in_bytes"));
        long total = limit > 0 && limit < hostTotal ? limit : hostTotal;
        long usage = firstNumber(CG.resolve("memory.current"), CG.resolve("memory/memory.usage_in_bytes"));
        Map<String, Long> stat = keyed(Files.exists(CG.resolve("memory.stat")) ? CG.resolve("memory.stat")
                : CG.resolve("memory/memory.stat"), 1);
        long used;
        long cache;
        if (usage > 0) {
            long inactive = stat.getOrDefault("inactive_file", stat.getOrDefault("total_inactive_file", 0L));
            used = Math.max(0, usage - inactive);
            cache = stat.getOrDefault("file", stat.getOrDefault("total_cache", stat.getOrDefault("cache", 0L)));
        } else {
            used = hostTotal - meminfo.getOrDefault("MemAvailable:", hostTotal);
            cache = meminfo.getOrDefault("Cached:", 0L);
        }
        used = Math.min(used, total);

        long diskTotal = 0;
        long diskUsed = 0;
        try {
            FileStore store = Files.getFileStore(disk);
            diskTotal = store.getTotalSpace();
            diskUsed = diskTotal - store.getUnallocatedSpace();
        } catch (IOException ignored) {
            // no figure rather than a failed request
        }

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("ts", System.currentTimeMillis() / 1000);
        out.put("cpu_count", cpus);
        out.put("cpu_used_pct", pct);
        out.put("mem_total", total);
        out.put("mem_used", used);
        out.put("mem_cache", cache);
        out.put("mem_total_mib", total >> 20);
        out.put("mem_used_mib", used >> 20);
        out.put("disk_used", diskUsed);
        out.put("disk_total", diskTotal);
        return out;
    }

    /** CPU time used by the cgroup (or, failing that, the whole machine), in nanoseconds; -1 when unknown. */
    private static long cpuNanos() {
        Map<String, Long> stat = keyed(CG.resolve("cpu.stat"), 1);
        if (stat.containsKey("usage_usec")) return stat.get("usage_usec") * 1000;
        long v1 = firstNumber(CG.resolve("cpuacct/cpuacct.usage"), CG.resolve("cpu,cpuacct/cpuacct.usage"));
        if (v1 > 0) return v1;
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i < f.length && i <= 8; i++) if (i != 4 && i != 5) busy += Long.parseLong(f[i]);
            return busy * 10_000_000L; // USER_HZ is 100 on Linux
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static long firstNumber(Path... candidates) {
        for (Path p : candidates) {
            try {
                String s = Files.readString(p).trim();
                if (s.equals("max")) return Long.MAX_VALUE;
                return Long.parseLong(s);
            } catch (IOException | NumberFormatException ignored) {
                // try the next layout
            }
        }
        return -1;
    }

    /** "key value [unit]" lines, values times {@code scale}. */
    private static Map<String, Long> keyed(Path file, long scale) {
        Map<String, Long> out = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(file)) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 2) continue;
                try {
                    out.put(f[0], Long.parseLong(f[1]) * scale);
                } catch (NumberFormatException ignored) {
                    // not a number: skip
                }
            }
        } catch (IOException ignored) {
            // missing in this layout
        }
        return out;
    }
}
