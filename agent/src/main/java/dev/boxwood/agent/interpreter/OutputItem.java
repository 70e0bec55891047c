package dev.boxwood.agent.interpreter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** One line of the {@code /execute} NDJSON stream (E2B protocol §4.3). */
public sealed interface OutputItem {
    ObjectMapper JSON = new ObjectMapper();

    ObjectNode toJson();

    /** Bytes this item holds in memory while it waits to be written; what the flood limits count. */
    default long size() {
        return 64;
    }

    record Stdout(String text, String timestamp) implements OutputItem {
        public ObjectNode toJson() {
            return stream("stdout", text, timestamp);
        }

        public long size() {
            return 64L + 2L * text.length();
        }
    }

    record Stderr(String text, String timestamp) implements OutputItem {
        public ObjectNode toJson() {
            return stream("stderr", text, timestamp);
        }

        public long size() {
            return 64L + 2L * text.length();
        }
    }

    /** A display_data or execute_result, already mapped from MIME types to E2B's field names. */
    record Result(ObjectNode fields, long approximateBytes) implements OutputItem {
        public ObjectNode toJson() {
            return fields;
        }

        public long size() {
            return approximateBytes;
        }
    }

    record Error(String name, String value, String traceback) implements OutputItem {
        public ObjectNode toJson() {
            ObjectNode json = JSON.createObjectNode();
            json.put("type", "error");
            json.put("name", name);
            json.put("value", value);
            json.put("traceback", traceback);
            return json;
        }
    }

    record ExecutionCount(int count) implements OutputItem {
        public ObjectNode toJson() {
            ObjectNode json = JSON.createObjectNode();
            json.put("type", "number_of_executions");
            json.put("execution_count", count);
            return json;
        }
    }

    record Keepalive() implements OutputItem {
        public ObjectNode toJson() {
            return JSON.createObjectNode().put("type", "keepalive");
        }
    }

    record EndOfExecution() implements OutputItem {
        public ObjectNode toJson() {
            return JSON.createObjectNode().put("type", "end_of_execution");
        }
    }

    private static ObjectNode stream(String type, String text, String timestamp) {
        ObjectNode json = JSON.createObjectNode();
        json.put("type", type);
        json.put("text", text);
        json.put("timestamp", timestamp);
        return json;
    }
}
