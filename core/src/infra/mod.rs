//! Infrastructure shared by every feature: the operation registry (`wire`)
//! and the daemon that serves it on a Unix socket (`daemon`).

pub mod daemon;
pub mod event;
pub mod extension;
pub mod http;
pub mod job;
pub mod wire;
