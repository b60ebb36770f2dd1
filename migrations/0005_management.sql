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
