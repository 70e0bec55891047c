package dev.boxwood.server.runtime;

import java.net.InetAddress;
import java.net.URI;

/**
 * A booted sandbox as the host sees it.
 *
 * @param sandboxId the id it was started with
 * @param address   the sandbox's address on its veth, reachable from the host (and only from the host)
 * @param pid       host pid of the sandbox's init process
 * @param initToken one-time secret the agent requires on {@code POST /init}
 */
public record RunningSandbox(String sandboxId, InetAddress address, long pid, String initToken) {

    /** Base URI of a port inside the sandbox, e.g. {@code http://10.88.0.2:49983}. */
    public URI uri(int port) {
        return URI.create("http://" + address.getHostAddress() + ":" + port);
    }

    public URI agentUri() {
        return uri(dev.boxwood.protocol.Ports.AGENT);
    }
}
