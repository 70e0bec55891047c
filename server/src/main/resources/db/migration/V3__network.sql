-- A sandbox's outbound rules (E2B's allow_internet_access, network.allowOut and network.denyOut), as last set at
-- create or through PUT /sandboxes/{id}/network. Re-applied when a restarted server reattaches the sandbox.
CREATE TABLE sandbox_egress (
    sandbox_id     TEXT PRIMARY KEY,
    allow_internet INTEGER NOT NULL,
    allow_out      TEXT NOT NULL, -- JSON array of addresses, CIDRs, domains and *.domains
    deny_out       TEXT NOT NULL, -- JSON array of addresses and CIDRs
    updated_at     INTEGER NOT NULL
);
