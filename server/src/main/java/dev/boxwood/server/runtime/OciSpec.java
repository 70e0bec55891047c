package dev.boxwood.server.runtime;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes a sandbox's OCI {@code config.json}: every namespace including a user namespace mapping root inside to an
 * unprivileged host range, cgroup v1 limits, the seccomp profile, no-new-privileges, a small capability set, masked
 * and read-only kernel paths, and read-only binds of the host JDK and the agent jar.
 */
public final class OciSpec {

    /** Capabilities of root inside the sandbox; notably no SYS_ADMIN, NET_ADMIN, NET_RAW, SYS_MODULE, SYS_PTRACE. */
    static final List<String> CAPABILITIES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
            "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
            "CAP_AUDIT_WRITE");

    static final List<String> MASKED = List.of("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
            "/sys/firmware", "/sys/devices/virtual/powercap", "/sys/kernel/debug", "/sys/kernel/security");

    static final List<String> READ_ONLY = List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger");

    /**
     * @param rootfs    the overlay mount the sandbox sees as {@code /}
     * @param hostname  the sandbox's hostname
     * @param args      process to run (tini + the agent in production)
     * @param env       process environment
     * @param cgroup    cgroup path, relative to each v1 controller's root
     * @param binds     host path → sandbox path, bound read-only
     * @param writable  host path → sandbox path, bound read-write (only for Boxwood's own training runs)
     */
    public record Input(Path rootfs, String hostname, List<String> args, Map<String, String> env, String cgroup,
                        int cpuCount, long memoryBytes, long pidsLimit, boolean noNewPrivileges,
                        Map<Path, String> binds, Map<Path, String> writable) {}

    private OciSpec() {}

    public static ObjectNode build(Input in) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode spec = f.objectNode();
        spec.put("ociVersion", "1.0.2");

        ObjectNode process = spec.putObject("process");
        process.put("terminal", false);
        ObjectNode user = process.putObject("user");
        user.put("uid", 0);
        user.put("gid", 0);
        ArrayNode args = process.putArray("args");
        in.args().forEach(args::add);
        ArrayNode env = process.putArray("env");
        in.env().forEach((k, v) -> env.add(k + "=" + v));
        process.put("cwd", "/");
        ObjectNode caps = process.putObject("capabilities");
        for (String set : List.of("bounding", "effective", "permitted")) {
            ArrayNode list = caps.putArray(set);
            CAPABILITIES.forEach(list::add);
        }
        caps.putArray("inheritable");
        caps.putArray("ambient");
        // No rlimits: inside the user namespace crun cannot raise a hard limit above what the server has, and the
        // server's own limits are sane (cgroup pids and memory are what bound a sandbox).
        process.put("noNewPrivileges", in.noNewPrivileges());

        ObjectNode root = spec.putObject("root");
        root.put("path", in.rootfs().toString());
        root.put("readonly", false);
        spec.put("hostname", in.hostname());

        ArrayNode mounts = spec.putArray("mounts");
        mount(mounts, "/proc", "proc", "proc", List.of("nosuid", "noexec", "nodev"));
        mount(mounts, "/dev", "tmpfs", "tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k"));
        mount(mounts, "/dev/pts", "devpts", "devpts",
                List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"));
        mount(mounts, "/dev/shm", "tmpfs", "shm", List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"));
        mount(mounts, "/dev/mqueue", "mqueue", "mqueue", List.of("nosuid", "noexec", "nodev"));
        mount(mounts, "/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", "ro"));
        mount(mounts, "/sys/fs/cgroup", "cgroup", "cgroup", List.of("nosuid", "noexec", "nodev", "relatime", "ro"));
        in.binds().forEach((host, inside) -> mount(mounts, inside, "bind", host.toString(),
                List.of("rbind", "ro", "nosuid", "nodev")));
        in.writable().forEach((host, inside) -> mount(mounts, inside, "bind", host.toString(),
                List.of("rbind", "rw", "nosuid", "nodev")));

        ObjectNode linux = spec.putObject("linux");
        ArrayNode namespaces = linux.putArray("namespaces");
        for (String ns : List.of("pid", "network", "ipc", "uts", "mount", "cgroup", "user")) {
            namespaces.addObject().put("type", ns);
        }
        for (String field : List.of("uidMappings", "gidMappings")) {
            ObjectNode mapping = linux.putArray(field).addObject();
            mapping.put("containerID", 0);
            mapping.put("hostID", 100_000);
            mapping.put("size", 65_536);
        }
        linux.put("cgroupsPath", in.cgroup());
        ObjectNode resources = linux.putObject("resources");
        ObjectNode denyDevices = resources.putArray("devices").addObject();
        denyDevices.put("allow", false);
        denyDevices.put("access", "rwm");
        ObjectNode memory = resources.putObject("memory");
        memory.put("limit", in.memoryBytes());
        memory.put("swap", in.memoryBytes()); // memory+swap: no swap on top of the limit
        ObjectNode cpu = resources.putObject("cpu");
        cpu.put("period", 100_000);
        cpu.put("quota", 100_000L * Math.max(1, in.cpuCount()));
        resources.putObject("pids").put("limit", in.pidsLimit());
        linux.set("seccomp", SeccompProfile.json());
        ArrayNode masked = linux.putArray("maskedPaths");
        MASKED.forEach(masked::add);
        ArrayNode readonly = linux.putArray("readonlyPaths");
        READ_ONLY.forEach(readonly::add);
        return spec;
    }

    private static void mount(ArrayNode mounts, String destination, String type, String source, List<String> options) {
        ObjectNode mount = mounts.addObject();
        mount.put("destination", destination);
        mount.put("type", type);
        mount.put("source", source);
        ArrayNode opts = mount.putArray("options");
        options.forEach(opts::add);
    }
}
