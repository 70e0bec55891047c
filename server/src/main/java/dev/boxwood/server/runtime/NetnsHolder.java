package dev.boxwood.server.runtime;

import dev.boxwood.server.network.NetworkAttachment;
import dev.boxwood.server.network.SandboxNetwork;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A sandbox network namespace created and wired before the OCI runtime runs, for gVisor with {@code --network=host},
 * which must be handed an existing namespace.
 */
final class NetnsHolder {

    private NetnsHolder() {}

    /** Creates the namespace with a short-lived holder process, attaches (and pins) it, and returns the attachment. */
    static NetworkAttachment wire(SandboxNetwork network, String id) throws IOException {
        Process holder = new ProcessBuilder("unshare", "--net", "sleep", "60").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
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
            return network.attach(id, holder.pid());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("interrupted while creating the network of " + id, e);
        } finally {
            holder.destroyForcibly();
        }
    }

    /** The namespace's path, for an OCI spec's {@code network} namespace entry. */
    static String path(NetworkAttachment net) {
        return net.netns().startsWith("/") ? net.netns() : "/run/netns/" + net.netns();
    }
}
