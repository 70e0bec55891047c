package dev.boxwood.sdk.live;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxwood.sdk.TimeoutException;
import dev.boxwood.sdk.code.CodeContext;
import dev.boxwood.sdk.code.Execution;
import dev.boxwood.sdk.code.ExecutionError;
import dev.boxwood.sdk.code.Result;
import dev.boxwood.sdk.code.RunCodeOptions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** runCode and code contexts against a real code-interpreter sandbox. */
@Tag("sandbox")
class CodeInterpreterTest extends SandboxPerClass {
    static final String TEMPLATE = "code-interpreter-v1";

    @Override
    protected String template() {
        return TEMPLATE;
    }

    @Test
    void lastExpressionIsTheMainResult() {
        Execution e = sandbox.runCode("1 + 1");
        assertThat(e.text()).isEqualTo("2");
        assertThat(e.error()).isNull();
        assertThat(e.executionCount()).isPositive();
        assertThat(e.results()).singleElement().satisfies(r -> assertThat(r.isMainResult()).isTrue());
    }

    @Test
    void pythonKernelRunsWithoutIpykernelsDebuggerButUserCodeCanImportIt() {
        // The template has debugpy; the agent starts ipykernel with the debugger left out (memory), and user code
        // must still be able to import it.
        assertThat(sandbox.runCode("import sys; ('IPython' in sys.modules, 'debugpy' in sys.modules)").text())
                .isEqualTo("(True, False)");
        assertThat(sandbox.runCode("import debugpy; debugpy.__name__").text()).isEqualTo("debugpy");
        assertThat(sandbox.runCode("import os, sys; sys.path[0] == os.getcwd()").text()).isEqualTo("True");
    }

    @Test
    void outputStreamsToCallbacksAndLogs() {
        List<String> out = new CopyOnWriteArrayList<>();
        List<String> err = new CopyOnWriteArrayList<>();
        Execution e = sandbox.runCode("import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)",
                RunCodeOptions.builder().onStdout(out::add).onStderr(err::add).build());
        assertThat(String.join("", e.logs().stdout())).isEqualTo("to stdout\n");
        assertThat(String.join("", e.logs().stderr())).isEqualTo("to stderr\n");
        assertThat(out).isEqualTo(e.logs().stdout());
        assertThat(err).isEqualTo(e.logs().stderr());
    }

    @Test
    void errorsInTheCodeAreReturnedNotThrown() {
        List<ExecutionError> seen = new CopyOnWriteArrayList<>();
        Execution e = sandbox.runCode("1 / 0", RunCodeOptions.builder().onError(seen::add).build());
        assertThat(e.error()).isNotNull();
        assertThat(e.error().name()).isEqualTo("ZeroDivisionError");
        assertThat(e.error().traceback()).contains("ZeroDivisionError");
        assertThat(seen).containsExactly(e.error());
    }

    @Test
    void stateLivesPerContextAndRestartClearsIt() {
        sandbox.runCode("shared_value = 21");
        assertThat(sandbox.runCode("shared_value * 2").text()).isEqualTo("42");

        CodeContext ctx = sandbox.createCodeContext("python", "/tmp");
        assertThat(sandbox.listCodeContexts()).extracting(CodeContext::id).contains(ctx.id());
        RunCodeOptions inCtx = RunCodeOptions.builder().context(ctx).build();
        assertThat(sandbox.runCode("shared_value", inCtx).error().name()).isEqualTo("NameError");
        assertThat(sandbox.runCode("import os; os.getcwd()", inCtx).text()).isEqualTo("/tmp");

        sandbox.runCode("mine = 1", inCtx);
        sandbox.restartCodeContext(ctx);
        assertThat(sandbox.runCode("mine", inCtx).error().name()).isEqualTo("NameError");

        sandbox.removeCodeContext(ctx);
        assertThat(sandbox.listCodeContexts()).extracting(CodeContext::id).doesNotContain(ctx.id());
    }

    @Test
    void perExecutionEnvironmentVariables() {
        Execution e = sandbox.runCode("import os; os.environ.get('SDK_VAR')",
                RunCodeOptions.builder().env("SDK_VAR", "from-java").build());
        assertThat(e.text()).isEqualTo("from-java");
        assertThat(sandbox.runCode("import os; os.environ.get('SDK_VAR', 'unset')").text()).isEqualTo("unset");
    }

    @Test
    void languageSelectsThatLanguagesDefaultContext() {
        Execution bash = sandbox.runCode("echo from-bash", RunCodeOptions.builder().language("bash").build());
        assertThat(String.join("", bash.logs().stdout())).isEqualTo("from-bash\n");
        assertThatThrownBy(() -> RunCodeOptions.builder().language("python")
                .context(new CodeContext("x", "python", "/")).build()).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void matplotlibChartComesBackAsPngAndChartData() {
        List<Result> streamed = new CopyOnWriteArrayList<>();
        Execution e = sandbox.runCode("""
                import matplotlib.pyplot as plt
                plt.bar(['a', 'b', 'c'], [3, 1, 2])
                plt.title('Letters')
                plt.show()
                """, RunCodeOptions.builder().onResult(streamed::add).build());
        assertThat(e.error()).isNull();
        assertThat(streamed).isEqualTo(e.results());
        Result chart = e.results().stream().filter(r -> r.png() != null).findFirst().orElseThrow();
        assertThat(chart.pngBytes()).startsWith(0x89, 'P', 'N', 'G');
        assertThat(chart.chart()).isNotNull();
        assertThat(chart.chart().path("type").asText()).isEqualTo("bar");
        assertThat(chart.chart().path("title").asText()).isEqualTo("Letters");
    }

    @Test
    void privatePortsTakeTheTrafficTokenTheSdkSends() {
        try (dev.boxwood.sdk.Sandbox secured = dev.boxwood.sdk.Sandbox.builder().config(LiveServer.get().config())
                .template(TEMPLATE).network(new dev.boxwood.sdk.NetworkConfig(List.of(), List.of(), false)).create()) {
            assertThat(secured.trafficAccessToken()).isNotBlank();
            assertThat(secured.runCode("6 * 7").text()).isEqualTo("42");
        }
    }

    @Test
    void killingTheSandboxDuringAnExecutionIsATimeout() throws Exception {
        dev.boxwood.sdk.Sandbox doomed = dev.boxwood.sdk.Sandbox.builder().config(LiveServer.get().config())
                .template(TEMPLATE).create();
        try {
            var running = java.util.concurrent.CompletableFuture.supplyAsync(() -> doomed.runCode(
                    "import time\nprint('started', flush=True)\ntime.sleep(120)",
                    RunCodeOptions.builder().onStdout(s -> doomed.kill()).build()));
            assertThatThrownBy(running::join).hasCauseInstanceOf(TimeoutException.class)
                    .hasMessageContaining("killed or timed out");
        } finally {
            doomed.kill();
        }
    }

    @Test
    void timeoutInterruptsAndTheNextExecutionRuns() {
        assertThatThrownBy(() -> sandbox.runCode("import time\ntime.sleep(120)",
                RunCodeOptions.builder().timeout(Duration.ofSeconds(2)).build()))
                .isInstanceOf(TimeoutException.class);
        assertThat(sandbox.runCode("'still alive'").text()).isEqualTo("still alive");
    }
}
