use crate::error::{OpError, OpResult};

/// Whether an operation reads (`query:`) or changes (`action:`) state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// Reads only.
    Query,
    /// Changes state.
    Action,
}

impl MethodKind {
    /// `query` or `action`.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::Query => "query",
            MethodKind::Action => "action",
        }
    }
}

/// Splits a method string such as `action:vdfs.create_entry.input.v1` into its
/// kind and name (`vdfs.create_entry.input.v1`), checking its shape: a kind, a
/// dotted lowercase name, and a final `.v<N>` version segment.
pub fn parse_method(method: &str) -> OpResult<(MethodKind, &str)> {
    let (kind, name) = if let Some(rest) = method.strip_prefix("query:") {
        (MethodKind::Query, rest)
    } else if let Some(rest) = method.strip_prefix("action:") {
        (MethodKind::Action, rest)
    } else {
        return Err(OpError::invalid(format!(
            "method `{}` must start with `query:` or `action:` (e.g. `query:test.ping.v1`); run `sd ops` for the list",
            truncate(method)
        )));
    };
    let valid_chars =
        name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_' || b == b'-');
    let versioned = name
        .rsplit_once(".v")
        .is_some_and(|(head, v)| !head.is_empty() && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    if name.len() > 128 || !valid_chars || !versioned || name.split('.').any(str::is_empty) {
        return Err(OpError::invalid(format!(
            "method `{}` is malformed: expected `<kind>:<domain>.<name>.v<N>` in lowercase",
            truncate(method)
        )));
    }
    Ok((kind, name))
}

fn truncate(s: &str) -> String {
    if s.len() <= 80 {
        return s.to_string();
    }
    let mut end = 80;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_methods() {
        assert_eq!(parse_method("query:test.ping.v1").unwrap(), (MethodKind::Query, "test.ping.v1"));
        assert_eq!(
            parse_method("action:vdfs.create_entry.input.v1").unwrap(),
            (MethodKind::Action, "vdfs.create_entry.input.v1")
        );
    }

    #[test]
    fn rejects_malformed_methods() {
        for bad in
            ["ping", "query:", "query:test.ping", "query:Test.ping.v1", "query:a..b.v1", "query:.v1", "query:x.vx"]
        {
            assert!(parse_method(bad).is_err(), "{bad} should be rejected");
        }
        let long = format!("query:{}.v1", "a".repeat(300));
        let err = parse_method(&long).unwrap_err();
        assert!(err.message.len() < 200);
    }
}
