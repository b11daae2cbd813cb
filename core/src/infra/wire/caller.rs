use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who is calling an operation. Passed to every handler so it can pick the
/// metadata namespace and check permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Caller {
    /// The `sd` command line, running the core in its own process.
    Cli,
    /// A client of the daemon's Unix socket (the CLI or a script).
    Socket,
    /// The web dashboard, on behalf of the person holding its session.
    Ui,
    /// A WebAssembly extension, by manifest id (shared: every host call
    /// names its caller).
    Extension(Arc<str>),
}

impl Caller {
    /// The metadata and sidecar namespace this caller writes to by default:
    /// `user` for people, the extension id for extensions.
    pub fn namespace(&self) -> &str {
        match self {
            Caller::Cli | Caller::Socket | Caller::Ui => "user",
            Caller::Extension(id) => id,
        }
    }

    /// Whether a person is calling (the CLI, a socket client or the
    /// dashboard), as opposed to an extension.
    pub fn is_person(&self) -> bool {
        matches!(self, Caller::Cli | Caller::Socket | Caller::Ui)
    }

    /// The owner recorded on what this caller starts (jobs): `core` for
    /// people, the extension id for extensions.
    pub fn owner(&self) -> &str {
        match self {
            Caller::Cli | Caller::Socket | Caller::Ui => "core",
            Caller::Extension(id) => id,
        }
    }

    /// Whether this caller may write into `namespace`. People may write any
    /// namespace; an extension only its own.
    pub fn may_write_namespace(&self, namespace: &str) -> bool {
        match self {
            Caller::Cli | Caller::Socket | Caller::Ui => true,
            Caller::Extension(id) => **id == *namespace,
        }
    }
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Caller::Cli => f.write_str("cli"),
            Caller::Socket => f.write_str("socket"),
            Caller::Ui => f.write_str("ui"),
            Caller::Extension(id) => write!(f, "extension:{id}"),
        }
    }
}
