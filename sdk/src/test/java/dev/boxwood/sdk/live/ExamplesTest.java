package dev.boxwood.sdk.live;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The basic examples run as programs against the live server and print what they promise. */
@Tag("sandbox")
class ExamplesTest {
    private final LiveServer live = LiveServer.get();

    @Test
    void helloSandbox() throws Exception {
        ExampleProgram.Outcome run = ExampleProgram.run("HelloSandbox.java", live.config(), Map.of());
        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.output()).contains("exit code 0", "read back: Hello from Java", "/home/user/notes/hello.txt",
                "uid=1000(user)");
    }

    @Test
    void backgroundProcess() throws Exception {
        ExampleProgram.Outcome run = ExampleProgram.run("BackgroundProcess.java", live.config(), Map.of());
        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.output()).contains("HELLO FROM THE HOST", "tr exited with 0", "report.txt", "killed, exit code");
    }
}
