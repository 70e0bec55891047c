package dev.boxwood.agent.process;

import static dev.boxwood.agent.testing.ConnectClient.end;
import static dev.boxwood.agent.testing.ConnectClient.output;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.agent.testing.ConnectClient;
import dev.boxwood.agent.testing.ConnectClient.Frame;
import dev.boxwood.agent.testing.LiveAgentTest;
import dev.boxwood.agent.testing.TestAgent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Commands started with posix_spawn from a per-user thread get exactly what setsid + setpriv gave them. */
class SpawnTest extends LiveAgentTest {
    private static List<Frame> start(String json) throws Exception {
        try (var s = c.stream("process.Process/Start", json)) {
            return s.rest();
        }
    }

    private static String sh(String script) throws Exception {
        return "{\"process\":{\"cmd\":\"/bin/sh\",\"args\":[\"-c\"," + ConnectClient.JSON.writeValueAsString(script)
                + "]},\"stdin\":false}";
    }

    private static String hostId(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("id"));
        cmd.addAll(List.of(args));
        cmd.add(TestAgent.USER);
        Process p = new ProcessBuilder(cmd).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertThat(p.waitFor()).isZero();
        return out;
    }

    @Test
    void runsAsTheUserWithItsCurrentGroupsInASessionOfItsOwn() throws Exception {
        String group = "bwspawn" + ProcessHandle.current().pid();
        TestAgent.run("groupadd", group);
        try {
            TestAgent.run("usermod", "-a", "-G", group, TestAgent.USER);
            List<Frame> frames = start(sh("id -u; id -g; id -G; echo $$; ps -o sid=,pgid= -p $$"));
            List<String> lines = output(frames, "stdout").lines().toList();
            assertThat(lines.get(0)).isEqualTo(hostId("-u"));
            assertThat(lines.get(1)).isEqualTo(hostId("-g"));
            // initgroups: the primary group and every group listing the user, as `id -G user` computes them
            assertThat(List.of(lines.get(2).split(" "))).containsExactlyInAnyOrder(hostId("-G").split(" "));
            String pid = lines.get(3);
            assertThat(lines.get(4).trim().split("\\s+")).containsExactly(pid, pid);
            assertThat(frames.getFirst().event().path("start").path("pid").asText()).isEqualTo(pid);
        } finally {
            TestAgent.run("groupdel", group);
        }
        // a group removed since is gone from the next command's groups
        List<String> after = output(start(sh("id -G")), "stdout").lines().toList();
        assertThat(List.of(after.getFirst().split(" "))).containsExactlyInAnyOrder(hostId("-G").split(" "));
    }

    @Test
    void onlyTheSpawningThreadTakesOnTheUsersCredentials() throws Exception {
        start(sh("true"));
        String uid = hostId("-u");
        boolean sawSpawner = false;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                String name;
                List<String> status;
                try {
                    name = Files.readString(task.resolve("comm")).trim();
                    status = Files.readAllLines(task.resolve("status"));
                } catch (java.io.IOException gone) {
                    continue; // the thread ended meanwhile
                }
                String uids = status.stream().filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow();
                if (name.startsWith("spawn-as-")) {
                    sawSpawner |= uids.split("\\s+")[1].equals(uid);
                } else {
                    assertThat(uids.split("\\s+")).as(name).containsOnly("Uid:", "0");
                }
            }
        }
        assertThat(sawSpawner).as("a spawn-as-" + uid + " thread started the command").isTrue();
    }

    @Test
    void aBareCommandIsFoundOnTheChildsPathAndKeepsItsArgvZero() throws Exception {
        String json = "{\"process\":{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo $0; pwd\"],\"cwd\":\"/tmp\","
                + "\"envs\":{\"PATH\":\"/usr/bin:/bin\"}},\"stdin\":false}";
        assertThat(output(start(json), "stdout")).isEqualTo("sh\n/tmp\n");
    }

    @Test
    void aMissingCommandEndsWithExitStatus127() throws Exception {
        List<Frame> frames = start("{\"process\":{\"cmd\":\"/no/such/command\"},\"stdin\":false}");
        JsonNode end = end(frames);
        assertThat(end.path("exitCode").asInt()).isEqualTo(127);
        assertThat(output(frames, "stderr")).contains("/no/such/command");
    }

    @Test
    void aWorkdirOnlyRootCanEnterStillWorksAsBefore() throws Exception {
        Path dir = Files.createTempDirectory("bw-root-only");
        try {
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            String json = "{\"process\":{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"id -u; pwd\"],\"cwd\":\"" + dir
                    + "\"},\"stdin\":false}";
            List<Frame> frames = start(json);
            assertThat(output(frames, "stdout")).isEqualTo(hostId("-u") + "\n" + dir + "\n");
            assertThat(end(frames).path("status").asText()).isEqualTo("exit status 0");
        } finally {
            Files.delete(dir);
        }
    }

    @Test
    void stdinIsAPipeAndTheExitCodeComesThrough() throws Exception {
        String json = "{\"process\":{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"test -p /dev/stdin && exit 42\"]},"
                + "\"stdin\":true}";
        try (var s = c.stream("process.Process/Start", json)) {
            assertThat(end(s.rest()).path("exitCode").asInt()).isEqualTo(42);
        }
    }
}
