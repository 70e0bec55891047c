package dev.boxwood.sdk;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.sdk.transport.Json;
import java.util.List;

/**
 * A sandbox's network rules, sent at creation.
 *
 * @param allowOut           destinations (CIDRs or host names) the sandbox may reach even when others are denied
 * @param denyOut            destinations the sandbox may not reach ({@code 0.0.0.0/0} denies everything)
 * @param allowPublicTraffic whether the sandbox's ports may be reached without the traffic token; null = default
 */
public record NetworkConfig(List<String> allowOut, List<String> denyOut, Boolean allowPublicTraffic) {
    public NetworkConfig {
        allowOut = List.copyOf(allowOut);
        denyOut = List.copyOf(denyOut);
    }

    /** No outgoing traffic at all. */
    public static NetworkConfig denyAllOutbound() {
        return new NetworkConfig(List.of(), List.of("0.0.0.0/0"), null);
    }

    ObjectNode toJson() {
        ObjectNode n = Json.object();
        if (!allowOut.isEmpty()) {
            allowOut.forEach(n.putArray("allowOut")::add);
        }
        if (!denyOut.isEmpty()) {
            denyOut.forEach(n.putArray("denyOut")::add);
        }
        if (allowPublicTraffic != null) {
            n.put("allowPublicTraffic", allowPublicTraffic);
        }
        return n;
    }
}
