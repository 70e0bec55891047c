package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CrunRuntimeTest {

    static CrunRuntime runtime;
    static CrunRuntime.Config config;

    @BeforeAll
    static void setUp() {
        String missing = TestSandboxes.missingPrerequisite();
        assumeTrue(missing == null, missing);
        config = TestSandboxes.stubConfig();
        runtime = new CrunRuntime(config);
    }

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

    @AfterAll
    static void tearDown() {
        TestSandboxes.cleanUp(runtime, config);
    }
}
