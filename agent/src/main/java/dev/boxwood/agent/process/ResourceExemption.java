package dev.boxwood.agent.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps CAP_SYS_RESOURCE, where the runtime grants it, to the agent alone. On gVisor the sandbox's processes are
 * held to a per-user process limit (RLIMIT_NPROC), and only that capability exempts a task from it: with it the
 * agent, which runs as root, can still start threads and commands while a fork bomb run as root holds every place
 * root has. Dropping it from the bounding set leaves the agent's own threads with it but means nothing the agent
 * starts (root's commands, sudo) gets it back on exec, so their forks stay limited. Runtimes that do not grant it
 * (crun, runc) make this a no-op, without loading native code on the start path.
 */
public final class ResourceExemption {
    private static final Logger LOG = LoggerFactory.getLogger(ResourceExemption.class);
    static final int CAP_SYS_RESOURCE = 24;
    private static final int PR_CAPBSET_DROP = 24;

    private ResourceExemption() {}

    /** Drops CAP_SYS_RESOURCE from the bounding set if the agent holds it; the agent's threads keep it. */
    public static void keepToTheAgent() {
        if (!inBoundingSet(Path.of("/proc/self/status"), CAP_SYS_RESOURCE)) return;
        if (LibC.INSTANCE.prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0) != 0) {
            // The agent's children would keep the exemption: say so rather than run on silently.
            LOG.warn("could not drop CAP_SYS_RESOURCE from the bounding set: processes run as root are not limited");
        }
    }

    /** Whether {@code CapBnd} in a {@code /proc/<pid>/status} file has the capability's bit. */
    static boolean inBoundingSet(Path status, int capability) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("CapBnd:")) {
                    return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << capability)) != 0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return false;
        }
        return false;
    }
}
