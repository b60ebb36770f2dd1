-- Replacement lookups (pubkey, kind, d_tag) are served by
-- events_pubkey_kind_time; a separate address index only cost one more random
-- index write per stored event (measured: SQLite page writes dominate ingest).
DROP INDEX IF EXISTS events_address;
