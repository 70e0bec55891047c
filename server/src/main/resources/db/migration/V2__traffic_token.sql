-- Set for sandboxes created with network.allowPublicTraffic=false: ports other than the agent's then need the
-- E2B-Traffic-Access-Token header.
ALTER TABLE sandboxes ADD COLUMN traffic_token TEXT;
