package dev.boxwood.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreTest {
    @TempDir
    Path dir;

    @Test
    void migrationsRunOnceAndTheDatabaseIsInWalMode() {
        Path file = dir.resolve("boxwood.db");
        try (Database db = new Database(file)) {
            String mode = db.with(c -> {
                ResultSet rs = c.createStatement().executeQuery("PRAGMA journal_mode");
                rs.next();
                return rs.getString(1);
            });
            assertThat(mode).isEqualToIgnoringCase("wal");
            new TeamStore(db).ensureTeam("t");
        }
        try (Database again = new Database(file)) {
            int applied = again.with(c -> {
                ResultSet rs = c.createStatement().executeQuery("SELECT COUNT(*) FROM flyway_schema_history WHERE success = 1");
                rs.next();
                return rs.getInt(1);
            });
            // every migration shipped, each once (the second open applied none again)
            assertThat(applied).isEqualTo(migrations());
            assertThat(new TeamStore(again).teamByName("t")).isPresent();
        }
    }

    private static int migrations() {
        try (var files = java.nio.file.Files.list(Path.of(StoreTest.class.getResource("/db/migration").toURI()))) {
            return (int) files.filter(p -> p.getFileName().toString().matches("V\\d+__.*\\.sql")).count();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void keysAreStoredOnlyAsHashesAndCanBeRevokedByPrefix() throws Exception {
        Path file = dir.resolve("boxwood.db");
        String k1;
        String k2;
        try (Database db = new Database(file)) {
            TeamStore teams = new TeamStore(db);
            Team a = teams.ensureTeam("a");
            assertThat(teams.ensureTeam("a")).isEqualTo(a);
            k1 = teams.createKey(a);
            k2 = teams.createKey(teams.ensureTeam("b"));
            assertThat(k1).matches("e2b_[0-9a-f]{40}");
            assertThat(teams.teamForKey(k1)).contains(a);
            assertThat(teams.teamForKey("e2b_" + "0".repeat(40))).isEmpty();
            assertThat(teams.listKeys()).hasSize(2).allSatisfy(k -> assertThat(k.revoked()).isFalse());

            assertThatThrownBy(() -> teams.revoke("e2b_")).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> teams.revoke("key_nope")).hasMessageContaining("no active key");
            ApiKeyRow revoked = teams.revoke(k1.substring(0, 12));
            assertThat(revoked.teamName()).isEqualTo("a");
            assertThat(teams.teamForKey(k1)).isEmpty();
            assertThat(teams.teamForKey(k2)).isPresent();
            String k2Id = teams.listKeys().stream().filter(k -> k.teamName().equals("b")).findFirst().orElseThrow().id();
            teams.revoke(k2Id);
            assertThat(teams.teamForKey(k2)).isEmpty();
            assertThat(teams.listKeys()).allSatisfy(k -> assertThat(k.revoked()).isTrue());
        }
        for (Path p : Files.newDirectoryStream(dir)) {
            String content = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
            assertThat(content).doesNotContain(k1.substring(12)).doesNotContain(k2.substring(12));
        }
    }

    @Test
    void sandboxRowsRoundTripAndEndOnce() {
        try (Database db = new Database(dir.resolve("boxwood.db"))) {
            Team team = new TeamStore(db).ensureTeam("t");
            SandboxStore store = new SandboxStore(db);
            Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
            SandboxRow row = row("abc", team, now);
            store.insert(row);
            assertThat(store.find("abc")).contains(row);
            assertThat(store.running()).containsExactly(row);
            assertThat(store.markEnded("abc", SandboxRow.Status.KILLED, now)).isTrue();
            assertThat(store.markEnded("abc", SandboxRow.Status.EXPIRED, now)).isFalse();
            assertThat(store.find("abc").orElseThrow().status()).isEqualTo(SandboxRow.Status.KILLED);
            assertThat(store.running()).isEmpty();
            store.addEvent("abc", "info", "hello");
            assertThat(store.events("abc", Instant.EPOCH, 10)).extracting(SandboxEvent::message).containsExactly("hello");
        }
    }

    private static SandboxRow row(String id, Team team, Instant now) {
        return new SandboxRow(id, team.id(), "base", SandboxRow.Status.RUNNING, 2, 512, 1024, "tok",
                Map.of("a", "b"), null, false, now, now.plusSeconds(60), null, "traffic");
    }

    /** Fifty creates recorded at once from virtual threads (a burst of claims): every one lands, none fails busy. */
    @Test
    void concurrentCreatesFromVirtualThreadsAreAllRecorded() throws Exception {
        try (Database db = new Database(dir.resolve("boxwood.db"))) {
            Team team = new TeamStore(db).ensureTeam("t");
            SandboxStore store = new SandboxStore(db);
            Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
            try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                var done = new java.util.ArrayList<java.util.concurrent.Future<?>>();
                for (int i = 0; i < 50; i++) {
                    SandboxRow r = row("s" + i, team, now);
                    done.add(threads.submit(() -> {
                        store.insertCreated(r, dev.boxwood.server.network.EgressRules.OPEN, "created");
                        return store.find(r.id()).orElseThrow();
                    }));
                }
                for (var f : done) f.get();
            }
            assertThat(store.running()).hasSize(50);
        }
    }

    /** The create path's one transaction: row, rules and first log line together, or nothing at all. */
    @Test
    void aCreatedSandboxIsRecordedWholeOrNotAtAll() {
        try (Database db = new Database(dir.resolve("boxwood.db"))) {
            Team team = new TeamStore(db).ensureTeam("t");
            SandboxStore store = new SandboxStore(db);
            Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
            SandboxRow row = row("abc", team, now);
            var rules = dev.boxwood.server.network.EgressRules.parse(true, null, java.util.List.of("10.1.2.0/24"));
            store.insertCreated(row, rules, "created");
            assertThat(store.find("abc")).contains(row);
            assertThat(store.egress("abc")).contains(rules);
            assertThat(store.events("abc", Instant.EPOCH, 10)).extracting(SandboxEvent::message).containsExactly("created");

            // Same id again: the row's insert fails, and neither the rules nor the log line of the attempt stay.
            var other = dev.boxwood.server.network.EgressRules.parse(false, null, null);
            assertThatThrownBy(() -> store.insertCreated(row, other, "again")).isInstanceOf(Database.StoreFailure.class);
            assertThat(store.egress("abc")).contains(rules);
            assertThat(store.events("abc", Instant.EPOCH, 10)).extracting(SandboxEvent::message).containsExactly("created");
            // the connection went back to auto-commit: a later plain write is visible to other connections
            store.addEvent("abc", "info", "later");
            try (Database second = new Database(dir.resolve("boxwood.db"))) {
                assertThat(new SandboxStore(second).events("abc", Instant.EPOCH, 10)).extracting(SandboxEvent::message)
                        .containsExactly("created", "later");
            }
        }
    }

    /**
     * Verified keys are remembered, yet a revocation is seen by the very next call, also when it comes from another
     * process's connection (as {@code boxwood keys revoke} does while the server runs).
     */
    @Test
    void aRememberedKeyIsRefusedAsSoonAsItIsRevokedFromAnotherConnection() {
        Path file = dir.resolve("boxwood.db");
        try (Database db = new Database(file)) {
            TeamStore teams = new TeamStore(db);
            Team a = teams.ensureTeam("a");
            String key = teams.createKey(a);
            String kept = teams.createKey(a);
            assertThat(teams.teamForKey(key)).contains(a);
            assertThat(teams.teamForKey(key)).contains(a); // from memory now
            assertThat(teams.teamForKey(kept)).contains(a);
            try (Database cli = new Database(file)) {
                new TeamStore(cli).revoke(key);
            }
            assertThat(teams.teamForKey(key)).isEmpty();
            assertThat(teams.teamForKey(key)).isEmpty();
            assertThat(teams.teamForKey(kept)).contains(a);
            // a key deleted outright (by hand) is refused too
            db.with(c -> c.createStatement().executeUpdate("DELETE FROM api_keys WHERE revoked_at IS NULL"));
            assertThat(teams.teamForKey(kept)).isEmpty();
            assertThat(teams.teamForKey("e2b_" + "0".repeat(40))).isEmpty();
        }
    }
}
