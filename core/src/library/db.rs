//! Opening a library database: a pool of WAL connections with foreign keys on,
//! migrated to the current schema.

use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite_migration::{M, Migrations};

use crate::error::{OpError, OpResult};

/// Pool of connections to one library database.
pub type Pool = r2d2::Pool<SqliteConnectionManager>;

const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("migrations/001_init.sql")),
    M::up(include_str!("migrations/002_jobs.sql")),
    M::up(include_str!("migrations/003_embeddings.sql")),
    M::up(include_str!("migrations/004_events.sql")),
    M::up(include_str!("migrations/005_inline_blobs.sql")),
    M::up(include_str!("migrations/006_listing_indexes.sql")),
    M::up(include_str!("migrations/007_search_prefixes.sql")),
    M::up(include_str!("migrations/008_search_pending.sql")),
    M::up(include_str!("migrations/009_job_error_code.sql")),
    M::up(include_str!("migrations/010_entry_search.sql")),
    M::up(include_str!("migrations/011_drop_field_index.sql")),
    M::up(include_str!("migrations/012_kind_id_index.sql")),
    M::up(include_str!("migrations/013_metadata_kind.sql")),
    M::up(include_str!("migrations/014_location_added_since.sql")),
    M::up(include_str!("migrations/015_job_runner.sql")),
];

/// Connections per library. Readers run in parallel under WAL; writers queue
/// on SQLite's lock with a busy timeout.
const POOL_SIZE: u32 = 8;

/// Opens (creating if needed) the database at `path`, migrates it and returns
/// a pool.
pub fn open(path: &Path) -> OpResult<Pool> {
    {
        // Migrate on a dedicated connection first, so pool connections never
        // see a half-migrated schema.
        let mut conn = rusqlite::Connection::open(path)?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn).map_err(|e| {
            OpError::internal(format!(
                "could not migrate {}: {e}; the file may come from a newer version of sd",
                path.display()
            ))
        })?;
        // A migration may have rewritten much of the file (a new index):
        // copied back here, before the library serves anyone, rather than
        // by the checkpoint thread under the first queries. Passive, so it
        // never waits for another process using the library; what it
        // cannot copy now, that thread copies later.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "checkpoint after migrating did not complete");
        }
    }
    let manager = SqliteConnectionManager::file(path).with_init(|c| configure(c));
    let pool = r2d2::Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(30))
        .build(manager)?;
    Ok(pool)
}

/// A connection outside the pool, configured like the pool's, for work
/// that tunes its connection (a scan's larger page cache) and must not hand
/// that tuning back to the pool.
pub fn open_dedicated(path: &Path) -> OpResult<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    configure(&conn)?;
    Ok(conn)
}

/// How long a library connection waits for another's lock before failing
/// with `SQLITE_BUSY`.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn configure(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Statement journals (every statement of a transaction that fires
    // triggers keeps one) stay in memory instead of a temporary file that
    // each changed page is written to.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Commits do not checkpoint; the library's checkpoint thread does, and
    // a commit only bounds the log (`checkpoint.rs`). A log grown past this
    // is cut back to it when it starts over.
    conn.wal_hook(Some(super::checkpoint::bound_log));
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(rusqlite_migration::Migrations::from_slice(super::MIGRATIONS).validate().is_ok());
    }

    /// Metadata written before migration 13 learns its entry's kind, and
    /// follows later changes of kind.
    #[test]
    fn metadata_carries_its_entrys_kind_across_the_migration() {
        let migrations = rusqlite_migration::Migrations::from_slice(super::MIGRATIONS);
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        migrations.to_version(&mut conn, 12).unwrap();
        conn.execute_batch(
            "INSERT INTO entries(id, uuid, name, kind, indexed_ns, owner) VALUES (1, 'a', 'a', 'receipt', 0, 'user'), \
                 (2, 'b', 'b', 'note', 0, 'user');
             INSERT INTO metadata(entry_id, namespace, key, value, value_text, updated_ns) VALUES \
                 (1, 'user', 'vendor', '\"acme\"', 'acme', 0), (2, 'user', 'vendor', '\"acme\"', 'acme', 0);",
        )
        .unwrap();
        migrations.to_latest(&mut conn).unwrap();
        let kinds = |conn: &rusqlite::Connection| -> Vec<String> {
            let mut stmt = conn.prepare("SELECT kind FROM metadata ORDER BY entry_id").unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
        };
        assert_eq!(kinds(&conn), ["receipt", "note"]);
        conn.execute("UPDATE entries SET kind = 'invoice' WHERE id = 2", []).unwrap();
        assert_eq!(kinds(&conn), ["receipt", "invoice"]);
    }
}
