//! Every integration test of this crate, linked into one binary: one link
//! instead of one per file keeps builds quick and small on disk.
#![allow(clippy::unwrap_used)]

mod common;

mod ai;
mod credentials_http;
mod dashboard;
mod events;
mod extension_host;
mod extension_lifecycle;
mod file_grants;
mod finance;
mod jobs;
mod library;
mod packages;
mod vdfs;
