//! Every operation, one folder per domain. Each registers itself with
//! `register_operation!`; nothing else lists them.

pub mod ai;
pub mod core;
pub mod credentials;
pub mod events;
pub mod extensions;
pub mod grants;
pub mod http;
pub mod jobs;
pub mod libraries;
pub mod locations;
pub mod search;
pub mod ui;
pub mod vdfs;
