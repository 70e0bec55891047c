package dev.boxwood.server.runtime;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.server.network.NetworkAttachment;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Sandboxes run by gVisor's {@code runsc}: the sandbox's processes talk to gVisor's own kernel (the Sentry), not the
 * host's, so a kernel bug reachable from inside no longer means the host. Same bundle layout, overlay disk, cgroup
 * limits and veth + nft network as {@link CrunRuntime}.
 *
 * <p>Two choices forced by the runsc of Debian bookworm-backports (20240729) on this kernel: its own netstack
 * ({@code --network=sandbox}) refuses every namespace as "root network namespace" (it probes a sysctl that newer
 * kernels show in every netns), so it runs with {@code --network=host} inside a network namespace Boxwood creates
 * and wires before {@code runsc create} — the sandbox still sees only its veth, behind the same firewall. And the
 * platform is {@code systrap}: KVM needs VMX/SVM, which this host lacks. The spec keeps the user namespace mapping
 * so the template's files (owned by the host range from 100000) appear with their own owners inside.
 *
 * <p>No gVisor overlay on the root ({@code --overlay2=none}; its default, {@code root:self}, keeps the root's upper
 * layer in the Sentry, file data in a file on the sandbox's disk): the root is Boxwood's overlay on the sandbox's own
 * disk, as with crun, so that the disk's size and inode limits hold. With gVisor's overlay, files without data cost
 * the Sentry memory instead, and a sandbox making millions of empty files died of its memory limit rather than
 * getting ENOSPC (the hostile suite's inode test).
 *
 * <p>A per-user process limit inside gVisor ({@link #tasksPerUser}), below what the cgroup's pids limit allows. The
 * host counts gVisor's own processes against that limit (the Sentry's threads, and a systrap stub process and thread
 * per address space), not the sandbox's; when it refuses the Sentry a thread, the Sentry exits (gVisor issue 2490),
 * so a fork bomb that reached it would end its whole sandbox. gVisor enforces RLIMIT_NPROC itself, per user and
 * without exemption for uid 0 (only for CAP_SYS_ADMIN or CAP_SYS_RESOURCE): the bomb gets EAGAIN and the sandbox
 * carries on, as on crun and runc. The agent alone keeps CAP_SYS_RESOURCE, so that it still starts threads and
 * commands while a bomb run as root holds every place root has; nothing it starts gets it.
 */
public final class RunscRuntime extends OciRuntime {

    public RunscRuntime(Config config) {
        super(config, "runsc");
    }

    @Override
    List<String> oci(String... args) {
        List<String> command = new ArrayList<>(List.of("runsc", "--root", root.toString(),
                "--platform=systrap", "--network=host", "--overlay2=none"));
        command.addAll(List.of(args));
        return command;
    }

    /**
     * The network namespace exists and is wired before runsc sees it: with --network=host gVisor uses the
     * interfaces of the namespace it starts in. A short-lived holder process creates it; the pin keeps it.
     */
    @Override
    NetworkAttachment wireBeforeCreate(String id, SandboxDisk disk) throws IOException {
        return NetnsHolder.wire(network, id);
    }

    @Override
    void adaptSpec(ObjectNode oci, String id, NetworkAttachment wired) {
        ObjectNode linux = (ObjectNode) oci.get("linux");
        for (var ns : (ArrayNode) linux.get("namespaces")) {
            if ("network".equals(ns.path("type").asText())) {
                ((ObjectNode) ns).put("path", NetnsHolder.path(wired));
            }
        }
        // gVisor's kernel filters system calls itself; the host profile is for runc-style runtimes.
        linux.remove("seccomp");
        ObjectNode process = (ObjectNode) oci.get("process");
        // gVisor's SO_PEERCRED reports the credentials of the process asking, not of the peer: the agent's sudo
        // service, which trusts it to know its caller, must not run (it would take anyone for root).
        ((ArrayNode) process.get("env")).add("BOXWOOD_SUDO=off");
        long tasks = tasksPerUser(config.pidsLimit());
        process.putArray("rlimits").addObject().put("type", "RLIMIT_NPROC").put("hard", tasks).put("soft", tasks);
        // The one exemption from that limit, for the agent: it drops it from its bounding set at start, so that what
        // it runs as root cannot have it (the agent's ResourceExemption).
        for (String set : List.of("bounding", "effective", "permitted")) {
            ((ArrayNode) process.get("capabilities").get(set)).add("CAP_SYS_RESOURCE");
        }
    }

    /**
     * RLIMIT_NPROC for each user inside gVisor, from the host's pids limit: measured here, every gVisor process costs
     * the host two pids (systrap's stub process and its thread; threads cost none) and the Sentry itself a few dozen.
     * So two users at their limit, root (the agent, and whatever runs as root) and the sandbox's user, stay below the
     * host's limit with 128 pids to spare for the Sentry. A sandbox's root spreading processes over more user ids
     * can still reach the host's limit, and then ends only its own sandbox.
     */
    public static long tasksPerUser(long pidsLimit) {
        return Math.max(16, (pidsLimit - 128) / 4);
    }

    @Override
    String label() {
        return "gVisor";
    }

    @Override
    void kill(String id) {
        HostCommand.run(oci("resume", id)); // a paused sandbox would not act on the kill
        HostCommand.run(oci("kill", "--all", id, "KILL"));
    }

    @Override
    String quietFlag() {
        return "-quiet";
    }

    /** Runs a command inside a running sandbox with {@code runsc exec} (tests and diagnostics, not the API path). */
    public HostCommand.Result exec(String sandboxId, List<String> command) {
        List<String> full = oci("exec", sandboxId);
        full.addAll(command);
        return HostCommand.runWithin(full, 2, TimeUnit.MINUTES);
    }
}
