-- D1 schema: the events store (source of truth). migrations/ holds the same
-- statements split by version (a test checks schema.sql == cat migrations/*.sql).
--
-- events.raw is the exact JSON the client sent: the relay returns it verbatim.
-- d_tag is '' except for addressable kinds; expires_at is NIP-40 (NULL = never).
CREATE TABLE IF NOT EXISTS events (
  id         TEXT    NOT NULL PRIMARY KEY,
  pubkey     TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  kind       INTEGER NOT NULL,
  d_tag      TEXT    NOT NULL DEFAULT '',
  expires_at INTEGER,
  raw        TEXT    NOT NULL
);
-- authors (+kinds) ordered by time; also serves replaceable lookups.
CREATE INDEX IF NOT EXISTS events_pubkey_kind_time ON events (pubkey, kind, created_at DESC);
CREATE INDEX IF NOT EXISTS events_pubkey_time ON events (pubkey, created_at DESC);
-- kinds ordered by time.
CREATE INDEX IF NOT EXISTS events_kind_time ON events (kind, created_at DESC);
-- everything ordered by time (filters with only since/until/limit).
CREATE INDEX IF NOT EXISTS events_time ON events (created_at DESC);

-- One row per single-letter tag [name, value, ...] of a stored event.
CREATE TABLE IF NOT EXISTS tags (
  event_id   TEXT    NOT NULL,
  name       TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  kind       INTEGER NOT NULL,
  PRIMARY KEY (name, value, created_at, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_event ON tags (event_id);
-- NIP-09 tombstones: what authors deleted, so a deleted event published again
-- stays deleted. target is an event id (hex) or an address "kind:pubkey:d";
-- for addresses, versions with created_at <= created_at are deleted.
CREATE TABLE IF NOT EXISTS deletions (
  pubkey     TEXT    NOT NULL,
  target     TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (target, pubkey)
) WITHOUT ROWID;
-- Replacement lookups (pubkey, kind, d_tag) are served by
-- events_pubkey_kind_time; a separate address index only cost one more random
-- index write per stored event (measured: SQLite page writes dominate ingest).
DROP INDEX IF EXISTS events_address;
-- NIP-40 expiry sweeps (plan_expiry_sweep) find expired events by this index;
-- only events with an expiration are in it.
CREATE INDEX IF NOT EXISTS events_expires ON events (expires_at) WHERE expires_at IS NOT NULL;
