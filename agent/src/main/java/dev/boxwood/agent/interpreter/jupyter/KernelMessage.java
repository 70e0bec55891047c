package dev.boxwood.agent.interpreter.jupyter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One Jupyter message as it travels on a channel (protocol 5.3). The parts stay as JSON trees because kernels
 * put arbitrary, kernel-specific data in them.
 */
public record KernelMessage(Channel channel, ObjectNode header, JsonNode parentHeader, JsonNode metadata,
                            JsonNode content) {

    public enum Channel { SHELL, IOPUB, CONTROL }

    public String msgType() {
        return header.path("msg_type").asText("");
    }

    public String msgId() {
        return header.path("msg_id").asText("");
    }

    /** The id of the request this message answers, or "" when it answers none. */
    public String parentId() {
        return parentHeader == null ? "" : parentHeader.path("msg_id").asText("");
    }

    /** The ISO date of the message as the kernel stamped it (used for stream timestamps). */
    public String date() {
        return header.path("date").asText("");
    }
}
