//! `test.ping`, `core.status`, `core.operations`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::OpResult;
use crate::infra::wire::{
    Audience, Effect, MethodKind, OpContext, Operation, OperationInfo, Scope, operations, parse_method,
};
use crate::register_operation;

/// Input of `query:test.ping.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PingInput {
    /// Text to echo back.
    pub message: String,
    /// Optional number echoed back unchanged.
    #[serde(default)]
    pub count: Option<u64>,
}

/// Output of `query:test.ping.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PingOutput {
    /// `Pong: <message>`.
    pub echo: String,
    /// The count sent, if any.
    pub count: Option<u64>,
    /// Who called, as the core saw it (`cli`, `socket`, `extension:<id>`).
    pub caller: String,
}

/// Echoes its input; proves a transport reaches the registry.
pub struct Ping;

impl Operation for Ping {
    const METHOD: &'static str = "query:test.ping.v1";
    const DESCRIPTION: &'static str = "Echo a message back (round-trip test)";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = PingInput;
    type Output = PingOutput;

    async fn execute(ctx: OpContext, input: PingInput) -> OpResult<PingOutput> {
        Ok(PingOutput { echo: format!("Pong: {}", input.message), count: input.count, caller: ctx.caller.to_string() })
    }
}
register_operation!(Ping);

/// Empty input.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoInput {}

/// Output of `query:core.status.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StatusOutput {
    /// Version of sd-core.
    pub version: String,
    /// Data directory in use.
    pub data_dir: String,
    /// Process id of the process that ran the operation.
    pub pid: u32,
    /// Seconds since the core opened.
    pub uptime_secs: u64,
    /// Number of libraries.
    pub libraries: usize,
    /// Number of registered operations.
    pub operations: usize,
    /// Extension modules loaded from the compiled-module cache in this process.
    pub module_cache_hits: usize,
    /// Extension modules compiled in this process.
    pub module_cache_misses: usize,
    /// Where the credentials vault's key comes from.
    pub vault_key: String,
}

/// Reports the core's version, data dir and counts.
pub struct Status;

impl Operation for Status {
    const METHOD: &'static str = "query:core.status.v1";
    const DESCRIPTION: &'static str = "Version, data directory, uptime and counts";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = NoInput;
    type Output = StatusOutput;

    async fn execute(ctx: OpContext, _: NoInput) -> OpResult<StatusOutput> {
        Ok(StatusOutput {
            version: env!("CARGO_PKG_VERSION").to_string(),
            data_dir: ctx.core.data_dir().display().to_string(),
            pid: std::process::id(),
            uptime_secs: ctx.core.uptime().as_secs(),
            libraries: ctx.core.libraries().list().await.len(),
            operations: operations().len(),
            module_cache_hits: ctx.core.extensions().cache_stats().0,
            module_cache_misses: ctx.core.extensions().cache_stats().1,
            vault_key: ctx.core.vault().key_source(),
        })
    }
}
register_operation!(Status);

/// Lists every registered operation with its input and output JSON Schema.
pub struct Operations;

impl Operation for Operations {
    const METHOD: &'static str = "query:core.operations.v1";
    const DESCRIPTION: &'static str = "Every operation with its input and output JSON Schema";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = NoInput;
    type Output = Vec<OperationInfo>;

    async fn execute(ctx: OpContext, _: NoInput) -> OpResult<Vec<OperationInfo>> {
        let mut ops: Vec<OperationInfo> = operations().iter().map(|e| OperationInfo::from(*e)).collect();
        for (ext, op) in ctx.core.extensions().provided_operations() {
            let kind = parse_method(&op.method).map_or(MethodKind::Action, |(k, _)| k).as_str();
            ops.push(OperationInfo {
                method: op.method,
                kind: kind.to_string(),
                scope: format!("extension:{ext}"),
                // Extensions' operations are open to people and, through a
                // matching prefix, to other extensions.
                audience: Audience::Any,
                effect: if kind == "query" { Effect::Read } else { Effect::Write },
                description: op.description,
                input_schema: op.input_schema,
                output_schema: op.output_schema,
            });
        }
        Ok(ops)
    }
}
register_operation!(Operations);

/// Input of `query:test.sleep.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SleepInput {
    /// Milliseconds to wait, at most 10000.
    pub ms: u64,
}

/// Output of `query:test.sleep.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SleepOutput {
    /// Milliseconds waited.
    pub slept_ms: u64,
}

/// Waits without using CPU: a slow operation for testing concurrency,
/// cancellation and CPU accounting.
pub struct Sleep;

impl Operation for Sleep {
    const METHOD: &'static str = "query:test.sleep.v1";
    const DESCRIPTION: &'static str = "Wait a number of milliseconds (a slow operation, for tests)";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = SleepInput;
    type Output = SleepOutput;

    async fn execute(_: OpContext, input: SleepInput) -> OpResult<SleepOutput> {
        if input.ms > 10_000 {
            return Err(crate::OpError::invalid("ms must be at most 10000"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(input.ms)).await;
        Ok(SleepOutput { slept_ms: input.ms })
    }
}
register_operation!(Sleep);
