package dev.boxwood.server.runtime;

import dev.boxwood.server.network.NetworkAttachment;
import dev.boxwood.server.network.SandboxNetwork;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A sandbox network namespace created and wired before the OCI runtime runs, for runtimes that must be handed an
 * existing namespace: gVisor with {@code --network=host}, and runc so that a checkpoint leaves the namespace (address,
 * veth, firewall chains) in place and the restore joins it again.
 */
final class NetnsHolder {

    private NetnsHolder() {}

    /** Creates the namespace with a short-lived holder process, attaches (and pins) it, and returns the attachment. */
    static NetworkAttachment wire(SandboxNetwork network, String id) throws IOException {
        return wire(network, id, null);
    }

    /**
     * Same, with the namespace owned by a user namespace of its own (root inside = host uid 100000, as in the OCI
     * spec), pinned by a bind mount at {@code usernsPin}: the sandbox joins both. CRIU only dumps namespaces that
     * belong to the sandbox's user namespace, and a fresh sysfs needs that too.
     */
    static NetworkAttachment wire(SandboxNetwork network, String id, Path usernsPin) throws IOException {
        ProcessBuilder builder = usernsPin == null ? new ProcessBuilder("unshare", "--net", "sleep", "60")
                : new ProcessBuilder("unshare", "--user", "--net", "sleep", "60");
        Process holder = builder.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            // unshare execs sleep in the new namespace; wait until the holder is no longer in ours.
            String ours = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
            Path theirs = Path.of("/proc/" + holder.pid() + "/ns/net");
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (ours.equals(Files.readSymbolicLink(theirs).toString())) {
                if (!holder.isAlive() || System.nanoTime() > deadline) {
                    throw new RuntimeFailure("cannot create the network namespace of " + id);
                }
                Thread.sleep(2);
            }
            if (usernsPin != null) {
                // The maps are written from here (root outside): newuidmap would want /etc/subuid entries.
                Path proc = Path.of("/proc/" + holder.pid());
                Files.writeString(proc.resolve("uid_map"), "0 100000 65536\n");
                Files.writeString(proc.resolve("gid_map"), "0 100000 65536\n");
                Files.createDirectories(usernsPin.getParent());
                Files.writeString(usernsPin, "");
                HostCommand.check(java.util.List.of("mount", "--bind", "/proc/" + holder.pid() + "/ns/user",
                        usernsPin.toString()));
            }
            return network.attach(id, holder.pid());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("interrupted while creating the network of " + id, e);
        } finally {
            holder.destroyForcibly();
        }
    }

    /** Unpins a user namespace pinned by {@link #wire(SandboxNetwork, String, Path)}; safe to repeat. */
    static void unpin(Path usernsPin) {
        if (Files.exists(usernsPin)) {
            HostCommand.run(java.util.List.of("umount", usernsPin.toString()));
            try {
                Files.deleteIfExists(usernsPin);
            } catch (IOException e) {
                throw new RuntimeFailure("cannot remove " + usernsPin + ": " + e.getMessage(), e);
            }
        }
    }

    /** The namespace's path, for an OCI spec's {@code network} namespace entry. */
    static String path(NetworkAttachment net) {
        return net.netns().startsWith("/") ? net.netns() : "/run/netns/" + net.netns();
    }
}
