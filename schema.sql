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
-- NIP-86 management state (core/management.h). The relay objects load it and
-- re-read it when mgmt_version changes; the Worker reads mgmt_settings for
-- NIP-11 and the relay page. state: 0 = banned / disallowed, 1 = allowed.
CREATE TABLE IF NOT EXISTS mgmt_pubkeys (
  pubkey TEXT    NOT NULL PRIMARY KEY,
  state  INTEGER NOT NULL,
  reason TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS mgmt_events (
  id     TEXT    NOT NULL PRIMARY KEY,
  state  INTEGER NOT NULL,
  reason TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS mgmt_kinds (
  kind  INTEGER NOT NULL PRIMARY KEY,
  state INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mgmt_ips (
  ip     TEXT NOT NULL PRIMARY KEY,
  reason TEXT NOT NULL DEFAULT ''
);
-- name, description, icon (NIP-11 overrides), maintenance ('' = off, else the reason).
CREATE TABLE IF NOT EXISTS mgmt_settings (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
);
-- Bumped by every change: objects compare it to decide whether to reload.
CREATE TABLE IF NOT EXISTS mgmt_version (
  id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 0),
  version INTEGER NOT NULL
);
INSERT OR IGNORE INTO mgmt_version (id, version) VALUES (0, 0);
-- NIP-98 authorization event ids already used (replay protection), kept a
-- few minutes.
CREATE TABLE IF NOT EXISTS mgmt_auth_ids (
  id         TEXT    NOT NULL PRIMARY KEY,
  created_at INTEGER NOT NULL
);
-- NIP-50 search: a full-text index over the content of the kinds listed in
-- search_kinds (the relay keeps that table equal to its `search_kinds`
-- setting). Triggers keep it in step with events inside every statement that
-- inserts or deletes one, so the store batch, replacement, NIP-09, NIP-62,
-- expiry and bans all maintain it atomically. The tokenizer is the one
-- core/search.cpp reproduces for live matching (scripts/gen-unicode61.mjs).
-- The index row's rowid is the event row's rowid (events keeps its rowids:
-- never VACUUM it without rebuilding events_fts).
CREATE TABLE IF NOT EXISTS search_kinds (kind INTEGER NOT NULL PRIMARY KEY);
INSERT OR IGNORE INTO search_kinds (kind) VALUES (0), (1), (1111), (9802), (30023);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(content, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS events_fts_insert AFTER INSERT ON events
  WHEN new.kind IN (SELECT kind FROM search_kinds)
BEGIN
  INSERT INTO events_fts (rowid, content) VALUES (new.rowid, json_extract(new.raw, '$.content'));
END;
CREATE TRIGGER IF NOT EXISTS events_fts_delete AFTER DELETE ON events
BEGIN
  DELETE FROM events_fts WHERE rowid = old.rowid;
END;
-- Events stored before this migration.
INSERT INTO events_fts (rowid, content)
  SELECT rowid, json_extract(raw, '$.content') FROM events
  WHERE kind IN (SELECT kind FROM search_kinds) AND rowid NOT IN (SELECT rowid FROM events_fts);
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
-- Several relay objects (regions x shards): each publishes a summary of what
-- its live subscriptions can match (durable/interest.h: "" nothing, "*"
-- everything, else a Bloom filter of index keys). A publisher reads the rows
-- that changed in the same batch that stores its events, and forwards each
-- stored event only to objects whose summary may match it. version grows with
-- every publication of a row (a late, older one never replaces it).
CREATE TABLE IF NOT EXISTS relay_objects (
  name       TEXT    NOT NULL PRIMARY KEY,
  version    INTEGER NOT NULL,
  summary    TEXT    NOT NULL,
  updated_at INTEGER NOT NULL
);
-- Retention (core/config.h Retention): one relay object at a time prunes,
-- holding this lease until `until`; each pruned batch is archived first (R2
-- on Cloudflare, files natively) and recorded here, so scripts/restore-archive
-- finds every archive to restore.
CREATE TABLE IF NOT EXISTS retention_lease (
  id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 0),
  holder TEXT    NOT NULL,
  until  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS archives (
  key         TEXT    NOT NULL PRIMARY KEY,
  events      INTEGER NOT NULL,
  first_at    INTEGER NOT NULL,
  last_at     INTEGER NOT NULL,
  archived_at INTEGER NOT NULL
);
-- Stored queries are answered from the time indexes alone: id and expires_at
-- ride in them, so the answer's order (created_at DESC, id ASC) and the
-- NIP-40 check need no table row per candidate (a feed of 100 authors read
-- every candidate's row: 3.0 ms -> 1.0 ms in SQLite on the bench's 100,000
-- events); rows are read by rowid only for the answer (core/read_plan.cpp).
-- Index rows written per event are unchanged (wider entries, not more); only
-- the two indexes the common shapes use (authors+kinds, kinds) are widened:
-- with all four wide, native ingest cost 17% more CPU per event.
DROP INDEX IF EXISTS events_pubkey_kind_time;
CREATE INDEX IF NOT EXISTS events_pubkey_kind_time ON events (pubkey, kind, created_at DESC, id, expires_at);
DROP INDEX IF EXISTS events_kind_time;
CREATE INDEX IF NOT EXISTS events_kind_time ON events (kind, created_at DESC, id, expires_at);
