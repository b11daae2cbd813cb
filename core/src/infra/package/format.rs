//! The package file: a module and its publisher's signature, in one file.
//!
//! ```text
//! 0      8 bytes   magic "\0sdpkg\x01\n" (format 1)
//! 8      4 bytes   N, the length of the header, little-endian
//! 12     N bytes   header: JSON {"key": <64 hex>, "signature": <128 hex>}
//! 12+N   the rest  the WebAssembly module, its manifest embedded
//! ```
//!
//! The signature is Ed25519 (strict verification) over
//! `"spacedrive-package-v1\0" || BLAKE3(module)`: the manifest is inside
//! the module, so one signature covers both. Every byte counts: a change in
//! the magic makes the file neither a package nor a module, a change in the
//! header breaks its JSON or names another key or signature, and a change in
//! the module (or a truncation) changes its hash. A custom section in the
//! module would have kept the package a plain `.wasm`, but a flipped byte in
//! the section's name would then turn a tampered package into an unsigned
//! module; a magic of its own cannot be mistaken for one.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{OpError, OpResult};

/// The first bytes of every package (format 1).
pub const MAGIC: &[u8; 8] = b"\0sdpkg\x01\n";
/// The first bytes of every WebAssembly module.
const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// What the signature covers, before the module's hash.
const DOMAIN: &[u8] = b"spacedrive-package-v1\0";
/// Largest header; a real one is about 220 bytes.
const MAX_HEADER_BYTES: usize = 1024;
/// File name extension of packages.
pub const EXTENSION: &str = "sdpkg";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    key: String,
    signature: String,
}

/// A publisher's public key, as the consent screen and pins show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Publisher {
    /// The Ed25519 public key, 64 hex digits.
    pub key: String,
    /// Short form to compare by eye: the first 16 bytes of the key's BLAKE3
    /// hash, in hex, in groups of four.
    pub fingerprint: String,
}

impl Publisher {
    /// The publisher of `key`.
    pub fn of(key: &VerifyingKey) -> Publisher {
        Publisher { key: hex(key.as_bytes()), fingerprint: fingerprint(key.as_bytes()) }
    }

    /// Parses a key written as 64 hex digits (an index's `publisher`).
    pub fn parse(key: &str) -> OpResult<Publisher> {
        let bytes: [u8; 32] = unhex(key)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| OpError::invalid(format!("`{key}` is not a publisher key (64 hex digits)")))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| OpError::invalid(format!("`{}` is not an Ed25519 public key", hex(&bytes))))?;
        Ok(Publisher::of(&key))
    }
}

/// The fingerprint of a public key (see [`Publisher::fingerprint`]).
pub fn fingerprint(key: &[u8; 32]) -> String {
    let digest = blake3::hash(key);
    let h = hex(&digest.as_bytes()[..16]);
    h.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of lowercase hex `s`.
pub(super) fn unhex(s: &str) -> Option<Vec<u8>> {
    // Lowercase only, as written: one value has one spelling, so no changed
    // byte reads as the same key or signature.
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

fn message(module: &[u8]) -> Vec<u8> {
    let mut m = DOMAIN.to_vec();
    m.extend_from_slice(blake3::hash(module).as_bytes());
    m
}

/// Writes a package of `module` signed with `key`.
pub fn pack(module: &[u8], key: &SigningKey) -> Vec<u8> {
    let signature = key.sign(&message(module));
    let header = Header { key: hex(key.verifying_key().as_bytes()), signature: hex(&signature.to_bytes()) };
    // A struct of two strings always serialises.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = Vec::with_capacity(12 + header.len() + module.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(module);
    out
}

/// What a file to install holds.
#[derive(Debug)]
pub enum Contents<'a> {
    /// A package whose signature holds.
    Signed {
        /// The module.
        module: &'a [u8],
        /// Who signed it.
        publisher: Publisher,
    },
    /// A bare module, signed by no one.
    Unsigned(&'a [u8]),
}

impl<'a> Contents<'a> {
    /// The module.
    pub fn module(&self) -> &'a [u8] {
        match self {
            Contents::Signed { module, .. } => module,
            Contents::Unsigned(m) => m,
        }
    }

    /// The publisher, if signed.
    pub fn publisher(&self) -> Option<&Publisher> {
        match self {
            Contents::Signed { publisher, .. } => Some(publisher),
            Contents::Unsigned(_) => None,
        }
    }
}

fn tampered(why: &str) -> OpError {
    OpError::invalid(format!(
        "the package is damaged or was changed after it was signed ({why}); it was not installed. \
         Download it again from its publisher"
    ))
}

/// Reads a package (verifying its signature) or a bare module.
pub fn open(bytes: &[u8]) -> OpResult<Contents<'_>> {
    if bytes.starts_with(WASM_MAGIC) {
        return Ok(Contents::Unsigned(bytes));
    }
    if !bytes.starts_with(MAGIC) {
        return Err(OpError::invalid(
            "neither an extension package (.sdpkg) nor a WebAssembly module: the file does not start as either does",
        ));
    }
    let rest = &bytes[MAGIC.len()..];
    let len = rest.get(..4).ok_or_else(|| tampered("it ends inside its header"))?;
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len > MAX_HEADER_BYTES {
        return Err(tampered("its header length is out of range"));
    }
    let header = rest.get(4..4 + len).ok_or_else(|| tampered("it ends inside its header"))?;
    let module = &rest[4 + len..];
    let header: Header = serde_json::from_slice(header).map_err(|_| tampered("its header is not readable"))?;
    let key: [u8; 32] =
        unhex(&header.key).and_then(|b| b.try_into().ok()).ok_or_else(|| tampered("its key is malformed"))?;
    let signature: [u8; 64] = unhex(&header.signature)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| tampered("its signature is malformed"))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| tampered("its key is not an Ed25519 key"))?;
    key.verify_strict(&message(module), &Signature::from_bytes(&signature))
        .map_err(|_| tampered("the signature does not match the module"))?;
    if !module.starts_with(WASM_MAGIC) {
        return Err(OpError::invalid("the package is signed but holds no WebAssembly module"));
    }
    Ok(Contents::Signed { module, publisher: Publisher::of(&key) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_package_opens_to_its_module_and_publisher() {
        let module = b"\0asm\x01\0\0\0 and the rest".to_vec();
        let pkg = pack(&module, &key(7));
        let Contents::Signed { module: m, publisher } = open(&pkg).unwrap() else { panic!("not signed") };
        assert_eq!(m, module.as_slice());
        assert_eq!(publisher, Publisher::of(&key(7).verifying_key()));
        assert_eq!(publisher.fingerprint.len(), 32 + 7);
        assert!(matches!(open(&module).unwrap(), Contents::Unsigned(_)));
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_refused() {
        let module = b"\0asm\x01\0\0\0 some module bytes".to_vec();
        let pkg = pack(&module, &key(1));
        for i in 0..pkg.len() {
            for bit in (0..8).map(|b| 1u8 << b) {
                let mut bad = pkg.clone();
                bad[i] ^= bit;
                let opened = open(&bad);
                assert!(opened.is_err(), "byte {i} ^ {bit:#x} was accepted: {opened:?}");
            }
        }
        for n in 0..pkg.len() {
            assert!(open(&pkg[..n]).is_err(), "truncated to {n} bytes was accepted");
        }
    }

    #[test]
    fn another_key_is_another_publisher() {
        let module = b"\0asm\x01\0\0\0".to_vec();
        let a = open(&pack(&module, &key(1))).unwrap().publisher().cloned().unwrap();
        let b = open(&pack(&module, &key(2))).unwrap().publisher().cloned().unwrap();
        assert_ne!(a.fingerprint, b.fingerprint);
        assert_eq!(Publisher::parse(&a.key).unwrap(), a);
        assert!(Publisher::parse("abcd").is_err());
    }
}
