-- The server keeps API keys it has verified in memory. Any change to api_keys (a revocation, from this process or
-- from `boxwood keys revoke` in another) bumps this counter, and a cached key is trusted only while the counter
-- has the value it had when the key was verified: one tiny read per request instead of the key lookup.
CREATE TABLE api_key_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO api_key_generation (id, n) VALUES (1, 0);

CREATE TRIGGER api_keys_updated AFTER UPDATE ON api_keys
BEGIN
    UPDATE api_key_generation SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys
BEGIN
    UPDATE api_key_generation SET n = n + 1 WHERE id = 1;
END;
