//! Validation of names that end up in paths or keys. Everything a client names
//! passes through here, so `..`, absolute paths and NUL bytes never reach the
//! file system or the database.

use std::path::Path;

use crate::error::{OpError, OpResult};

/// Longest entry or sidecar name, in bytes (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;

/// Checks an entry or sidecar name: one path component, no separators, no NUL,
/// not `.` or `..`, not empty, at most 255 bytes.
pub fn validate_name(what: &str, name: &str) -> OpResult<()> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name.len() > MAX_NAME_BYTES {
        Some("is longer than 255 bytes")
    } else if name.contains('\0') {
        Some("contains a NUL byte")
    } else if name.contains('/') || name.contains('\\') {
        Some("contains a path separator; give a single name, not a path")
    } else if name == "." || name == ".." {
        Some("is `.` or `..`")
    } else if name.chars().any(char::is_control) {
        Some("contains control characters")
    } else {
        None
    };
    match problem {
        Some(p) => Err(OpError::invalid(format!("{what} `{}` {p}", name.escape_debug()))),
        None => Ok(()),
    }
}

/// Checks a namespace (`user` or an extension id): lowercase ASCII letters,
/// digits, `-` and `_`, 1 to 64 bytes, starting with a letter.
pub fn validate_namespace(ns: &str) -> OpResult<()> {
    let ok = (1..=64).contains(&ns.len())
        && ns.as_bytes()[0].is_ascii_lowercase()
        && ns.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(OpError::invalid(format!(
            "namespace `{}` must be 1-64 lowercase letters, digits, `-` or `_`, starting with a letter",
            ns.escape_debug()
        )))
    }
}

/// Checks a metadata key: 1 to 128 bytes of letters, digits, `_`, `-` and `.`.
pub fn validate_key(key: &str) -> OpResult<()> {
    let ok = (1..=128).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(OpError::invalid(format!(
            "metadata key `{}` must be 1-128 ASCII letters, digits, `_`, `-` or `.`",
            key.escape_debug()
        )))
    }
}

/// Checks a virtual entry kind such as `receipt`: like a key, lowercase.
pub fn validate_kind(kind: &str) -> OpResult<()> {
    let ok = (1..=64).contains(&kind.len())
        && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(OpError::invalid(format!(
            "kind `{}` must be 1-64 lowercase letters, digits, `_`, `-` or `.`",
            kind.escape_debug()
        )))
    }
}

/// A path as people should read it: as it is when it is plain, quoted with
/// escapes when it holds control characters or invisible ones (a newline, a
/// zero-width space, a direction override), so that two names that look
/// alike are told apart on a consent screen or in an error.
pub fn shown(path: &Path) -> String {
    let text = path.to_string_lossy();
    if text.chars().any(hard_to_spot) {
        let escaped: String = text
            .chars()
            .map(|c| if hard_to_spot(c) { c.escape_unicode().to_string() } else { c.to_string() })
            .collect();
        format!("\"{escaped}\"")
    } else {
        text.into_owned()
    }
}

/// Control characters, and the format characters that draw nothing or
/// reorder what follows them.
fn hard_to_spot(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        for bad in ["", ".", "..", "../etc/passwd", "/etc/passwd", "a/b", "a\\b", "nul\0byte", "tab\tname"] {
            assert!(validate_name("name", bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_name("name", &"x".repeat(256)).is_err());
        for good in ["receipt.pdf", "..hidden", "a b c", "Ünïcødé ☕.txt"] {
            assert!(validate_name("name", good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn namespaces_and_keys() {
        assert!(validate_namespace("user").is_ok());
        assert!(validate_namespace("test-extension").is_ok());
        for bad in ["", "User", "1abc", "a/b", "a.b", "../x"] {
            assert!(validate_namespace(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_key("category").is_ok());
        assert!(validate_key("a b").is_err());
        assert!(validate_key("").is_err());
    }

    #[test]
    fn hard_to_spot_names_are_escaped() {
        assert_eq!(shown(Path::new("/a/b c")), "/a/b c");
        assert_eq!(shown(Path::new("/a/b\nc")), "\"/a/b\\u{a}c\"");
        assert_eq!(shown(Path::new("/a/G\u{200b}")), "\"/a/G\\u{200b}\"");
        assert_eq!(shown(Path::new("/a/Grüße")), "/a/Grüße");
    }
}
