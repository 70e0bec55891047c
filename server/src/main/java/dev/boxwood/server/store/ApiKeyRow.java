package dev.boxwood.server.store;

import java.time.Instant;

/** A stored API key; only its hash and the first few characters are kept. */
public record ApiKeyRow(String id, String teamId, String teamName, String prefix, Instant createdAt, Instant revokedAt) {
    public boolean revoked() {
        return revokedAt != null;
    }
}
