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
