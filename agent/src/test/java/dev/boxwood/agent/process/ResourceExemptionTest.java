package dev.boxwood.agent.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the bounding set decides whether the agent touches its capabilities at all (runsc) or not (crun, runc). */
class ResourceExemptionTest {
    @TempDir
    Path dir;

    @Test
    void findsCapSysResourceInTheBoundingSetOnlyWhenItsBitIsSet() throws Exception {
        // crun's set for Boxwood's sandboxes (no CAP_SYS_RESOURCE), then the same with bit 24, as runsc's spec has it
        Path crun = status("00000000a80425fb");
        Path runsc = status(Long.toHexString(0xa80425fbL | (1L << 24)));
        assertThat(ResourceExemption.inBoundingSet(crun, ResourceExemption.CAP_SYS_RESOURCE)).isFalse();
        assertThat(ResourceExemption.inBoundingSet(runsc, ResourceExemption.CAP_SYS_RESOURCE)).isTrue();
        assertThat(ResourceExemption.inBoundingSet(status("000001ffffffffff"), 40)).isTrue();
    }

    @Test
    void anUnreadableOrOddStatusMeansNotHeld() throws Exception {
        assertThat(ResourceExemption.inBoundingSet(dir.resolve("missing"), ResourceExemption.CAP_SYS_RESOURCE))
                .isFalse();
        assertThat(ResourceExemption.inBoundingSet(status("zz"), ResourceExemption.CAP_SYS_RESOURCE)).isFalse();
        Path none = Files.writeString(dir.resolve("none"), "Name:\tjava\nCapEff:\tffffffffff\n");
        assertThat(ResourceExemption.inBoundingSet(none, ResourceExemption.CAP_SYS_RESOURCE)).isFalse();
    }

    private Path status(String capBnd) throws Exception {
        return Files.writeString(Files.createTempFile(dir, "status", ""),
                "Name:\tjava\nCapInh:\t0000000000000000\nCapBnd:\t" + capBnd + "\nCapAmb:\t0000000000000000\n");
    }
}
