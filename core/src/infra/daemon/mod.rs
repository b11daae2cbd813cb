//! The daemon: serves the operation registry on a Unix socket, and the client
//! the CLI uses to reach it. The wire format is in `docs/socket-protocol.md`.

mod client;
mod protocol;
mod server;

pub use client::DaemonClient;
pub use protocol::{MAX_FRAME_BYTES, Request, Response, codec};
pub use server::{Server, serve};
