package dev.boxwood.server.real;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.server.BoxwoodServer;
import dev.boxwood.server.runtime.HostCommand;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Snapshots and forks of real crun sandboxes: new sandboxes start from a sandbox's filesystem and diverge. */
class SnapshotTest extends RealServerTest {

    /** Mount points at or below {@code dir}. */
    static List<String> mountsUnder(Path dir) throws Exception {
        return java.nio.file.Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().map(l -> l.split(" ")[4])
                .filter(m -> m.equals(dir.toString()) || m.startsWith(dir + "/")).toList();
    }

    String read(BoxwoodServer server, String key, String id, String path) throws Exception {
        HttpResponse<String> r = agent(server, id, "GET", "/files?path=" + path, token(server, key, id), null);
        return r.statusCode() == 200 ? r.body() : "HTTP " + r.statusCode();
    }

    void write(BoxwoodServer server, String key, String id, String path, String content) throws Exception {
        HttpResponse<String> r = agent(server, id, "POST", "/files?path=" + path, token(server, key, id), content);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    @Test
    void snapshotStartsIndependentSandboxesIsPerTeamAndIsFreedOnDelete() throws Exception {
        String key;
        String snapshotId;
        try (BoxwoodServer server = real.start(null)) {
            key = server.teams().createKey(server.teams().ensureTeam("snap"));
            String other = server.teams().createKey(server.teams().ensureTeam("other"));
            String parent = createFrom(server, key, "base");
            write(server, key, parent, "/home/user/state.txt", "from the parent");
            // A deletion in the parent's writable layer must carry over too (overlay whiteout).
            assertThat(real.runtime.crun.exec(parent, List.of("rm", "/etc/issue")).ok()).isTrue();

            JsonNode snap = json(real.call(server, "POST", "/sandboxes/" + parent + "/snapshots", key,
                    "{\"name\":\"first-snap\"}"), 201);
            snapshotId = snap.get("snapshotID").asText();
            assertThat(snap.get("names")).extracting(JsonNode::asText).containsExactly("first-snap");
            // The parent runs on, unchanged and writable.
            assertThat(json(real.call(server, "GET", "/sandboxes/" + parent, key, null), 200).get("state").asText())
                    .isEqualTo("running");
            write(server, key, parent, "/home/user/state.txt", "parent moved on");

            assertThat(real.call(server, "POST", "/sandboxes/" + parent + "/snapshots", key, "{\"name\":\"first-snap\"}")
                    .statusCode()).isEqualTo(409);
            assertThat(real.call(server, "POST", "/sandboxes/" + parent + "/snapshots", key, "{\"name\":\"Bad Name\"}")
                    .statusCode()).isEqualTo(400);
            JsonNode listed = json(real.call(server, "GET", "/snapshots?sandboxID=" + parent, key, null), 200);
            assertThat(listed).extracting(n -> n.get("snapshotID").asText()).containsExactly(snapshotId);
            assertThat(listed.get(0).get("sizeBytes").asLong()).isPositive();
            assertThat(json(real.call(server, "GET", "/templates", key, null), 200))
                    .extracting(n -> n.get("templateID").asText()).doesNotContain(snapshotId);

            // Two sandboxes from the snapshot (by id and by name) see its files and diverge from each other.
            String a = createFrom(server, key, snapshotId);
            String b = createFrom(server, key, "first-snap");
            assertThat(read(server, key, a, "/home/user/state.txt")).isEqualTo("from the parent");
            assertThat(read(server, key, b, "/home/user/state.txt")).isEqualTo("from the parent");
            assertThat(real.runtime.crun.exec(a, List.of("test", "-e", "/etc/issue")).ok()).isFalse();
            assertThat(real.runtime.crun.exec(a, List.of("hostname")).output().strip()).isEqualTo(a);
            write(server, key, a, "/home/user/state.txt", "changed in a");
            assertThat(read(server, key, b, "/home/user/state.txt")).isEqualTo("from the parent");
            assertThat(read(server, key, a, "/home/user/state.txt")).isEqualTo("changed in a");

            // A snapshot of a sandbox that runs from a snapshot stacks both layers (the deletion included).
            String second = json(real.call(server, "POST", "/sandboxes/" + a + "/snapshots", key, "{}"), 201)
                    .get("snapshotID").asText();
            String d = createFrom(server, key, second);
            assertThat(read(server, key, d, "/home/user/state.txt")).isEqualTo("changed in a");
            assertThat(real.runtime.crun.exec(d, List.of("test", "-e", "/etc/issue")).ok()).isFalse();
            json(real.call(server, "DELETE", "/sandboxes/" + d, key, null), 204);
            json(real.call(server, "DELETE", "/templates/" + second, key, null), 204);

            // Another team neither sees nor uses nor deletes it.
            assertThat(json(real.call(server, "GET", "/snapshots", other, null), 200)).isEmpty();
            assertThat(real.call(server, "POST", "/v2/sandboxes", other, "{\"templateID\":\"" + snapshotId + "\"}")
                    .statusCode()).isEqualTo(404);
            assertThat(real.call(server, "DELETE", "/templates/" + snapshotId, other, null).statusCode()).isEqualTo(404);

            // In use → 409; once its sandboxes are gone, deleting frees its storage.
            assertThat(real.call(server, "DELETE", "/templates/" + snapshotId, key, null).statusCode()).isEqualTo(409);
            json(real.call(server, "DELETE", "/sandboxes/" + a, key, null), 204);
            json(real.call(server, "DELETE", "/sandboxes/" + b, key, null), 204);

            // A dead sandbox cannot be snapshotted.
            assertThat(real.call(server, "POST", "/sandboxes/" + a + "/snapshots", key, "{}").statusCode()).isEqualTo(404);
        }
        // After a restart (and with its mount gone, as after a reboot) the snapshot still starts sandboxes.
        Path rootfs = real.dataDir.resolve("templates").resolve(snapshotId).resolve("rootfs");
        assertThat(HostCommand.run(List.of("umount", rootfs.toString())).ok()).isTrue();
        try (BoxwoodServer server = real.start(null)) {
            String c = createFrom(server, key, snapshotId);
            assertThat(read(server, key, c, "/home/user/state.txt")).isEqualTo("from the parent");
            json(real.call(server, "DELETE", "/sandboxes/" + c, key, null), 204);
            json(real.call(server, "DELETE", "/templates/" + snapshotId, key, null), 204);
            assertThat(real.dataDir.resolve("templates").resolve(snapshotId)).doesNotExist();
            assertThat(json(real.call(server, "GET", "/snapshots", key, null), 200)).isEmpty();
            assertThat(real.call(server, "DELETE", "/templates/" + snapshotId, key, null).statusCode()).isEqualTo(404);
        }
    }

    @Test
    void forkDivergesFromItsParentItsSnapshotGoesWithItsLastChildAndQuotaRefusesOversizedSnapshots() throws Exception {
        try (BoxwoodServer server = real.start(null)) {
            String key = server.teams().createKey(server.teams().ensureTeam("fork"));
            String parent = createFrom(server, key, "base");
            write(server, key, parent, "/home/user/f.txt", "before the fork");
            json(real.call(server, "POST", "/sandboxes/" + parent + "/pause", key, null), 204);

            JsonNode forked = json(real.call(server, "POST", "/sandboxes/" + parent + "/fork", key,
                    "{\"timeout\":120,\"count\":2}"), 201);
            assertThat(forked.size()).isEqualTo(2);
            String child = forked.get(0).get("sandbox").get("sandboxID").asText();
            String sibling = forked.get(1).get("sandbox").get("sandboxID").asText();
            // Forking a paused sandbox leaves it paused; the fork's own snapshot is not listed.
            assertThat(json(real.call(server, "GET", "/sandboxes/" + parent, key, null), 200).get("state").asText())
                    .isEqualTo("paused");
            assertThat(json(real.call(server, "GET", "/snapshots", key, null), 200)).isEmpty();
            json(real.call(server, "POST", "/v2/sandboxes/" + parent + "/connect", key, "{}"), 201);

            assertThat(read(server, key, child, "/home/user/f.txt")).isEqualTo("before the fork");
            write(server, key, child, "/home/user/f.txt", "child");
            write(server, key, parent, "/home/user/f.txt", "parent");
            assertThat(read(server, key, child, "/home/user/f.txt")).isEqualTo("child");
            assertThat(read(server, key, parent, "/home/user/f.txt")).isEqualTo("parent");

            // The fork's hidden snapshot stays while a child runs from it, and goes (mount and layer) with the last one,
            // without waiting for another snapshot call or a server start.
            String forkTemplate = json(real.call(server, "GET", "/sandboxes/" + child, key, null), 200).get("templateID").asText();
            Path forkDir = real.dataDir.resolve("templates").resolve(forkTemplate);
            assertThat(mountsUnder(forkDir)).isNotEmpty();
            json(real.call(server, "DELETE", "/sandboxes/" + child, key, null), 204);
            json(real.call(server, "DELETE", "/sandboxes/" + parent, key, null), 204);
            server.snapshots().collectForks();
            assertThat(forkDir.resolve("layer")).isDirectory();
            assertThat(read(server, key, sibling, "/home/user/f.txt")).isEqualTo("before the fork");
            json(real.call(server, "DELETE", "/sandboxes/" + sibling, key, null), 204);
            for (int i = 0; i < 600 && java.nio.file.Files.exists(forkDir); i++) Thread.sleep(100);
            assertThat(forkDir).doesNotExist();
            assertThat(mountsUnder(real.dataDir.resolve("templates"))).isEmpty();
        }
        var config = dev.boxwood.server.Config.builder().dataDir(real.dataDir).port(0).defaults(1, 256, 512)
                .snapshotQuotaBytes(1024).build();
        try (BoxwoodServer server = new BoxwoodServer(config, real.runtime).start()) {
            String key = server.teams().createKey(server.teams().ensureTeam("quota"));
            String id = createFrom(server, key, "base");
            HttpResponse<String> over = real.call(server, "POST", "/sandboxes/" + id + "/snapshots", key, "{}");
            assertThat(over.statusCode()).as(over.body()).isEqualTo(403);
            assertThat(over.body()).contains("quota");
            assertThat(json(real.call(server, "GET", "/snapshots", key, null), 200)).isEmpty();
            try (var dirs = java.nio.file.Files.list(real.dataDir.resolve("templates"))) {
                assertThat(dirs.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("snap"));
            }
        }
    }
}
