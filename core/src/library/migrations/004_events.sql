-- Events: a durable, ordered log of what happened in the library, written
-- by triggers so every change is published whoever made it (the daemon, or
-- the CLI in its own process while no daemon runs). Extensions read it
-- through their own cursor; the log is pruned to a bounded size, and a
-- cursor left behind by pruning counts what it lost.

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    entry_uuid TEXT,
    detail     TEXT NOT NULL,
    at_ns      INTEGER NOT NULL
);

-- Bounded: every thousandth event drops those more than 100,000 behind.
CREATE TRIGGER events_prune AFTER INSERT ON events WHEN new.seq % 1000 = 0 BEGIN
    DELETE FROM events WHERE seq <= new.seq - 100000;
END;

CREATE TABLE event_cursors (
    extension TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER events_entry_created AFTER INSERT ON entries BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) VALUES ('entry.created', new.uuid,
        json_object('name', new.name, 'kind', new.kind, 'owner', new.owner, 'size', new.size,
                    'rel_path', new.rel_path, 'content_hash', new.content_hash),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER));
END;
CREATE TRIGGER events_entry_modified AFTER UPDATE OF content_hash, size ON entries
WHEN old.content_hash IS NOT new.content_hash OR old.size IS NOT new.size BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) VALUES ('entry.modified', new.uuid,
        json_object('name', new.name, 'kind', new.kind, 'size', new.size, 'content_hash', new.content_hash),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER));
END;
CREATE TRIGGER events_entry_moved AFTER UPDATE OF parent_id, rel_path, name ON entries
WHEN old.parent_id IS NOT new.parent_id OR old.rel_path IS NOT new.rel_path OR old.name IS NOT new.name BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) VALUES ('entry.moved', new.uuid,
        json_object('name', new.name, 'from', old.rel_path, 'to', new.rel_path),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER));
END;
CREATE TRIGGER events_entry_deleted AFTER DELETE ON entries BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) VALUES ('entry.deleted', old.uuid,
        json_object('name', old.name, 'kind', old.kind, 'rel_path', old.rel_path),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER));
END;
CREATE TRIGGER events_metadata_set AFTER INSERT ON metadata BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) SELECT 'metadata.updated', e.uuid,
        json_object('namespace', new.namespace, 'key', new.key, 'removed', json('false')),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER) FROM entries e WHERE e.id = new.entry_id;
END;
CREATE TRIGGER events_metadata_changed AFTER UPDATE OF value ON metadata BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) SELECT 'metadata.updated', e.uuid,
        json_object('namespace', new.namespace, 'key', new.key, 'removed', json('false')),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER) FROM entries e WHERE e.id = new.entry_id;
END;
CREATE TRIGGER events_metadata_removed AFTER DELETE ON metadata BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) SELECT 'metadata.updated', e.uuid,
        json_object('namespace', old.namespace, 'key', old.key, 'removed', json('true')),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER) FROM entries e WHERE e.id = old.entry_id;
END;
CREATE TRIGGER events_sidecar_written AFTER INSERT ON sidecars BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) SELECT 'sidecar.written', e.uuid,
        json_object('namespace', new.namespace, 'name', new.name, 'size', new.size, 'content_type', new.content_type),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER) FROM entries e WHERE e.id = new.entry_id;
END;
CREATE TRIGGER events_sidecar_rewritten AFTER UPDATE OF hash ON sidecars BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) SELECT 'sidecar.written', e.uuid,
        json_object('namespace', new.namespace, 'name', new.name, 'size', new.size, 'content_type', new.content_type),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER) FROM entries e WHERE e.id = new.entry_id;
END;
CREATE TRIGGER events_location_indexed AFTER UPDATE OF last_scan_completed_at ON locations
WHEN new.last_scan_completed_at IS NOT NULL BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) VALUES ('location.indexed', NULL,
        json_object('location_id', new.uuid, 'path', new.path),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER));
END;
CREATE TRIGGER events_job_state AFTER UPDATE OF state ON jobs WHEN old.state IS NOT new.state BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) VALUES ('job.state_changed', NULL,
        json_object('job_id', new.id, 'kind', new.kind, 'owner', new.owner, 'name', new.name,
                    'from', old.state, 'state', new.state),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER));
END;
CREATE TRIGGER events_job_created AFTER INSERT ON jobs BEGIN
    INSERT INTO events(kind, entry_uuid, detail, at_ns) VALUES ('job.state_changed', NULL,
        json_object('job_id', new.id, 'kind', new.kind, 'owner', new.owner, 'name', new.name,
                    'from', NULL, 'state', new.state),
        CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER));
END;
