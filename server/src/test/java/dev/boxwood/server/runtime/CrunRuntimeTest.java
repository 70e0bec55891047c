package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The basic life cycle: start, run something inside, destroy twice. */
class CrunRuntimeTest extends RealSandboxes {

    @Test
    void startsRunsAndDestroysWithoutTraces() {
        String id = TestSandboxes.newId();
        RunningSandbox sandbox = runtime.start(TestSandboxes.spec(id));
        try {
            assertThat(sandbox.address().getHostAddress()).startsWith("10.88.");
            HostCommand.Result idOut = runtime.exec(id, List.of("id"));
            assertThat(idOut.output()).contains("uid=0(root)");
            HostCommand.Result map = runtime.exec(id, List.of("cat", "/proc/self/uid_map"));
            assertThat(map.output().strip().split("\\s+")).containsExactly("0", "100000", "65536");
            assertThat(runtime.leftovers()).contains(id);
        } finally {
            runtime.destroy(id);
        }
        assertThat(runtime.leftovers()).doesNotContain(id);
        runtime.destroy(id); // idempotent
    }

}
