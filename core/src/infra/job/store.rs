//! The jobs table: one row per job, in the job's library.

use rusqlite::{Connection, OptionalExtension, Row, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{ErrorCode, OpError, OpResult};
use crate::vdfs::{format_ns, now_ns};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a slot.
    Queued,
    /// Running.
    Running,
    /// Stopped at a checkpoint; `resume` continues it.
    Paused,
    /// Finished.
    Completed,
    /// Stopped by an error; `error` says why.
    Failed,
    /// Stopped on request.
    Cancelled,
}

impl JobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> JobState {
        match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "paused" => JobState::Paused,
            "completed" => JobState::Completed,
            "cancelled" => JobState::Cancelled,
            _ => JobState::Failed,
        }
    }

    /// Whether the job will not run again.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Completed | JobState::Failed | JobState::Cancelled)
    }
}

/// A job as clients see it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct JobInfo {
    /// Job id.
    pub id: Uuid,
    /// Library the job runs in.
    pub library_id: Uuid,
    /// `index_location`, or `extension`.
    pub kind: String,
    /// `core`, or the extension id.
    pub owner: String,
    /// Job name.
    pub name: String,
    /// State.
    pub state: JobState,
    /// Fraction done, 0 to 1.
    pub progress: f64,
    /// Latest progress message.
    pub message: String,
    /// Warnings so far.
    pub warnings: Vec<String>,
    /// Items processed.
    pub items: u64,
    /// Bytes processed.
    pub bytes: u64,
    /// Checkpoints saved.
    pub checkpoints: u64,
    /// Times the job started (more than 1 after pauses or crashes).
    pub runs: u64,
    /// Input given at dispatch (omitted in listings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// Last checkpoint (omitted in listings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
    /// The checkpoint the latest run started from, if it resumed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_from: Option<Value>,
    /// Result, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// The failure's error code (`internal` for failures recorded before
    /// codes had a column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// When it was dispatched.
    pub created_at: String,
    /// When its latest run started.
    pub started_at: Option<String>,
    /// Last change.
    pub updated_at: String,
    /// When it ended.
    pub finished_at: Option<String>,
    /// The runner (process) that owns it while queued or running.
    #[serde(skip)]
    pub(crate) runner: Option<String>,
}

const COLUMNS: &str = "id, kind, owner, name, state, progress, message, warnings, items, bytes, checkpoints, runs, \
     input, checkpoint, resumed_from, output, error, created_ns, started_ns, updated_ns, finished_ns, error_code, runner";

fn json_col(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<Value>> {
    let text: Option<String> = row.get(i)?;
    // A damaged JSON column shows as a string rather than failing the listing.
    Ok(text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t))))
}

fn from_row(row: &Row<'_>, library: Uuid, full: bool) -> rusqlite::Result<JobInfo> {
    let id: String = row.get(0)?;
    let warnings: String = row.get(7)?;
    Ok(JobInfo {
        id: id.parse().unwrap_or_default(),
        library_id: library,
        kind: row.get(1)?,
        owner: row.get(2)?,
        name: row.get(3)?,
        state: JobState::parse(&row.get::<_, String>(4)?),
        progress: row.get(5)?,
        message: row.get(6)?,
        warnings: serde_json::from_str(&warnings).unwrap_or_default(),
        items: row.get::<_, i64>(8)?.max(0) as u64,
        bytes: row.get::<_, i64>(9)?.max(0) as u64,
        checkpoints: row.get::<_, i64>(10)?.max(0) as u64,
        runs: row.get::<_, i64>(11)?.max(0) as u64,
        input: if full { json_col(row, 12)? } else { None },
        checkpoint: if full { json_col(row, 13)? } else { None },
        resumed_from: if full { json_col(row, 14)? } else { None },
        output: json_col(row, 15)?,
        error: row.get(16)?,
        created_at: format_ns(row.get(17)?),
        started_at: row.get::<_, Option<i64>>(18)?.map(format_ns),
        updated_at: format_ns(row.get(19)?),
        finished_at: row.get::<_, Option<i64>>(20)?.map(format_ns),
        error_code: row
            .get::<_, Option<String>>(21)?
            .map(|c| serde_json::from_value(Value::String(c)).unwrap_or(ErrorCode::Internal)),
        runner: row.get(22)?,
    })
}

/// Inserts a queued job owned by `runner`.
pub fn insert(
    conn: &Connection,
    id: Uuid,
    kind: &str,
    owner: &str,
    name: &str,
    input: &Value,
    runner: &str,
) -> OpResult<()> {
    let now = now_ns();
    conn.execute(
        "INSERT INTO jobs(id, kind, owner, name, input, state, created_ns, updated_ns, runner) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6, ?7)",
        params![id.to_string(), kind, owner, name, input.to_string(), now, runner],
    )?;
    Ok(())
}

/// Makes `runner` the owner of a job it is about to take on, as `queued`.
pub fn claim(conn: &Connection, id: Uuid, runner: &str) -> OpResult<()> {
    conn.execute(
        "UPDATE jobs SET state = 'queued', runner = ?1, updated_ns = ?2 WHERE id = ?3",
        params![runner, now_ns(), id.to_string()],
    )?;
    Ok(())
}

/// Gives a job up as `queued` with no owner, keeping its last checkpoint
/// (its process is exiting); `message` says how it will run.
pub fn release(conn: &Connection, id: Uuid, message: &str) -> OpResult<()> {
    conn.execute(
        "UPDATE jobs SET state = 'queued', runner = NULL, message = ?1, updated_ns = ?2 \
         WHERE id = ?3 AND state IN ('queued', 'running')",
        params![message, now_ns(), id.to_string()],
    )?;
    Ok(())
}

/// One job, with input and checkpoint.
pub fn get(conn: &Connection, library: Uuid, id: Uuid) -> OpResult<JobInfo> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"), [id.to_string()], |r| {
        from_row(r, library, true)
    })
    .optional()?
    .ok_or_else(|| OpError::not_found(format!("no job {id} in this library; run `sd job list`")))
}

/// Jobs, newest first, in any of `states` (all jobs when empty).
pub fn list(conn: &Connection, library: Uuid, states: &[JobState], limit: u32) -> OpResult<Vec<JobInfo>> {
    let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE (?1 = '[]' OR state IN (SELECT value FROM json_each(?1))) \
         ORDER BY created_ns DESC, id LIMIT ?2"
    ))?;
    let states = serde_json::to_string(&names).unwrap_or_else(|_| "[]".into());
    let rows = stmt.query_map(params![states, limit], |r| from_row(r, library, false))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Jobs queued or running, oldest first.
pub fn unfinished(conn: &Connection, library: Uuid) -> OpResult<Vec<JobInfo>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE state IN ('queued', 'running') ORDER BY created_ns, rowid"
    ))?;
    let rows = stmt.query_map([], |r| from_row(r, library, false))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Moves a job to `running`, counting the run and noting the checkpoint it
/// starts from. Returns the input and that checkpoint.
pub fn start(conn: &Connection, id: Uuid) -> OpResult<(Value, Option<String>)> {
    let (input, checkpoint): (String, Option<String>) = conn
        .query_row("SELECT input, checkpoint FROM jobs WHERE id = ?1", [id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| OpError::not_found(format!("job {id} vanished")))?;
    let now = now_ns();
    conn.execute(
        "UPDATE jobs SET state = 'running', runs = runs + 1, started_ns = ?1, updated_ns = ?1, resumed_from = checkpoint, \
         error = NULL, error_code = NULL WHERE id = ?2",
        params![now, id.to_string()],
    )?;
    let input = serde_json::from_str(&input).unwrap_or(Value::Null);
    Ok((input, checkpoint))
}

/// Sets a job's state, with its output or error for final states.
pub fn finish(
    conn: &Connection,
    id: Uuid,
    state: JobState,
    output: Option<&Value>,
    error: Option<&OpError>,
) -> OpResult<()> {
    let now = now_ns();
    let finished = state.is_final().then_some(now);
    let progress_done = state == JobState::Completed;
    conn.execute(
        "UPDATE jobs SET state = ?1, output = COALESCE(?2, output), error = ?3, updated_ns = ?4, finished_ns = ?5, \
         progress = CASE WHEN ?6 THEN 1.0 ELSE progress END, error_code = ?8 WHERE id = ?7",
        params![
            state.as_str(),
            output.map(Value::to_string),
            error.map(|e| e.message.as_str()),
            now,
            finished,
            progress_done,
            id.to_string(),
            error.map(|e| e.code.as_str()),
        ],
    )?;
    Ok(())
}

/// Sets the state of a job that is not running in this process.
pub fn set_state(conn: &Connection, id: Uuid, state: JobState) -> OpResult<()> {
    finish(conn, id, state, None, None)
}
