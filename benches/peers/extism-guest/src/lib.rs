//! `ping_loop`: calls the host's `sd_call` with the same JSON ping payload as
//! test-extension's SDK client, `n` times, and parses each answer into the
//! same typed envelope.

use extism_pdk::*;
use serde::{Deserialize, Serialize};

#[host_fn]
extern "ExtismHost" {
    fn sd_call(payload: String) -> String;
}

#[derive(Deserialize)]
struct LoopInput {
    n: u32,
}

#[derive(Serialize)]
struct LoopOutput {
    calls: u32,
}

#[derive(Serialize)]
struct Ping<'a> {
    message: &'a str,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Pong {
    echo: String,
    caller: String,
}

#[derive(Deserialize)]
struct Envelope {
    ok: Option<Pong>,
    error: Option<serde_json::Value>,
}

#[plugin_fn]
pub fn ping_loop(Json(input): Json<LoopInput>) -> FnResult<Json<LoopOutput>> {
    for _ in 0..input.n {
        let payload = serde_json::to_string(&Ping { message: "bench" })?;
        // SAFETY: `sd_call` is the host function the benchmark defines with
        // this signature; the PDK passes and returns strings through Extism's
        // own memory handles.
        let reply = unsafe { sd_call(payload)? };
        let envelope: Envelope = serde_json::from_str(&reply)?;
        if envelope.ok.is_none() {
            return Err(Error::msg(format!("ping failed: {:?}", envelope.error)).into());
        }
    }
    Ok(Json(LoopOutput { calls: input.n }))
}
