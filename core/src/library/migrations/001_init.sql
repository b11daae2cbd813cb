-- Library schema, version 1.

CREATE TABLE library_info (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE locations (
    id                     INTEGER PRIMARY KEY,
    uuid                   TEXT NOT NULL UNIQUE,
    path                   TEXT NOT NULL UNIQUE,
    follow_links           INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL,
    last_scan_started_at   INTEGER,
    last_scan_completed_at INTEGER
);

-- Indexed entries have a location and a path relative to its root ('' is the
-- root itself); virtual entries have neither.
CREATE TABLE entries (
    id           INTEGER PRIMARY KEY,
    uuid         TEXT NOT NULL UNIQUE,
    location_id  INTEGER REFERENCES locations(id) ON DELETE CASCADE,
    parent_id    INTEGER REFERENCES entries(id) ON DELETE CASCADE,
    rel_path     TEXT,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    size         INTEGER NOT NULL DEFAULT 0,
    created_ns   INTEGER,
    modified_ns  INTEGER,
    indexed_ns   INTEGER NOT NULL,
    content_hash TEXT,
    owner        TEXT NOT NULL,
    UNIQUE (location_id, rel_path)
);
CREATE INDEX entries_parent ON entries(parent_id);
CREATE INDEX entries_hash ON entries(content_hash);
CREATE INDEX entries_kind ON entries(kind);

-- One namespace per writer (`user`, or an extension id) so writers cannot
-- overwrite each other. `value` is JSON; `value_text` is its text form, used
-- by filters and search.
CREATE TABLE metadata (
    entry_id   INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    value_text TEXT NOT NULL,
    updated_ns INTEGER NOT NULL,
    PRIMARY KEY (entry_id, namespace, key)
) WITHOUT ROWID;
CREATE INDEX metadata_lookup ON metadata(namespace, key, value_text);

-- Sidecar blobs live in the sidecar store, named by their BLAKE3 hash.
CREATE TABLE sidecars (
    entry_id     INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    namespace    TEXT NOT NULL,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    created_ns   INTEGER NOT NULL,
    PRIMARY KEY (entry_id, namespace, name)
) WITHOUT ROWID;
CREATE INDEX sidecars_hash ON sidecars(hash);

-- Full-text search: one document per searchable field of an entry (its name,
-- each metadata value, each text sidecar), indexed by an external-content
-- FTS5 table kept in step by triggers.
CREATE TABLE search_docs (
    id       INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    source   TEXT NOT NULL,
    body     TEXT NOT NULL,
    UNIQUE (entry_id, source)
);
CREATE VIRTUAL TABLE search_fts USING fts5(
    body,
    content = 'search_docs',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER search_docs_au AFTER UPDATE OF body ON search_docs BEGIN
    INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body);
END;

CREATE TRIGGER entries_name_ai AFTER INSERT ON entries BEGIN
    INSERT INTO search_docs(entry_id, source, body) VALUES (new.id, 'name', new.name);
END;
CREATE TRIGGER entries_name_au AFTER UPDATE OF name ON entries BEGIN
    UPDATE search_docs SET body = new.name WHERE entry_id = new.id AND source = 'name';
END;

CREATE TRIGGER metadata_ai AFTER INSERT ON metadata BEGIN
    INSERT INTO search_docs(entry_id, source, body)
    VALUES (new.entry_id, 'metadata:' || new.namespace || '.' || new.key, new.value_text);
END;
CREATE TRIGGER metadata_au AFTER UPDATE OF value_text ON metadata BEGIN
    UPDATE search_docs SET body = new.value_text
    WHERE entry_id = new.entry_id AND source = 'metadata:' || new.namespace || '.' || new.key;
END;
CREATE TRIGGER metadata_ad AFTER DELETE ON metadata BEGIN
    DELETE FROM search_docs
    WHERE entry_id = old.entry_id AND source = 'metadata:' || old.namespace || '.' || old.key;
END;
CREATE TRIGGER sidecars_ad AFTER DELETE ON sidecars BEGIN
    DELETE FROM search_docs
    WHERE entry_id = old.entry_id AND source = 'sidecar:' || old.namespace || '/' || old.name;
END;
