//! One module per command family, as in cargo's `commands/`: each holds its
//! clap subcommand enum and the function that runs it.

pub mod credentials;
pub mod daemon;
pub mod entry;
pub mod events;
pub mod ext;
pub mod job;
pub mod library;
pub mod location;
pub mod search;
pub mod ui;
