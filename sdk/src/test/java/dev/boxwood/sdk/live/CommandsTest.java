package dev.boxwood.sdk.live;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxwood.sdk.TimeoutException;
import dev.boxwood.sdk.commands.CommandExitException;
import dev.boxwood.sdk.commands.CommandHandle;
import dev.boxwood.sdk.commands.CommandOptions;
import dev.boxwood.sdk.commands.CommandResult;
import dev.boxwood.sdk.commands.ProcessInfo;
import dev.boxwood.sdk.commands.PtyOptions;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Commands and terminals against a real sandbox. */
@Tag("sandbox")
class CommandsTest extends SandboxPerClass {
    @Test
    void foregroundRunStreamsOutputToCallbacks() {
        List<String> out = new CopyOnWriteArrayList<>();
        List<String> err = new CopyOnWriteArrayList<>();
        CommandResult r = sandbox.commands().run("for i in 1 2 3; do echo out$i; echo err$i >&2; done",
                CommandOptions.builder().onStdout(out::add).onStderr(err::add).build());
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).isEqualTo("out1\nout2\nout3\n");
        assertThat(r.stderr()).isEqualTo("err1\nerr2\nerr3\n");
        assertThat(String.join("", out)).isEqualTo(r.stdout());
        assertThat(String.join("", err)).isEqualTo(r.stderr());
    }

    @Test
    void environmentWorkingDirectoryAndUser() {
        CommandResult r = sandbox.commands().run("echo $FOO:$(pwd):$(whoami):$HOME",
                CommandOptions.builder().env("FOO", "bar").cwd("/tmp").build());
        assertThat(r.stdout()).isEqualTo("bar:/tmp:user:/home/user\n");
        // Per-call variables do not leak into later commands.
        assertThat(sandbox.commands().run("echo \"[$FOO]\"").stdout()).isEqualTo("[]\n");
        assertThat(sandbox.commands().run("whoami; echo $HOME", CommandOptions.builder().user("root").build()).stdout())
                .isEqualTo("root\n/root\n");
    }

    @Test
    void nonZeroExitThrowsWithTheOutput() {
        assertThatThrownBy(() -> sandbox.commands().run("echo partial; echo broken >&2; exit 3"))
                .isInstanceOfSatisfying(CommandExitException.class, e -> {
                    assertThat(e.exitCode()).isEqualTo(3);
                    assertThat(e.stdout()).isEqualTo("partial\n");
                    assertThat(e.stderr()).isEqualTo("broken\n");
                    assertThat(e.getMessage()).contains("3").contains("broken");
                });
    }

    @Test
    void longRunningBackgroundCommandIsListedReconnectedAndKilled() {
        CommandHandle handle = sandbox.commands().runBackground(
                "echo started; while true; do echo tick; sleep 0.2; done",
                CommandOptions.builder().timeout(Duration.ZERO).build());
        assertThat(handle.pid()).isPositive();
        assertThat(sandbox.commands().list()).extracting(ProcessInfo::pid).contains(handle.pid());
        ProcessInfo info = sandbox.commands().list().stream().filter(p -> p.pid() == handle.pid()).findFirst().orElseThrow();
        assertThat(info.args()).contains("-c");

        // A second client attaches to the same process and sees its further output.
        List<String> seen = new CopyOnWriteArrayList<>();
        CommandHandle attached = sandbox.commands().connect(handle.pid(),
                CommandOptions.builder().onStdout(seen::add).timeout(Duration.ZERO).build());
        LifecycleTest.waitUntil(() -> String.join("", seen).contains("tick"), Duration.ofSeconds(30));
        assertThat(String.join("", seen)).contains("tick");

        assertThat(handle.kill()).isTrue();
        CommandResult result = handle.awaitResult();
        assertThat(result.exitCode()).isNotZero();
        assertThat(result.stdout()).startsWith("started\ntick\n");
        assertThat(attached.awaitResult().exitCode()).isEqualTo(result.exitCode());
        assertThat(handle.isRunning()).isFalse();
        assertThat(sandbox.commands().list()).extracting(ProcessInfo::pid).doesNotContain(handle.pid());
        assertThat(sandbox.commands().kill(handle.pid())).isFalse();
    }

    @Test
    void stdinCanBeWrittenAndClosed() {
        CommandHandle cat = sandbox.commands().runBackground("cat | tr a-z A-Z", CommandOptions.builder().stdin(true).build());
        cat.sendStdin("hello ");
        cat.sendStdin("stdin\n".getBytes(StandardCharsets.UTF_8));
        cat.closeStdin();
        assertThat(cat.waitFor().stdout()).isEqualTo("HELLO STDIN\n");
    }

    @Test
    void commandOutlivingItsTimeoutIsStopped() {
        assertThatThrownBy(() -> sandbox.commands().run("sleep 60",
                CommandOptions.builder().timeout(Duration.ofSeconds(1)).build()))
                .isInstanceOf(TimeoutException.class);
        LifecycleTest.waitUntil(() -> sandbox.commands().list().stream().noneMatch(p -> p.args().contains("sleep 60")),
                Duration.ofSeconds(30));
        assertThat(sandbox.commands().list()).noneMatch(p -> p.args().contains("sleep 60"));
    }

    @Test
    void ptyRunsAnInteractiveShell() {
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        CommandHandle term = sandbox.pty().create(PtyOptions.of(100, 30, bytes -> {
            synchronized (output) {
                output.writeBytes(bytes);
            }
        }).withTimeout(Duration.ZERO));
        sandbox.pty().resize(term.pid(), 120, 40);
        sandbox.pty().sendInput(term.pid(), "echo $((6*7)); stty size\n");
        LifecycleTest.waitUntil(() -> text(output).contains("40 120"), Duration.ofSeconds(30));
        assertThat(text(output)).contains("42").contains("40 120");
        sandbox.pty().sendInput(term.pid(), "exit 5\n");
        assertThat(term.awaitResult().exitCode()).isEqualTo(5);

        CommandHandle second = sandbox.pty().create(PtyOptions.of(80, 24, bytes -> { }));
        assertThat(sandbox.pty().kill(second.pid())).isTrue();
        assertThat(second.awaitResult().exitCode()).isNotZero();
        assertThat(sandbox.pty().kill(second.pid())).isFalse();
    }

    private static String text(ByteArrayOutputStream out) {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }
}
