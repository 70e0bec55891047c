package dev.boxwood.protocol.envd.process;

/** process.ProcessSelector: oneof pid or tag. */
public record ProcessSelector(Integer pid, String tag) {
    public static ProcessSelector ofPid(int pid) {
        return new ProcessSelector(pid, null);
    }
}
