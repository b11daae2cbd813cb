use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use futures::future::BoxFuture;
use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Audience, Caller, Effect, MethodKind, ProgressSink, parse_method};
use crate::Core;
use crate::error::{OpError, OpResult};
use crate::library::Library;

/// Largest JSON payload any transport accepts, in bytes. Transports check it
/// before parsing (see [`parse_payload`]) so an oversized request costs no
/// allocation beyond its frame.
pub const MAX_PAYLOAD_BYTES: usize = 8 * 1024 * 1024;

/// Whether an operation needs a library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Runs without a library (`library_id` is ignored).
    Core,
    /// Needs `library_id`; the handler gets the opened library.
    Library,
    /// Uses `library_id` when given (the handler gets the opened library),
    /// and runs without one otherwise.
    OptionalLibrary,
}

/// Everything a handler may use: the core, the resolved library (for
/// library-scoped operations), who is calling, and where to send progress.
#[derive(Clone)]
pub struct OpContext {
    /// The running core.
    pub core: Arc<Core>,
    /// The library named by `library_id`, for [`Scope::Library`] operations.
    pub library: Option<Arc<Library>>,
    /// Who is calling.
    pub caller: Caller,
    /// Progress channel, when the transport streams progress.
    pub progress: Option<ProgressSink>,
}

impl OpContext {
    /// The library of a library-scoped operation.
    pub fn library(&self) -> OpResult<&Arc<Library>> {
        self.library.as_ref().ok_or_else(|| OpError::internal("operation declared Scope::Core but asked for a library"))
    }

    /// Reports progress if anyone listens.
    pub fn progress(&self, phase: &str, done: u64, total: Option<u64>, message: impl Into<String>) {
        if let Some(sink) = &self.progress {
            sink.report(phase, done, total, message);
        }
    }
}

/// A typed operation. Implement it, then register it with
/// [`register_operation!`](crate::register_operation).
pub trait Operation: 'static {
    /// Versioned method string, e.g. `query:test.ping.v1`.
    const METHOD: &'static str;
    /// One line for `sd ops`.
    const DESCRIPTION: &'static str;
    /// Whether a library is needed.
    const SCOPE: Scope;
    /// Who may call it; checked before any manifest permission.
    const AUDIENCE: Audience;
    /// What it does to stored data, shown on the consent screen.
    const EFFECT: Effect;
    /// Input, deserialised from the JSON payload.
    type Input: DeserializeOwned + JsonSchema + Send + 'static;
    /// Output, serialised to JSON.
    type Output: Serialize + JsonSchema + Send + 'static;

    /// Runs the operation.
    fn execute(ctx: OpContext, input: Self::Input) -> impl Future<Output = OpResult<Self::Output>> + Send;
}

/// A registered operation, type-erased. Built by [`OperationEntry::of`].
pub struct OperationEntry {
    /// Versioned method string.
    pub method: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// Whether a library is needed.
    pub scope: Scope,
    /// Who may call it.
    pub audience: Audience,
    /// What it does to stored data.
    pub effect: Effect,
    input_schema: fn() -> Schema,
    output_schema: fn() -> Schema,
    handler: fn(OpContext, Payload<'_>, Form) -> BoxFuture<'static, OpResult<Answer>>,
}

/// A request's payload as its transport holds it.
pub enum Payload<'a> {
    /// Parsed already (the CLI, the socket, tests).
    Value(Value),
    /// JSON text still in the transport's buffer (a guest's memory): decoded
    /// straight into the operation's input type, with no `Value` between.
    Text(&'a [u8]),
}

impl Payload<'_> {
    /// Decodes the payload into `T`. An absent payload (`null`, empty text)
    /// means "no arguments" and is read as `{}`, so inputs whose fields are
    /// all optional accept both.
    pub fn decode<T: DeserializeOwned>(self, method: &str) -> OpResult<T> {
        let schema = |e: serde_json::Error| {
            OpError::invalid(format!(
                "payload for `{method}` does not match its input schema: {e}; see `sd ops --schema {method}`"
            ))
        };
        match self {
            Payload::Value(Value::Null) => serde_json::from_value(Value::Object(Default::default())).map_err(schema),
            Payload::Value(v) => serde_json::from_value(v).map_err(schema),
            Payload::Text(bytes) => {
                if bytes.len() > MAX_PAYLOAD_BYTES {
                    return Err(too_large(bytes.len()));
                }
                let trimmed = bytes.trim_ascii();
                let text = if trimmed.is_empty() || trimmed == b"null" { b"{}" } else { bytes };
                // Checked as UTF-8 in one pass: parsing a `str` then skips
                // the check of each string in it.
                let text = std::str::from_utf8(text)
                    .map_err(|e| OpError::invalid(format!("payload is not valid JSON: it is not UTF-8 ({e})")))?;
                serde_json::from_str(text).map_err(|e| match e.classify() {
                    serde_json::error::Category::Data => schema(e),
                    _ => OpError::invalid(format!("payload is not valid JSON: {e}")),
                })
            }
        }
    }

    /// The payload as JSON text, for handing on to a guest.
    pub fn to_text(&self) -> OpResult<std::borrow::Cow<'_, [u8]>> {
        match self {
            Payload::Value(v) => serde_json::to_vec(v)
                .map(Into::into)
                .map_err(|e| OpError::internal(format!("could not encode the payload: {e}"))),
            Payload::Text(t) => Ok(std::borrow::Cow::Borrowed(t)),
        }
    }
}

/// Which form of [`Answer`] a transport wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A `Value` (the CLI, the socket, tests).
    Value,
    /// JSON text (a guest, which gets the bytes).
    Text,
}

/// An operation's result, in the [`Form`] asked for.
pub enum Answer {
    /// A parsed value.
    Value(Value),
    /// JSON text; a `String`, so what guests receive is always UTF-8 (the
    /// SDK relies on it).
    Text(String),
}

impl Answer {
    /// Serialises `output` in `form`.
    pub fn encode(output: &impl Serialize, form: Form, method: &str) -> OpResult<Answer> {
        let failed =
            |e: serde_json::Error| OpError::internal(format!("could not serialise the output of `{method}`: {e}"));
        match form {
            Form::Value => serde_json::to_value(output).map(Answer::Value).map_err(failed),
            Form::Text => serde_json::to_string(output).map(Answer::Text).map_err(failed),
        }
    }

    /// The answer as a value.
    pub fn into_value(self) -> OpResult<Value> {
        match self {
            Answer::Value(v) => Ok(v),
            Answer::Text(t) => serde_json::from_str(&t)
                .map_err(|e| OpError::internal(format!("an operation answered with invalid JSON: {e}"))),
        }
    }
}

fn too_large(len: usize) -> OpError {
    OpError::exhausted(format!(
        "payload is {len} bytes, over the limit of {MAX_PAYLOAD_BYTES} bytes; send large data as several sidecars"
    ))
}

inventory::collect!(OperationEntry);

impl OperationEntry {
    /// The entry for operation `T`; used by `register_operation!`.
    pub const fn of<T: Operation>() -> Self {
        Self {
            method: T::METHOD,
            description: T::DESCRIPTION,
            scope: T::SCOPE,
            audience: T::AUDIENCE,
            effect: T::EFFECT,
            input_schema: schema_of::<T::Input>,
            output_schema: schema_of::<T::Output>,
            handler: handle::<T>,
        }
    }

    /// JSON Schema of the input.
    pub fn input_schema(&self) -> Schema {
        (self.input_schema)()
    }

    /// JSON Schema of the output.
    pub fn output_schema(&self) -> Schema {
        (self.output_schema)()
    }

    /// Runs the handler on a payload. The payload is decoded before this
    /// returns, so the future borrows nothing.
    pub(crate) fn call(
        &self,
        ctx: OpContext,
        payload: Payload<'_>,
        form: Form,
    ) -> BoxFuture<'static, OpResult<Answer>> {
        (self.handler)(ctx, payload, form)
    }
}

fn schema_of<T: JsonSchema>() -> Schema {
    schemars::schema_for!(T)
}

fn handle<T: Operation>(ctx: OpContext, payload: Payload<'_>, form: Form) -> BoxFuture<'static, OpResult<Answer>> {
    let input = payload.decode::<T::Input>(T::METHOD);
    Box::pin(async move {
        let output = T::execute(ctx, input?).await?;
        Answer::encode(&output, form, T::METHOD)
    })
}

/// Registers an [`Operation`] so `execute_json_operation` can reach it.
#[macro_export]
macro_rules! register_operation {
    ($op:ty) => {
        ::inventory::submit! { $crate::infra::wire::OperationEntry::of::<$op>() }
    };
}

/// Declares and registers an operation whose body is a single expression,
/// for the many operations that forward to a manager:
///
/// ```ignore
/// operation!(Info, "query:jobs.info.v1", "One job", Scope::Library, Audience::Any, Effect::Read,
///     JobRef => JobInfo, |ctx, input| { ... });
/// ```
#[macro_export]
macro_rules! operation {
    ($ty:ident, $method:literal, $desc:literal, $scope:expr, $audience:expr, $effect:expr, $input:ty => $output:ty, |$ctx:ident, $arg:ident| $body:expr) => {
        #[doc = $desc]
        pub struct $ty;

        impl $crate::infra::wire::Operation for $ty {
            const METHOD: &'static str = $method;
            const DESCRIPTION: &'static str = $desc;
            const SCOPE: $crate::infra::wire::Scope = $scope;
            const AUDIENCE: $crate::infra::wire::Audience = $audience;
            const EFFECT: $crate::infra::wire::Effect = $effect;
            type Input = $input;
            type Output = $output;

            async fn execute($ctx: $crate::infra::wire::OpContext, $arg: $input) -> $crate::OpResult<$output> {
                $body
            }
        }
        $crate::register_operation!($ty);
    };
}

struct Registry {
    by_method: HashMap<&'static str, &'static OperationEntry>,
    sorted: Vec<&'static OperationEntry>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut by_method = HashMap::new();
        for entry in inventory::iter::<OperationEntry> {
            if parse_method(entry.method).is_err() {
                tracing::error!(method = entry.method, "operation registered under a malformed method; skipped");
                continue;
            }
            if by_method.insert(entry.method, entry).is_some() {
                tracing::error!(method = entry.method, "operation registered twice; the last one wins");
            }
        }
        let mut sorted: Vec<_> = by_method.values().copied().collect();
        sorted.sort_by_key(|e| e.method);
        Registry { by_method, sorted }
    })
}

/// Looks up a registered operation by exact method string.
pub fn find(method: &str) -> Option<&'static OperationEntry> {
    registry().by_method.get(method).copied()
}

/// All registered operations, sorted by method.
pub fn operations() -> &'static [&'static OperationEntry] {
    &registry().sorted
}

/// Describes one operation for `query:core.operations.v1`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
pub struct OperationInfo {
    /// Versioned method string.
    pub method: String,
    /// `query` or `action`.
    pub kind: String,
    /// `core`, `library`, `optional_library`, or `extension:<id>`.
    pub scope: String,
    /// Who may call it: `person`, `any` or `extension`.
    pub audience: Audience,
    /// What it does to stored data: `read`, `write` or `destructive`.
    pub effect: Effect,
    /// One-line description.
    pub description: String,
    /// JSON Schema of the payload.
    pub input_schema: Value,
    /// JSON Schema of the result.
    pub output_schema: Value,
}

impl From<&OperationEntry> for OperationInfo {
    fn from(e: &OperationEntry) -> Self {
        let kind = parse_method(e.method).map_or(MethodKind::Action, |(k, _)| k).as_str();
        OperationInfo {
            method: e.method.to_string(),
            kind: kind.to_string(),
            scope: match e.scope {
                Scope::Core => "core",
                Scope::Library => "library",
                Scope::OptionalLibrary => "optional_library",
            }
            .to_string(),
            audience: e.audience,
            effect: e.effect,
            description: e.description.to_string(),
            input_schema: e.input_schema().to_value(),
            output_schema: e.output_schema().to_value(),
        }
    }
}

/// Parses a raw payload as every transport must: bounded in size, UTF-8, JSON.
/// An empty payload is `null`.
pub fn parse_payload(bytes: &[u8]) -> OpResult<Value> {
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(too_large(bytes.len()));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| OpError::invalid(format!("payload is not valid UTF-8 ({e}); send JSON text")))?;
    serde_json::from_str(text).map_err(|e| OpError::invalid(format!("payload is not valid JSON: {e}")))
}
