-- NIP-40 expiry sweeps (plan_expiry_sweep) find expired events by this index;
-- only events with an expiration are in it.
CREATE INDEX IF NOT EXISTS events_expires ON events (expires_at) WHERE expires_at IS NOT NULL;
