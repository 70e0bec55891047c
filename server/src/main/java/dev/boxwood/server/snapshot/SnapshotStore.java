package dev.boxwood.server.snapshot;

import dev.boxwood.server.store.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Snapshot rows (table {@code snapshots}, migration V4). */
final class SnapshotStore {
    private static final String COLUMNS = "id, team_id, sandbox_id, template_id, kind, name, size_bytes, created_at";

    private final Database db;

    SnapshotStore(Database db) {
        this.db = db;
    }

    void insert(Snapshot s) {
        db.with(c -> {
            try (PreparedStatement ins = c.prepareStatement(
                    "INSERT INTO snapshots (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                ins.setString(1, s.id());
                ins.setString(2, s.teamId());
                ins.setString(3, s.sandboxId());
                ins.setString(4, s.templateId());
                ins.setString(5, s.fork() ? "fork" : "snapshot");
                ins.setString(6, s.name());
                ins.setLong(7, s.sizeBytes());
                ins.setLong(8, s.createdAt().toEpochMilli());
                return ins.executeUpdate();
            }
        });
    }

    Optional<Snapshot> find(String id) {
        List<Snapshot> found = query("SELECT " + COLUMNS + " FROM snapshots WHERE id = ?", id);
        return found.stream().findFirst();
    }

    Optional<Snapshot> byName(String teamId, String name) {
        return query("SELECT " + COLUMNS + " FROM snapshots WHERE team_id = ? AND name = ?", teamId, name)
                .stream().findFirst();
    }

    /** The team's snapshots, oldest first. */
    List<Snapshot> ofTeam(String teamId) {
        return query("SELECT " + COLUMNS + " FROM snapshots WHERE team_id = ? ORDER BY created_at, id", teamId);
    }

    List<Snapshot> all() {
        return query("SELECT " + COLUMNS + " FROM snapshots ORDER BY created_at, id");
    }

    /** Bytes of all of the team's snapshots, forks' included. */
    long bytesOf(String teamId) {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement(
                    "SELECT COALESCE(SUM(size_bytes), 0) FROM snapshots WHERE team_id = ?")) {
                q.setString(1, teamId);
                ResultSet rs = q.executeQuery();
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    /** Whether a running or paused sandbox was started from the template. */
    boolean inUse(String templateId) {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement("SELECT 1 FROM sandboxes WHERE template_id = ?"
                    + " AND state IN ('running', 'paused') LIMIT 1")) {
                q.setString(1, templateId);
                return q.executeQuery().next();
            }
        });
    }

    void delete(String id) {
        db.with(c -> {
            try (PreparedStatement del = c.prepareStatement("DELETE FROM snapshots WHERE id = ?")) {
                del.setString(1, id);
                return del.executeUpdate();
            }
        });
    }

    private List<Snapshot> query(String sql, String... params) {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement(sql)) {
                for (int i = 0; i < params.length; i++) q.setString(i + 1, params[i]);
                ResultSet rs = q.executeQuery();
                List<Snapshot> out = new ArrayList<>();
                while (rs.next()) out.add(read(rs));
                return out;
            }
        });
    }

    private static Snapshot read(ResultSet rs) throws SQLException {
        return new Snapshot(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                "fork".equals(rs.getString(5)), rs.getString(6), rs.getLong(7), Instant.ofEpochMilli(rs.getLong(8)));
    }
}
