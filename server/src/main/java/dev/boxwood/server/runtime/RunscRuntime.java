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
