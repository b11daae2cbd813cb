//! Every integration test of this crate, linked into one binary: one link
//! instead of one per file keeps builds quick and small on disk.
#![allow(clippy::unwrap_used)]

mod common;

mod ai;
mod crash;
mod credentials_events;
mod daemon;
mod dashboard;
mod extensions;
mod finance;
mod jobs;
mod packages;
mod release;
mod unprivileged;
