package dev.boxwood.protocol.envd.process;

import com.fasterxml.jackson.annotation.JsonInclude;

/** process.ProcessEvent: oneof start, data, end or keepalive; exactly one is non-null. */
public record ProcessEvent(StartEvent start, DataEvent data, EndEvent end,
                           @JsonInclude(JsonInclude.Include.NON_NULL) KeepAlive keepalive) {
    public static ProcessEvent ofStart(int pid) {
        return new ProcessEvent(new StartEvent(pid), null, null, null);
    }

    public static ProcessEvent ofData(DataEvent data) {
        return new ProcessEvent(null, data, null, null);
    }

    public static ProcessEvent ofEnd(EndEvent end) {
        return new ProcessEvent(null, null, end, null);
    }

    public static ProcessEvent ofKeepalive() {
        return new ProcessEvent(null, null, null, new KeepAlive());
    }
}
