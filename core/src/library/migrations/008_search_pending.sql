-- New search documents wait in `search_pending` and enter the full-text index
-- together, once per transaction (`library::write_tx`), instead of one row at
-- a time: FTS5 writes its pending terms to disk at every statement of a
-- transaction that fires triggers, so a row-at-a-time index costs a flush
-- per inserted entry, metadata value and sidecar. A document still pending
-- when it changes or goes away is simply dropped from the queue: the flush
-- reads current bodies.
CREATE TABLE search_pending (id INTEGER PRIMARY KEY);
DROP TRIGGER search_docs_ai;
DROP TRIGGER search_docs_ad;
DROP TRIGGER search_docs_au;
CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT OR IGNORE INTO search_pending(id) VALUES (new.id);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts(search_fts, rowid, body)
    SELECT 'delete', old.id, old.body WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE id = old.id);
    DELETE FROM search_pending WHERE id = old.id;
END;
CREATE TRIGGER search_docs_au AFTER UPDATE OF body ON search_docs
WHEN NOT EXISTS (SELECT 1 FROM search_pending WHERE id = old.id) BEGIN
    INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body);
END;
