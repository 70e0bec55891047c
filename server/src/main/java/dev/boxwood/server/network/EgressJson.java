package dev.boxwood.server.network;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * E2B's wire forms of outbound rules: {@code allow_internet_access} plus {@code network.allowOut/denyOut} on create,
 * and {@code SandboxNetworkUpdateConfig} on {@code PUT /sandboxes/{id}/network}, where an omitted field clears it.
 * Errors are IllegalArgumentExceptions whose message is fit for the client.
 */
public final class EgressJson {

    private EgressJson() {}

    public static EgressRules create(Boolean allowInternetAccess, JsonNode network) {
        if (network == null || network.isNull() || network.isMissingNode()) {
            return EgressRules.parse(allowInternetAccess, null, null);
        }
        return EgressRules.parse(allowInternetAccess, strings(network, "allowOut", "network."),
                strings(network, "denyOut", "network."));
    }

    public static EgressRules update(JsonNode body) {
        if (body == null || body.isNull()) return EgressRules.OPEN;
        if (!body.isObject()) throw new IllegalArgumentException("request body must be a JSON object");
        for (String unsupported : List.of("egressProxy", "rules")) {
            JsonNode v = body.get(unsupported);
            if (v != null && !v.isNull() && !(v.isContainerNode() && v.isEmpty())) {
                throw new IllegalArgumentException(unsupported + " is not supported by this server");
            }
        }
        JsonNode internet = body.get("allow_internet_access");
        if (internet != null && !internet.isNull() && !internet.isBoolean()) {
            throw new IllegalArgumentException("allow_internet_access must be a boolean");
        }
        Boolean allow = internet == null || internet.isNull() ? null : internet.asBoolean();
        return EgressRules.parse(allow, strings(body, "allowOut", ""), strings(body, "denyOut", ""));
    }

    private static List<String> strings(JsonNode parent, String field, String prefix) {
        JsonNode v = parent.get(field);
        if (v == null || v.isNull()) return List.of();
        if (!v.isArray()) throw new IllegalArgumentException(prefix + field + " must be an array of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) throw new IllegalArgumentException(prefix + field + " must be an array of strings");
            out.add(e.asText());
        }
        return out;
    }
}
