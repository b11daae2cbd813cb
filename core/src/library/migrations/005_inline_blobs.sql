-- Small sidecar blobs live in the database: written in the same transaction
-- as the row that names them, with no file to create and fsync. Larger ones
-- stay in the content-addressed folder.
CREATE TABLE sidecar_blobs (
    hash TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
