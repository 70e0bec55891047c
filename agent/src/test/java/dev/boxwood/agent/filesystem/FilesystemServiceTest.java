package dev.boxwood.agent.filesystem;

import static dev.boxwood.agent.testing.ConnectClient.basic;
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
import org.junit.jupiter.api.Test;

class FilesystemServiceTest extends LiveAgentTest {
    static ConnectClient.Reply call(String method, String json, String... headers) throws Exception {
        return c.unary("filesystem.Filesystem/" + method, json, headers);
    }

    static String q(Object s) throws Exception {
        return ConnectClient.JSON.writeValueAsString(String.valueOf(s));
    }

    @Test
    void makeDirStatAndListDescribeEntriesLikeEnvd() throws Exception {
        Path dir = TestAgent.scratch("fs-list");
        String rel = TestAgent.home().relativize(dir).toString();
        ConnectClient.Reply made = call("MakeDir", "{\"path\":" + q(rel + "/sub1/deep") + "}");
        assertThat(made.status()).isEqualTo(200);
        assertThat(made.body().path("entry").path("path").asText()).isEqualTo(dir + "/sub1/deep");
        call("MakeDir", "{\"path\":" + q(dir + "/sub2") + "}");
        Files.writeString(dir.resolve("file1.txt"), "Hello, world!");
        TestAgent.run("chown", "user:user", dir.resolve("file1.txt").toString());

        JsonNode file = call("Stat", "{\"path\":" + q(rel + "/file1.txt") + "}").body().path("entry");
        assertThat(file.path("name").asText()).isEqualTo("file1.txt");
        assertThat(file.path("type").asText()).isEqualTo("FILE_TYPE_FILE");
        assertThat(file.path("path").asText()).isEqualTo(dir + "/file1.txt");
        assertThat(file.path("size").isTextual()).as("int64 travels as a string").isTrue();
        assertThat(file.path("size").asText()).isEqualTo("13");
        assertThat(file.path("mode").asInt()).isEqualTo(0644);
        assertThat(file.path("permissions").asText()).isEqualTo("-rw-r--r--");
        assertThat(file.path("owner").asText()).isEqualTo("user");
        assertThat(file.path("group").asText()).isEqualTo("user");
        assertThat(java.time.Instant.parse(file.path("modifiedTime").asText())).isNotNull();
        assertThat(file.has("symlinkTarget")).isFalse();

        JsonNode sub = call("Stat", "{\"path\":" + q(dir + "/sub1") + "}").body().path("entry");
        assertThat(sub.path("type").asText()).isEqualTo("FILE_TYPE_DIRECTORY");
        assertThat(sub.path("permissions").asText()).isEqualTo("drwxr-xr-x");
        assertThat(sub.path("mode").asInt()).isEqualTo(0755);
        assertThat(sub.path("owner").asText()).as("MakeDir chowns to the user").isEqualTo("user");

        assertThat(names(call("ListDir", "{\"path\":" + q(dir) + "}")))
                .containsExactly("file1.txt", "sub1", "sub2");
        assertThat(names(call("ListDir", "{\"path\":" + q(dir) + ",\"depth\":2}")))
                .containsExactly("file1.txt", "sub1", "deep", "sub2");
        ConnectClient.Reply bad = call("ListDir", "{\"path\":" + q(dir) + ",\"depth\":-1}");
        assertThat(bad.code()).isEqualTo("invalid_argument");
        assertThat(bad.body().path("message").asText()).contains("depth should be at least one");
    }

    private static List<String> names(ConnectClient.Reply r) {
        assertThat(r.status()).isEqualTo(200);
        List<String> out = new ArrayList<>();
        r.body().path("entries").forEach(e -> out.add(e.path("name").asText()));
        return out;
    }

    @Test
    void errorCodesMatchEnvd() throws Exception {
        Path dir = TestAgent.scratch("fs-errors");
        Files.writeString(dir.resolve("f"), "x");
        assertThat(call("Stat", "{\"path\":" + q(dir + "/missing") + "}").code()).isEqualTo("not_found");
        assertThat(call("ListDir", "{\"path\":" + q(dir + "/missing") + "}").code()).isEqualTo("not_found");
        assertThat(call("ListDir", "{\"path\":" + q(dir + "/f") + "}").code()).isEqualTo("invalid_argument");
        assertThat(call("MakeDir", "{\"path\":" + q(dir) + "}").code()).isEqualTo("already_exists");
        assertThat(call("MakeDir", "{\"path\":" + q(dir + "/f") + "}").code()).isEqualTo("invalid_argument");
        assertThat(call("Remove", "{\"path\":" + q(dir + "/missing") + "}").code()).isEqualTo("not_found");
        assertThat(call("Move", "{\"source\":" + q(dir + "/missing") + ",\"destination\":" + q(dir + "/x") + "}")
                .code()).isEqualTo("not_found");
        assertThat(call("Stat", "{\"path\":\"\"}").code()).isEqualTo("invalid_argument");
        assertThat(call("Stat", "{\"path\":\"a\\u0000b\"}").code()).isEqualTo("invalid_argument");
        Files.createSymbolicLink(dir.resolve("loop1"), dir.resolve("loop2"));
        Files.createSymbolicLink(dir.resolve("loop2"), dir.resolve("loop1"));
        assertThat(call("Stat", "{\"path\":" + q(dir + "/loop1") + "}").code()).isEqualTo("failed_precondition");
    }

    @Test
    void theUserCannotTouchWhatUnixPermissionsForbid() throws Exception {
        Path secret = Files.createTempDirectory(Path.of("/root"), "agent-secret");
        try {
            Files.writeString(secret.resolve("f"), "x");
            assertThat(call("Stat", "{\"path\":" + q(secret + "/f") + "}").code()).isEqualTo("permission_denied");
            assertThat(call("ListDir", "{\"path\":" + q(secret) + "}").code()).isEqualTo("permission_denied");
            assertThat(call("Remove", "{\"path\":" + q(secret + "/f") + "}").code()).isEqualTo("permission_denied");
            assertThat(call("MakeDir", "{\"path\":" + q(secret + "/d") + "}").code()).isEqualTo("permission_denied");
            assertThat(Files.exists(secret.resolve("f"))).isTrue();
            // root may
            assertThat(call("Stat", "{\"path\":" + q(secret + "/f") + "}", "Authorization", basic("root")).status())
                    .isEqualTo(200);
            assertThat(call("Stat", "{\"path\":\"/\"}", "Authorization", basic("ghost")).code())
                    .isEqualTo("unauthenticated");
        } finally {
            TestAgent.run("rm", "-rf", secret.toString());
        }
    }

    @Test
    void theStickyBitProtectsOtherUsersFilesInTmp() throws Exception {
        Path mine = Files.createTempFile(Path.of("/tmp"), "root-owned", ".txt");
        try {
            assertThat(call("Remove", "{\"path\":" + q(mine) + "}").code()).isEqualTo("permission_denied");
            assertThat(call("Move", "{\"source\":" + q(mine) + ",\"destination\":" + q(mine + ".moved") + "}")
                    .code()).isEqualTo("permission_denied");
            assertThat(Files.exists(mine)).isTrue();
        } finally {
            Files.deleteIfExists(mine);
        }
    }

    @Test
    void moveReturnsTheNewEntryAndRemoveDeletesTrees() throws Exception {
        Path dir = TestAgent.scratch("fs-move");
        Files.writeString(dir.resolve("a.txt"), "abc");
        ConnectClient.Reply moved = call("Move", "{\"source\":" + q(dir + "/a.txt") + ",\"destination\":"
                + q(dir + "/nested/b.txt") + "}");
        assertThat(moved.status()).isEqualTo(200);
        assertThat(moved.body().path("entry").path("path").asText()).isEqualTo(dir + "/nested/b.txt");
        assertThat(moved.body().path("entry").path("size").asText()).isEqualTo("3");
        assertThat(Files.exists(dir.resolve("a.txt"))).isFalse();
        assertThat(call("Remove", "{\"path\":" + q(dir + "/nested") + "}").status()).isEqualTo(200);
        assertThat(Files.exists(dir.resolve("nested"))).isFalse();
    }

    @Test
    void symlinksReportTheirResolvedTarget() throws Exception {
        Path dir = TestAgent.scratch("fs-link");
        Files.writeString(dir.resolve("target.txt"), "t");
        Files.createSymbolicLink(dir.resolve("link.txt"), Path.of("target.txt"));
        JsonNode e = call("Stat", "{\"path\":" + q(dir + "/link.txt") + "}").body().path("entry");
        assertThat(e.path("name").asText()).isEqualTo("link.txt");
        assertThat(e.path("symlinkTarget").asText()).isEqualTo(dir + "/target.txt");
        assertThat(e.path("type").asText()).isEqualTo("FILE_TYPE_FILE");
    }

    @Test
    void watchDirStreamsCreateWriteAndRemoveRecursively() throws Exception {
        Path dir = TestAgent.scratch("fs-watch");
        Files.createDirectories(dir.resolve("nested"));
        String req = "{\"path\":" + q(dir) + ",\"recursive\":true,\"includeEntry\":true}";
        try (var s = c.stream("filesystem.Filesystem/WatchDir", req)) {
            Frame first = s.next();
            assertThat(first.json().has("start")).as("oneof at the top level: " + first.json()).isTrue();
            Files.writeString(dir.resolve("nested/file.txt"), "one");
            JsonNode ev = until(s, "nested/file.txt", "EVENT_TYPE_WRITE");
            assertThat(ev.path("entry").path("path").asText()).isEqualTo(dir + "/nested/file.txt");

            call("MakeDir", "{\"path\":" + q(dir + "/later") + "}");
            until(s, "later", "EVENT_TYPE_CREATE");
            Files.writeString(dir.resolve("later/x.txt"), "x");
            until(s, "later/x.txt", "EVENT_TYPE_WRITE");

            Files.move(dir.resolve("later/x.txt"), dir.resolve("later/y.txt"));
            until(s, "later/x.txt", "EVENT_TYPE_RENAME");
            until(s, "later/y.txt", "EVENT_TYPE_CREATE");
            Files.setPosixFilePermissions(dir.resolve("later/y.txt"),
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            assertThat(until(s, "later/y.txt", "EVENT_TYPE_CHMOD").path("entry").path("permissions").asText())
                    .isEqualTo("-rw-------");

            Files.delete(dir.resolve("later/y.txt"));
            until(s, "later/y.txt", "EVENT_TYPE_REMOVE");
        }
    }

    private static JsonNode until(ConnectClient.Stream s, String name, String type) throws Exception {
        while (true) {
            Frame f = s.next();
            assertThat(f.isEnd()).as("stream ended: " + f.json()).isFalse();
            JsonNode e = f.json().path("filesystem");
            if (e.path("name").asText().equals(name) && e.path("type").asText().equals(type)) return e;
        }
    }

    @Test
    void removingTheWatchedDirectoryEndsTheStream() throws Exception {
        Path dir = TestAgent.scratch("fs-watch-gone");
        try (var s = c.stream("filesystem.Filesystem/WatchDir", "{\"path\":" + q(dir) + "}")) {
            assertThat(s.next().json().has("start")).isTrue();
            Files.delete(dir);
            List<Frame> rest = s.rest();
            assertThat(rest.getLast().json().path("error").path("code").asText()).isEqualTo("not_found");
        }
    }

    @Test
    void watchingAMissingDirOrAFileFailsBeforeStart() throws Exception {
        Path dir = TestAgent.scratch("fs-watch-bad");
        Files.writeString(dir.resolve("f"), "x");
        try (var s = c.stream("filesystem.Filesystem/WatchDir", "{\"path\":" + q(dir + "/none") + "}")) {
            Frame f = s.next();
            assertThat(f.isEnd()).isTrue();
            assertThat(f.json().path("error").path("code").asText()).isEqualTo("not_found");
        }
        try (var s = c.stream("filesystem.Filesystem/WatchDir", "{\"path\":" + q(dir + "/f") + "}")) {
            Frame f = s.next();
            assertThat(f.isEnd()).isTrue();
            assertThat(f.json().path("error").path("code").asText()).isEqualTo("invalid_argument");
        }
    }

    @Test
    void watchEndsWithDeadlineExceededAtItsTimeout() throws Exception {
        Path dir = TestAgent.scratch("fs-watch-deadline");
        try (var s = c.stream("filesystem.Filesystem/WatchDir", "{\"path\":" + q(dir) + "}",
                "Connect-Timeout-Ms", "700")) {
            List<Frame> frames = s.rest();
            assertThat(frames.getFirst().json().has("start")).isTrue();
            assertThat(frames.getLast().json().path("error").path("code").asText()).isEqualTo("deadline_exceeded");
        }
    }

    @Test
    void polledWatchersCollectEventsUntilRemoved() throws Exception {
        Path dir = TestAgent.scratch("fs-poll");
        String id = call("CreateWatcher", "{\"path\":" + q(dir) + "}").body().path("watcherId").asText();
        assertThat(id).isNotEmpty();
        Files.writeString(dir.resolve("p.txt"), "p");
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 100 && !seen.contains("p.txt"); i++) {
            call("GetWatcherEvents", "{\"watcherId\":" + q(id) + "}").body().path("events")
                    .forEach(e -> seen.add(e.path("name").asText()));
            if (!seen.contains("p.txt")) Thread.sleep(100);
        }
        assertThat(seen).contains("p.txt");
        assertThat(call("RemoveWatcher", "{\"watcherId\":" + q(id) + "}").status()).isEqualTo(200);
        assertThat(call("GetWatcherEvents", "{\"watcherId\":" + q(id) + "}").code()).isEqualTo("not_found");
        assertThat(call("RemoveWatcher", "{\"watcherId\":\"nope\"}").code()).isEqualTo("not_found");
    }
}
