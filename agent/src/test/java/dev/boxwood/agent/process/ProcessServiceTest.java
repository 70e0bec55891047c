package dev.boxwood.agent.process;

import static dev.boxwood.agent.testing.ConnectClient.b64;
import static dev.boxwood.agent.testing.ConnectClient.basic;
import static dev.boxwood.agent.testing.ConnectClient.end;
import static dev.boxwood.agent.testing.ConnectClient.output;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.agent.testing.ConnectClient;
import dev.boxwood.agent.testing.ConnectClient.Frame;
import dev.boxwood.agent.testing.LiveAgentTest;
import dev.boxwood.agent.testing.TestAgent;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProcessServiceTest extends LiveAgentTest {
    static String bash(String script) throws Exception {
        return "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-l\",\"-c\","
                + ConnectClient.JSON.writeValueAsString(script) + "]},\"stdin\":false}";
    }

    static List<Frame> run(String script, String... headers) throws Exception {
        try (var s = c.stream("process.Process/Start", bash(script), headers)) {
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.headers().get("content-type")).containsExactly("application/connect+json");
            return s.rest();
        }
    }

    @Test
    void startStreamsStartThenOutputThenEndThenEndOfStream() throws Exception {
        List<Frame> frames = run("echo out; echo err >&2; exit 3");
        assertThat(frames.getFirst().event().path("start").path("pid").asInt()).isPositive();
        assertThat(output(frames, "stdout")).isEqualTo("out\n");
        assertThat(output(frames, "stderr")).isEqualTo("err\n");
        JsonNode end = end(frames);
        assertThat(end.path("exitCode").asInt()).isEqualTo(3);
        assertThat(end.path("exited").asBoolean()).isTrue();
        assertThat(end.path("status").asText()).isEqualTo("exit status 3");
        Frame last = frames.getLast();
        assertThat(last.isEnd()).isTrue();
        assertThat(last.json().size()).isZero();
    }

    @Test
    void successOmitsTheZeroExitCodeLikeProto3Json() throws Exception {
        JsonNode end = end(run("true"));
        assertThat(end.has("exitCode")).isFalse();
        assertThat(end.path("status").asText()).isEqualTo("exit status 0");
    }

    @Test
    void runsAsTheDefaultUserInItsHomeWithSandboxAndCallEnv() throws Exception {
        String start = "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-c\","
                + "\"id -un; pwd; echo $HOME $USER $LOGNAME; echo $SANDBOX_VAR $CALL_VAR; echo ${BOXWOOD_INIT_TOKEN:-none}\"],"
                + "\"envs\":{\"CALL_VAR\":\"per-call\"}},\"stdin\":false}";
        List<Frame> frames;
        try (var s = c.stream("process.Process/Start", start)) {
            frames = s.rest();
        }
        assertThat(output(frames, "stdout").lines().toList()).containsExactly(
                "user", "/home/user", "/home/user user user", "from-init per-call", "none");
        // per-call envs do not leak into later commands
        assertThat(output(run("echo ${CALL_VAR:-unset}"), "stdout")).isEqualTo("unset\n");
    }

    @Test
    void basicAuthSelectsTheUserAndCwdIsHonoured() throws Exception {
        String start = "{\"process\":{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"id -u; pwd\"],\"cwd\":\"/tmp\"}}";
        try (var s = c.stream("process.Process/Start", start, "Authorization", basic("root"))) {
            assertThat(output(s.rest(), "stdout")).isEqualTo("0\n/tmp\n");
        }
    }

    @Test
    void unknownUserIsUnauthenticated() throws Exception {
        try (var s = c.stream("process.Process/Start", bash("true"), "Authorization", basic("nobody-here"))) {
            Frame f = s.next();
            assertThat(f.isEnd()).isTrue();
            assertThat(f.json().path("error").path("code").asText()).isEqualTo("unauthenticated");
        }
    }

    @Test
    void missingCwdIsInvalidArgument() throws Exception {
        String start = "{\"process\":{\"cmd\":\"/bin/true\",\"cwd\":\"/no/such/dir\"}}";
        try (var s = c.stream("process.Process/Start", start)) {
            assertThat(s.next().json().path("error").path("code").asText()).isEqualTo("invalid_argument");
        }
    }

    @Test
    void stdinCanBeSentAndClosed() throws Exception {
        String start = "{\"process\":{\"cmd\":\"/bin/cat\"},\"stdin\":true,\"tag\":\"cat-tag\"}";
        try (var s = c.stream("process.Process/Start", start)) {
            int pid = s.next().event().path("start").path("pid").asInt();
            ConnectClient.Reply list = c.unary("process.Process/List", "{}");
            assertThat(list.body().path("processes").findValuesAsText("tag")).contains("cat-tag");
            assertThat(c.unary("process.Process/SendInput",
                    "{\"process\":{\"pid\":" + pid + "},\"input\":{\"stdin\":\"" + b64("hello\n") + "\"}}").status())
                    .isEqualTo(200);
            Frame echoed = s.next();
            assertThat(ConnectClient.unb64(echoed.event().path("data").path("stdout"))).isEqualTo("hello\n");
            // the tag selects the process too
            assertThat(c.unary("process.Process/CloseStdin", "{\"process\":{\"tag\":\"cat-tag\"}}").status())
                    .isEqualTo(200);
            assertThat(end(s.rest()).path("status").asText()).isEqualTo("exit status 0");
        }
    }

    @Test
    void stdinFalseGivesDevNullAndSendInputFails() throws Exception {
        String start = "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-c\",\"cat; echo done\"]},\"stdin\":false}";
        try (var s = c.stream("process.Process/Start", start)) {
            List<Frame> frames = s.rest();
            assertThat(output(frames, "stdout")).isEqualTo("done\n");
        }
    }

    @Test
    void sigkillEndsTheProcessWithSignalStatus() throws Exception {
        try (var s = c.stream("process.Process/Start", bash("sleep 600"))) {
            int pid = s.next().event().path("start").path("pid").asInt();
            assertThat(c.unary("process.Process/SendSignal",
                    "{\"process\":{\"pid\":" + pid + "},\"signal\":\"SIGNAL_SIGKILL\"}").status()).isEqualTo(200);
            JsonNode end = end(s.rest());
            assertThat(end.path("status").asText()).isEqualTo("signal: killed");
            assertThat(end.path("exitCode").asInt()).isEqualTo(-1);
        }
    }

    @Test
    void sigtermByNumberIsAccepted() throws Exception {
        try (var s = c.stream("process.Process/Start", bash("sleep 600"))) {
            int pid = s.next().event().path("start").path("pid").asInt();
            assertThat(c.unary("process.Process/SendSignal",
                    "{\"process\":{\"pid\":" + pid + "},\"signal\":15}").status()).isEqualTo(200);
            assertThat(end(s.rest()).path("status").asText()).isEqualTo("signal: terminated");
        }
    }

    @Test
    void unknownPidIsNotFoundEverywhere() throws Exception {
        for (String method : List.of("SendSignal", "SendInput", "CloseStdin", "Update")) {
            ConnectClient.Reply r = c.unary("process.Process/" + method,
                    "{\"process\":{\"pid\":999999},\"signal\":\"SIGNAL_SIGKILL\",\"input\":{\"stdin\":\"eA==\"}}");
            assertThat(r.status()).as(method).isEqualTo(404);
            assertThat(r.code()).as(method).isEqualTo("not_found");
        }
        try (var s = c.stream("process.Process/Connect", "{\"process\":{\"pid\":999999}}")) {
            assertThat(s.next().json().path("error").path("code").asText()).isEqualTo("not_found");
        }
        assertThat(c.unary("process.Process/SendSignal", "{\"process\":{}}").code()).isEqualTo("invalid_argument");
    }

    @Test
    void severalClientsConnectToOneProcessAndAllSeeItsOutput() throws Exception {
        String start = "{\"process\":{\"cmd\":\"/bin/cat\"},\"stdin\":true}";
        try (var owner = c.stream("process.Process/Start", start)) {
            int pid = owner.next().event().path("start").path("pid").asInt();
            try (var a = c.stream("process.Process/Connect", "{\"process\":{\"pid\":" + pid + "}}");
                 var b = c.stream("process.Process/Connect", "{\"process\":{\"pid\":" + pid + "}}")) {
                assertThat(a.next().event().path("start").path("pid").asInt()).isEqualTo(pid);
                assertThat(b.next().event().path("start").path("pid").asInt()).isEqualTo(pid);
                c.unary("process.Process/SendInput",
                        "{\"process\":{\"pid\":" + pid + "},\"input\":{\"stdin\":\"" + b64("shared\n") + "\"}}");
                c.unary("process.Process/CloseStdin", "{\"process\":{\"pid\":" + pid + "}}");
                for (var s : List.of(owner, a, b)) {
                    List<Frame> frames = s.rest();
                    assertThat(output(frames, "stdout")).isEqualTo("shared\n");
                    assertThat(end(frames).path("exited").asBoolean()).isTrue();
                }
            }
        }
    }

    @Test
    void ptyHasATerminalThatResizes() throws Exception {
        String start = "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"--norc\",\"--noprofile\",\"-i\"],"
                + "\"envs\":{\"TERM\":\"xterm\",\"PS1\":\"$ \"}},\"pty\":{\"size\":{\"cols\":100,\"rows\":30}}}";
        try (var s = c.stream("process.Process/Start", start)) {
            int pid = s.next().event().path("start").path("pid").asInt();
            sendPty(pid, "stty size; tty\n");
            String out = readPtyUntil(s, "30 100");
            assertThat(out).contains("30 100");
            assertThat(c.unary("process.Process/Update",
                    "{\"process\":{\"pid\":" + pid + "},\"pty\":{\"size\":{\"cols\":120,\"rows\":40}}}").status())
                    .isEqualTo(200);
            sendPty(pid, "stty size\n");
            assertThat(readPtyUntil(s, "40 120")).contains("40 120");
            sendPty(pid, "exit 7\n");
            assertThat(end(s.rest()).path("exitCode").asInt()).isEqualTo(7);
        }
    }

    @Test
    void updateOnAProcessWithoutPtyIsRejected() throws Exception {
        try (var s = c.stream("process.Process/Start", bash("sleep 600"))) {
            int pid = s.next().event().path("start").path("pid").asInt();
            ConnectClient.Reply r = c.unary("process.Process/Update",
                    "{\"process\":{\"pid\":" + pid + "},\"pty\":{\"size\":{\"cols\":10,\"rows\":10}}}");
            assertThat(r.code()).isEqualTo("failed_precondition");
            c.unary("process.Process/SendSignal", "{\"process\":{\"pid\":" + pid + "},\"signal\":\"SIGNAL_SIGKILL\"}");
            s.rest();
        }
    }

    @Test
    void hugeOutputIsStreamedCompletelyWithBoundedBuffers() throws Exception {
        long total = 0;
        try (var s = c.stream("process.Process/Start", bash("head -c 64000000 /dev/zero"))) {
            while (true) {
                Frame f = s.next();
                JsonNode d = f.event().path("data").path("stdout");
                if (!d.isMissingNode()) total += java.util.Base64.getDecoder().decode(d.asText()).length;
                if (f.isEnd()) break;
            }
        }
        assertThat(total).isEqualTo(64_000_000L);
    }

    @Test
    void aBackgroundJobHoldingTheOutputPipeDoesNotHoldTheEnd() throws Exception {
        java.nio.file.Path pidFile = java.nio.file.Files.createTempFile("bg", ".pid");
        try {
            List<Frame> frames = run("sleep 600 & echo $! > " + pidFile + "; echo foreground done",
                    "Authorization", basic("root"));
            assertThat(output(frames, "stdout")).isEqualTo("foreground done\n");
            assertThat(end(frames).path("status").asText()).isEqualTo("exit status 0");
        } finally {
            String pid = java.nio.file.Files.readString(pidFile).trim();
            if (!pid.isEmpty()) TestAgent.run("kill", "-9", pid);
            java.nio.file.Files.delete(pidFile);
        }
    }

    @Test
    void processesEndedAreNoLongerListed() throws Exception {
        List<Frame> frames = run("true");
        int pid = frames.getFirst().event().path("start").path("pid").asInt();
        assertThat(c.unary("process.Process/List", "{}").body().path("processes").findValuesAsText("pid"))
                .doesNotContain(String.valueOf(pid));
    }

    private static void sendPty(int pid, String text) throws Exception {
        assertThat(c.unary("process.Process/SendInput",
                "{\"process\":{\"pid\":" + pid + "},\"input\":{\"pty\":\"" + b64(text) + "\"}}").status())
                .isEqualTo(200);
    }

    private static String readPtyUntil(ConnectClient.Stream s, String needle) throws Exception {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().contains(needle)) {
            Frame f = s.next();
            assertThat(f.isEnd()).as("stream ended early: " + sb).isFalse();
            JsonNode d = f.event().path("data").path("pty");
            if (!d.isMissingNode()) sb.append(ConnectClient.unb64(d));
        }
        return sb.toString();
    }
}
