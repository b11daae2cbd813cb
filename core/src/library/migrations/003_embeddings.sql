-- Semantic search: one vector per entry, embedded from the same text the
-- full-text index holds (its search_docs). Any change to an entry's
-- search_docs queues the entry; `ticket` changes with each change, so a
-- worker that embedded an older text does not dequeue a newer one.

CREATE TABLE entry_embeddings (
    entry_id INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
    model    TEXT NOT NULL,
    digest   TEXT NOT NULL,
    vector   BLOB NOT NULL,
    seq      INTEGER NOT NULL
);
-- (model, seq): new rows by sequence, and counts per model, without
-- reading the vectors.
CREATE INDEX entry_embeddings_model_seq ON entry_embeddings(model, seq);

-- No foreign key: the delete trigger below fires while an entry is being
-- deleted; rows for entries that are gone are dropped when taken.
CREATE TABLE embedding_queue (
    entry_id INTEGER PRIMARY KEY,
    ticket   INTEGER NOT NULL
);
INSERT INTO embedding_queue(entry_id, ticket) SELECT id, 0 FROM entries;

CREATE TRIGGER search_docs_embed_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO embedding_queue(entry_id, ticket) VALUES (new.entry_id, random())
    ON CONFLICT(entry_id) DO UPDATE SET ticket = excluded.ticket;
END;
CREATE TRIGGER search_docs_embed_au AFTER UPDATE OF body ON search_docs BEGIN
    INSERT INTO embedding_queue(entry_id, ticket) VALUES (new.entry_id, random())
    ON CONFLICT(entry_id) DO UPDATE SET ticket = excluded.ticket;
END;
CREATE TRIGGER search_docs_embed_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO embedding_queue(entry_id, ticket) VALUES (old.entry_id, random())
    ON CONFLICT(entry_id) DO UPDATE SET ticket = excluded.ticket;
END;
