//! `ui.open`: a link that opens a dashboard session once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::OpError;
use crate::infra::wire::{Audience, Effect, Scope};
use crate::ops::core::NoInput;

/// Output of `action:ui.open.input.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct OpenOutput {
    /// `http://127.0.0.1:PORT/?token=…`; the token works once, for two minutes.
    pub url: String,
}

crate::operation!(
    Open,
    "action:ui.open.input.v1",
    "A one-time link to the web dashboard the daemon serves",
    Scope::Core,
    Audience::Person,
    Effect::Write,
    NoInput => OpenOutput,
    |ctx, _input| {
        let dashboard = ctx.core.dashboard().ok_or_else(|| {
            OpError::unavailable("the dashboard is served by the daemon: run `sd ui`, which starts one if needed")
        })?;
        Ok(OpenOutput { url: dashboard.open_url() })
    }
);
