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
