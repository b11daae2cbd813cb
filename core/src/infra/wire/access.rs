//! Who may call an operation ([`Audience`]) and what it does to data
//! ([`Effect`]). Every operation declares both next to its method string;
//! [`Core::execute_json_operation`](crate::Core::execute_json_operation)
//! checks the audience before any manifest permission, and the consent
//! screen shows the effect.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Caller;
use crate::error::{OpError, OpResult};

/// Who may call an operation, whatever a manifest grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// People only (the CLI, socket clients, the dashboard): operations that
    /// install or remove code, create or delete libraries, forget locations
    /// or grant rights. An extension is refused even with a matching prefix.
    Person,
    /// People, and extensions whose manifest grants a matching prefix.
    Any,
    /// Extensions only: operations that act on an extension's own behalf
    /// (its network allow-list, its own credentials).
    Extension,
}

impl Audience {
    /// Whether `caller` is in this audience.
    pub fn admits(self, caller: &Caller) -> bool {
        match self {
            Audience::Any => true,
            Audience::Person => caller.is_person(),
            Audience::Extension => !caller.is_person(),
        }
    }

    /// Refuses `caller` with a message naming the rule, or lets it through.
    pub fn check(self, method: &str, caller: &Caller) -> OpResult<()> {
        if self.admits(caller) {
            return Ok(());
        }
        Err(match self {
            Audience::Person => OpError::denied(format!(
                "`{method}` is for people only (audience: person): {caller} may not call it whatever its manifest grants; ask the user to run it from `sd` or the dashboard"
            )),
            _ => OpError::denied(format!(
                "`{method}` is for extensions only (audience: extension): it acts on an extension's own permissions, so {caller} cannot call it"
            )),
        })
    }
}

/// What an operation does to stored data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Reads only.
    Read,
    /// Adds or changes data without destroying any (create an entry, start a job).
    Write,
    /// Deletes or overwrites data (remove a library, replace metadata or a sidecar).
    Destructive,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_admit_their_callers() {
        let ext = Caller::Extension("x".into());
        for person in [Caller::Cli, Caller::Socket, Caller::Ui] {
            assert!(Audience::Person.admits(&person));
            assert!(Audience::Any.admits(&person));
            assert!(!Audience::Extension.admits(&person));
        }
        assert!(!Audience::Person.admits(&ext));
        assert!(Audience::Any.admits(&ext));
        assert!(Audience::Extension.admits(&ext));
        let e = Audience::Person.check("action:libraries.remove.input.v1", &ext).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::PermissionDenied);
        assert!(e.message.contains("people only"), "{e}");
        assert!(e.message.contains("extension:x"), "{e}");
    }
}
