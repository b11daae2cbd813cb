//! Extension packages: one signed file per extension version (`format`),
//! the publishers' signing keys (`keys`), downloads (`fetch`) and the
//! indexes that list packages (`index`).

pub mod fetch;
pub mod format;
pub mod index;
pub mod keys;

pub use format::{Contents, Publisher};
pub use index::{Available, Catalog, Indexes, compare_versions};
pub use keys::KeyInfo;
