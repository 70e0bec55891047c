package dev.boxwood.server.store;

import dev.boxwood.server.auth.ApiKeys;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Teams and their API keys. */
public final class TeamStore {
    private final Database db;

    public TeamStore(Database db) {
        this.db = db;
    }

    /** The team called {@code name}, created if it does not exist yet (safe against concurrent callers). */
    public Team ensureTeam(String name) {
        db.with(c -> {
            try (PreparedStatement ins = c.prepareStatement(
                    "INSERT OR IGNORE INTO teams (id, name, created_at) VALUES (?, ?, ?)")) {
                ins.setString(1, "team_" + ApiKeys.randomHex(8));
                ins.setString(2, name);
                ins.setLong(3, System.currentTimeMillis());
                return ins.executeUpdate();
            }
        });
        return teamByName(name).orElseThrow();
    }

    public Optional<Team> teamByName(String name) {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement("SELECT id FROM teams WHERE name = ?")) {
                q.setString(1, name);
                ResultSet rs = q.executeQuery();
                return rs.next() ? Optional.of(new Team(rs.getString(1), name)) : Optional.empty();
            }
        });
    }

    /** Creates a key for the team and returns its plaintext, which is never stored. */
    public String createKey(Team team) {
        String key = ApiKeys.generate();
        db.with(c -> {
            try (PreparedStatement ins = c.prepareStatement(
                    "INSERT INTO api_keys (id, team_id, key_hash, mask, created_at) VALUES (?, ?, ?, ?, ?)")) {
                ins.setString(1, "key_" + ApiKeys.randomHex(8));
                ins.setString(2, team.id());
                ins.setString(3, ApiKeys.hash(key));
                ins.setString(4, ApiKeys.visiblePrefix(key));
                ins.setLong(5, System.currentTimeMillis());
                return ins.executeUpdate();
            }
        });
        return key;
    }

    /**
     * The team owning this (unrevoked) key. Keys found valid are remembered (by their hash) together with the
     * {@code api_key_generation} counter read before the lookup; any change to api_keys bumps it (V6's triggers), so a
     * remembered key costs one read of that counter per call, and a revocation from anywhere is seen at once.
     */
    public Optional<Team> teamForKey(String key) {
        if (!ApiKeys.wellFormed(key)) return Optional.empty();
        String hash = ApiKeys.hash(key);
        long generation = keyGeneration();
        VerifiedKey known = verified.get(hash);
        if (known != null && known.generation() == generation) return Optional.of(known.team());
        Optional<Team> team = lookUp(hash);
        if (team.isPresent()) verified.put(hash, new VerifiedKey(team.get(), generation));
        else verified.remove(hash);
        return team;
    }

    private record VerifiedKey(Team team, long generation) {}

    private final java.util.concurrent.ConcurrentHashMap<String, VerifiedKey> verified = new java.util.concurrent.ConcurrentHashMap<>();

    private long keyGeneration() {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement("SELECT n FROM api_key_generation WHERE id = 1")) {
                ResultSet rs = q.executeQuery();
                return rs.next() ? rs.getLong(1) : -1L;
            }
        });
    }

    private Optional<Team> lookUp(String hash) {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement("""
                    SELECT t.id, t.name FROM api_keys k JOIN teams t ON t.id = k.team_id
                    WHERE k.key_hash = ? AND k.revoked_at IS NULL""")) {
                q.setString(1, hash);
                ResultSet rs = q.executeQuery();
                return rs.next() ? Optional.of(new Team(rs.getString(1), rs.getString(2))) : Optional.empty();
            }
        });
    }

    public List<ApiKeyRow> listKeys() {
        return db.with(c -> {
            try (PreparedStatement q = c.prepareStatement("""
                    SELECT k.id, k.team_id, t.name, k.mask, k.created_at, k.revoked_at
                    FROM api_keys k JOIN teams t ON t.id = k.team_id ORDER BY k.created_at, k.id""")) {
                ResultSet rs = q.executeQuery();
                List<ApiKeyRow> out = new ArrayList<>();
                while (rs.next()) {
                    long revoked = rs.getLong(6);
                    Instant revokedAt = rs.wasNull() ? null : Instant.ofEpochMilli(revoked);
                    out.add(new ApiKeyRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            Instant.ofEpochMilli(rs.getLong(5)), revokedAt));
                }
                return out;
            }
        });
    }

    /**
     * Revokes the one key named by its id, its full text, or a prefix of it (at least the visible prefix).
     * Returns the revoked key; throws {@link IllegalArgumentException} when nothing or more than one key matches.
     */
    public ApiKeyRow revoke(String idOrPrefix) {
        List<ApiKeyRow> matches = listKeys().stream().filter(k -> !k.revoked()).filter(k -> matches(k, idOrPrefix)).toList();
        if (matches.isEmpty()) throw new IllegalArgumentException("no active key matches '" + shown(idOrPrefix) + "'");
        if (matches.size() > 1) {
            throw new IllegalArgumentException(matches.size() + " active keys match '" + shown(idOrPrefix)
                    + "'; give the key id (see keys list)");
        }
        ApiKeyRow key = matches.getFirst();
        db.with(c -> {
            try (PreparedStatement up = c.prepareStatement("UPDATE api_keys SET revoked_at = ? WHERE id = ?")) {
                up.setLong(1, System.currentTimeMillis());
                up.setString(2, key.id());
                return up.executeUpdate();
            }
        });
        return key;
    }

    private boolean matches(ApiKeyRow key, String arg) {
        if (key.id().equals(arg)) return true;
        if (ApiKeys.wellFormed(arg)) {
            return db.with(c -> {
                try (PreparedStatement q = c.prepareStatement("SELECT 1 FROM api_keys WHERE id = ? AND key_hash = ?")) {
                    q.setString(1, key.id());
                    q.setString(2, ApiKeys.hash(arg));
                    return q.executeQuery().next();
                }
            });
        }
        // A prefix shorter than the visible part would match too many keys by accident.
        return arg.startsWith("e2b_") && arg.length() >= 8 && (key.prefix().startsWith(arg) || arg.startsWith(key.prefix()));
    }

    /** Echoes a user's argument without ever printing more of a key than {@code keys list} does. */
    private static String shown(String arg) {
        return arg.startsWith("e2b_") ? ApiKeys.visiblePrefix(arg) + "…" : arg;
    }
}
