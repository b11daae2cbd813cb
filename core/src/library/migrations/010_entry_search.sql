-- Matching, ranking and counting read one full-text document per entry:
-- its name, metadata values and text sidecars together, under the entry's
-- row id. The per-field documents (search_fts) still say why an entry
-- matched, for the page of results shown. Before, a word held by a tenth
-- of a million entries meant scoring every matching field document and
-- joining each to its entry: half a second per query.
CREATE VIRTUAL TABLE entry_fts USING fts5(
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
-- Entries whose documents changed in the transaction, rebuilt at its end
-- (`library::write_tx`). `fresh`: queued first by the insert of its name
-- document, which happens only when the entry itself is inserted, so there
-- is no older row of it to delete. Upserts, not `OR IGNORE`: an outer
-- statement's conflict policy (`OR REPLACE`, `OR ABORT`) overrides a
-- trigger's `OR` clause, but not its upsert.
CREATE TABLE entry_search_pending (entry_id INTEGER PRIMARY KEY, fresh INTEGER NOT NULL);
CREATE TRIGGER search_docs_entry_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO entry_search_pending(entry_id, fresh) VALUES (new.entry_id, new.source = 'name')
    ON CONFLICT(entry_id) DO NOTHING;
END;
CREATE TRIGGER search_docs_entry_au AFTER UPDATE OF body ON search_docs BEGIN
    INSERT INTO entry_search_pending(entry_id, fresh) VALUES (new.entry_id, 0)
    ON CONFLICT(entry_id) DO NOTHING;
END;
CREATE TRIGGER search_docs_entry_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO entry_search_pending(entry_id, fresh) VALUES (old.entry_id, 0)
    ON CONFLICT(entry_id) DO NOTHING;
END;
INSERT INTO entry_fts(rowid, body)
SELECT entry_id, group_concat(body, char(10)) FROM search_docs GROUP BY entry_id;
