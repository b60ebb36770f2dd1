-- NIP-62 requests to vanish: per pubkey, the latest request's created_at.
-- Nothing of that pubkey up to `until` is stored again (plan_store), and while
-- pending = 1 the relay deletes what is stored, a bounded batch at a time
-- (plan_vanish_step), resuming after a restart. The kind 62 events stay.
CREATE TABLE IF NOT EXISTS vanish (
  pubkey  TEXT    NOT NULL PRIMARY KEY,
  until   INTEGER NOT NULL,
  pending INTEGER NOT NULL DEFAULT 1
);
-- Scratch for one step's ids; empty between steps.
CREATE TABLE IF NOT EXISTS vanish_batch (id TEXT NOT NULL PRIMARY KEY);
