package dev.boxwood.server.runtime;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * Base of the tests on real sandboxes: one runtime per test class with private directories (see
 * {@link TestSandboxes#stubConfig()}), everything it created destroyed afterwards.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RealSandboxes {

    protected CrunRuntime runtime;
    protected CrunRuntime.Config config;

    /** The configuration this class runs with; the agent stand-in unless overridden. */
    protected CrunRuntime.Config configure() {
        return TestSandboxes.stubConfig();
    }

    @BeforeAll
    void createRuntime() {
        String missing = TestSandboxes.missingPrerequisite();
        assumeTrue(missing == null, missing);
        config = configure();
        runtime = new CrunRuntime(config);
    }

    @AfterAll
    void destroyEverything() {
        TestSandboxes.cleanUp(runtime, config);
    }

    protected HostCommand.Result sh(String id, String script) {
        return runtime.exec(id, List.of("/bin/bash", "-c", script));
    }
}
