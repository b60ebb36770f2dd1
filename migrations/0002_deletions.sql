-- NIP-09 tombstones: what authors deleted, so a deleted event published again
-- stays deleted. target is an event id (hex) or an address "kind:pubkey:d";
-- for addresses, versions with created_at <= created_at are deleted.
CREATE TABLE IF NOT EXISTS deletions (
  pubkey     TEXT    NOT NULL,
  target     TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (target, pubkey)
) WITHOUT ROWID;
