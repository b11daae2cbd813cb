-- Jobs, version 2: durable, resumable work with progress and checkpoints.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    owner         TEXT NOT NULL,
    name          TEXT NOT NULL,
    input         TEXT NOT NULL,
    state         TEXT NOT NULL,
    progress      REAL NOT NULL DEFAULT 0,
    message       TEXT NOT NULL DEFAULT '',
    warnings      TEXT NOT NULL DEFAULT '[]',
    items         INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    checkpoint    TEXT,
    checkpoints   INTEGER NOT NULL DEFAULT 0,
    resumed_from  TEXT,
    runs          INTEGER NOT NULL DEFAULT 0,
    output        TEXT,
    error         TEXT,
    created_ns    INTEGER NOT NULL,
    started_ns    INTEGER,
    updated_ns    INTEGER NOT NULL,
    finished_ns   INTEGER
);
CREATE INDEX jobs_state ON jobs(state);
