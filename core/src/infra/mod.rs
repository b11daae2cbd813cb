//! Infrastructure shared by every feature: the operation registry (`wire`),
//! the daemon that serves it on a Unix socket (`daemon`), and the folder
//! grants that scope what extensions may open on disk (`grants`), and the
//! signed packages extensions are shipped in (`package`).

pub mod daemon;
pub mod event;
pub mod extension;
pub mod grants;
pub mod http;
pub mod job;
pub mod package;
pub mod wire;
