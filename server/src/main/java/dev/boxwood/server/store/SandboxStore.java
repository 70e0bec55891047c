package dev.boxwood.server.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Sandbox rows and their log lines. */
public final class SandboxStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<LinkedHashMap<String, String>> STRING_MAP = new TypeReference<>() {};
    private static final String COLUMNS = "id, team_id, template_id, state, cpu_count, memory_mb, disk_size_mb,"
            + " access_token, metadata, allow_internet, auto_pause, started_at, end_at, ended_at, traffic_token,"
            + " auto_resume, timeout_ms";

    private final Database db;

    public SandboxStore(Database db) {
        this.db = db;
    }

    public void insert(SandboxRow row) {
        db.with(c -> insert(c, row));
    }

    /**
     * A new sandbox's row, its outbound rules and its first log line, in one transaction: one commit instead of three
     * on the create path, and no half-recorded sandbox.
     */
    public void insertCreated(SandboxRow row, dev.boxwood.server.network.EgressRules rules, String event) {
        db.inTransaction(c -> {
            insert(c, row);
            saveEgress(c, row.id(), rules);
            addEvent(c, row.id(), "info", event);
            return null;
        });
    }

    private static int insert(java.sql.Connection c, SandboxRow row) throws SQLException {
        try (PreparedStatement ins = c.prepareStatement("INSERT INTO sandboxes (" + COLUMNS
                + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ins.setString(1, row.id());
            ins.setString(2, row.teamId());
            ins.setString(3, row.templateId());
            ins.setString(4, row.status().db());
            ins.setInt(5, row.cpuCount());
            ins.setInt(6, row.memoryMB());
            ins.setInt(7, row.diskSizeMB());
            ins.setString(8, row.accessToken());
            ins.setString(9, toJson(row.metadata()));
            if (row.allowInternetAccess() == null) ins.setNull(10, Types.INTEGER);
            else ins.setInt(10, row.allowInternetAccess() ? 1 : 0);
            ins.setInt(11, row.autoPause() ? 1 : 0);
            ins.setLong(12, row.startedAt().toEpochMilli());
            ins.setLong(13, row.endAt().toEpochMilli());
            if (row.endedAt() == null) ins.setNull(14, Types.INTEGER);
            else ins.setLong(14, row.endedAt().toEpochMilli());
            ins.setString(15, row.trafficToken());
            ins.setInt(16, row.autoResume() ? 1 : 0);
            ins.setLong(17, row.timeout().toMillis());
            return ins.executeUpdate();
        }
    }

    /** Stores a sandbox's outbound rules, replacing earlier ones. */
    public void saveEgress(String id, dev.boxwood.server.network.EgressRules rules) {
        db.with(c -> saveEgress(c, id, rules));
    }

    private static int saveEgress(java.sql.Connection c, String id, dev.boxwood.server.network.EgressRules rules)
            throws SQLException {
        try (PreparedStatement up = c.prepareStatement("INSERT OR REPLACE INTO sandbox_egress"
                + " (sandbox_id, allow_internet, allow_out, deny_out, updated_at) VALUES (?, ?, ?, ?, ?)")) {
            up.setString(1, id);
            up.setInt(2, rules.internet() ? 1 : 0);
            up.setString(3, JSON.writeValueAsString(rules.allowOut()));
            up.setString(4, JSON.writeValueAsString(rules.denyOut()));
            up.setLong(5, System.currentTimeMillis());
            return up.executeUpdate();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A sandbox's stored outbound rules, if any were stored. */
    public Optional<dev.boxwood.server.network.EgressRules> egress(String id) {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement(
                    "SELECT allow_internet, allow_out, deny_out FROM sandbox_egress WHERE sandbox_id = ?")) {
                q.setString(1, id);
                try (ResultSet rs = q.executeQuery()) {
                    if (!rs.next()) return Optional.empty();
                    TypeReference<List<String>> strings = new TypeReference<>() {};
                    return Optional.of(dev.boxwood.server.network.EgressRules.parse(rs.getInt(1) == 1,
                            JSON.readValue(rs.getString(2), strings), JSON.readValue(rs.getString(3), strings)));
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
    }

    public void updateEndAt(String id, Instant endAt) {
        db.with(c -> {
            try (PreparedStatement up = c.prepareStatement("UPDATE sandboxes SET end_at = ? WHERE id = ?")) {
                up.setLong(1, endAt.toEpochMilli());
                up.setString(2, id);
                return up.executeUpdate();
            }
        });
    }

    /** Pause/resume: the new state and end (timeout, or retention while paused) of a live sandbox. */
    public boolean updateState(String id, SandboxRow.Status status, Instant endAt) {
        return db.with(c -> {
            try (PreparedStatement up = c.prepareStatement("UPDATE sandboxes SET state = ?, end_at = ?"
                    + " WHERE id = ? AND state IN ('running', 'paused')")) {
                up.setString(1, status.db());
                up.setLong(2, endAt.toEpochMilli());
                up.setString(3, id);
                return up.executeUpdate() == 1;
            }
        });
    }

    /** Auto-pause and auto-resume of a live sandbox (E2B's {@code lifecycle}). */
    public void updateLifecycle(String id, boolean autoPause, boolean autoResume) {
        db.with(c -> {
            try (PreparedStatement up = c.prepareStatement(
                    "UPDATE sandboxes SET auto_pause = ?, auto_resume = ? WHERE id = ?")) {
                up.setInt(1, autoPause ? 1 : 0);
                up.setInt(2, autoResume ? 1 : 0);
                up.setString(3, id);
                return up.executeUpdate();
            }
        });
    }

    /** Records that a running or paused sandbox ended; returns false if it had already ended. */
    public boolean markEnded(String id, SandboxRow.Status status, Instant when) {
        return db.with(c -> {
            try (PreparedStatement up = c.prepareStatement("UPDATE sandboxes SET state = ?, ended_at = ?"
                    + " WHERE id = ? AND state IN ('running', 'paused')")) {
                up.setString(1, status.db());
                up.setLong(2, when.toEpochMilli());
                up.setString(3, id);
                return up.executeUpdate() == 1;
            }
        });
    }

    public Optional<SandboxRow> find(String id) {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement("SELECT " + COLUMNS + " FROM sandboxes WHERE id = ?")) {
                q.setString(1, id);
                ResultSet rs = q.executeQuery();
                return rs.next() ? Optional.of(read(rs)) : Optional.empty();
            }
        });
    }

    /** Every sandbox the database believes is running or paused, across teams (for recovery after a restart). */
    public List<SandboxRow> running() {
        return query("SELECT " + COLUMNS + " FROM sandboxes WHERE state IN ('running', 'paused') ORDER BY started_at", null);
    }

    /** A team's running sandboxes, newest first. */
    public List<SandboxRow> runningOf(String teamId) {
        return query("SELECT " + COLUMNS + " FROM sandboxes WHERE state = 'running' AND team_id = ?"
                + " ORDER BY started_at DESC, id DESC", teamId);
    }

    public long countStartedFrom(String templateId) {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement("SELECT COUNT(*) FROM sandboxes WHERE template_id = ?")) {
                q.setString(1, templateId);
                ResultSet rs = q.executeQuery();
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    public void addEvent(String sandboxId, String level, String message) {
        db.with(c -> addEvent(c, sandboxId, level, message));
    }

    private static int addEvent(java.sql.Connection c, String sandboxId, String level, String message) throws SQLException {
        try (PreparedStatement ins = c.prepareStatement(
                "INSERT INTO sandbox_events (sandbox_id, at, level, message) VALUES (?, ?, ?, ?)")) {
            ins.setString(1, sandboxId);
            ins.setLong(2, System.currentTimeMillis());
            ins.setString(3, level);
            ins.setString(4, message);
            return ins.executeUpdate();
        }
    }

    /** Log lines at or after {@code from}, oldest first, at most {@code limit}. */
    public List<SandboxEvent> events(String sandboxId, Instant from, int limit) {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement("SELECT at, level, message FROM sandbox_events"
                    + " WHERE sandbox_id = ? AND at >= ? ORDER BY at, seq LIMIT ?")) {
                q.setString(1, sandboxId);
                q.setLong(2, from.toEpochMilli());
                q.setInt(3, limit);
                ResultSet rs = q.executeQuery();
                List<SandboxEvent> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(new SandboxEvent(Instant.ofEpochMilli(rs.getLong(1)), rs.getString(2), rs.getString(3)));
                }
                return out;
            }
        });
    }

    private List<SandboxRow> query(String sql, String param) {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement(sql)) {
                if (param != null) q.setString(1, param);
                ResultSet rs = q.executeQuery();
                List<SandboxRow> out = new ArrayList<>();
                while (rs.next()) out.add(read(rs));
                return out;
            }
        });
    }

    private static SandboxRow read(ResultSet rs) throws SQLException {
        int allow = rs.getInt(10);
        Boolean allowInternet = rs.wasNull() ? null : allow != 0;
        long ended = rs.getLong(14);
        Instant endedAt = rs.wasNull() ? null : Instant.ofEpochMilli(ended);
        return new SandboxRow(rs.getString(1), rs.getString(2), rs.getString(3), SandboxRow.Status.of(rs.getString(4)),
                rs.getInt(5), rs.getInt(6), rs.getInt(7), rs.getString(8), fromJson(rs.getString(9)), allowInternet,
                rs.getInt(11) != 0, Instant.ofEpochMilli(rs.getLong(12)), Instant.ofEpochMilli(rs.getLong(13)), endedAt,
                rs.getString(15), rs.getInt(16) != 0, timeout(rs));
    }

    /** Rows from before V4 have no timeout: their first one was the distance from start to end. */
    private static java.time.Duration timeout(ResultSet rs) throws SQLException {
        long ms = rs.getLong(17);
        if (rs.wasNull()) return java.time.Duration.ofMillis(Math.max(0, rs.getLong(13) - rs.getLong(12)));
        return java.time.Duration.ofMillis(ms);
    }

    private static String toJson(Map<String, String> map) {
        try {
            return JSON.writeValueAsString(map == null ? Map.of() : map);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> fromJson(String s) {
        try {
            return JSON.readValue(s, STRING_MAP);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("corrupt metadata column", e);
        }
    }

}
