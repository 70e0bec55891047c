package dev.boxwood.sdk.live;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.boxwood.sdk.Sandbox;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/** One sandbox shared by a test class's tests (each test works in its own paths), killed after the last. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class SandboxPerClass {
    protected Sandbox sandbox;

    /** The template the class's sandbox is created from. */
    protected String template() {
        return Sandbox.DEFAULT_TEMPLATE;
    }

    @BeforeAll
    void createSandbox() {
        LiveServer live = LiveServer.get();
        assumeTrue(LiveServer.templateBuilt(template()), "template " + template() + " is not built");
        sandbox = Sandbox.builder().config(live.config()).template(template()).timeout(Duration.ofMinutes(10)).create();
    }

    @AfterAll
    void killSandbox() {
        if (sandbox != null) {
            sandbox.kill();
        }
    }
}
