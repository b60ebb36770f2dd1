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
