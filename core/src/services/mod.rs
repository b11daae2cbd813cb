//! What operations wrap: services usable without the registry. Operations in
//! `ops/` are thin typed handlers over these.

pub mod ai;
pub mod keyed;
pub mod net;
pub mod vault;
