//! What Wasmtime's generated code charges a guest for the steps an SDK call
//! repeats (copies of short strings, byte loops, small calls), with epoch
//! interruption on (as the extension host runs guests: it bounds their CPU
//! time) and off. Explains where the SDK round trip's guest time goes,
//! beyond the JSON work itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sd_peers::median;

/// Each export loops `$n` times over one step on `$len` bytes.
const STEPS_WAT: &str = r#"
(module
  (memory 1)
  ;; `memory.copy` of a length known only at run time: Wasmtime calls out
  ;; of the guest for it.
  (func (export "copy_dynamic") (param $n i32) (param $len i32)
    (loop $l
      (memory.copy (i32.const 1024) (i32.const 0) (local.get $len))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))
  ;; The same with a constant length of 8: Wasmtime copies inline.
  (func (export "copy_const8") (param $n i32) (param $len i32)
    (loop $l
      (memory.copy (i32.const 1024) (i32.const 0) (i32.const 8))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))
  ;; A byte at a time, as serde_json scans and escapes strings: one loop
  ;; iteration, and so one epoch check, per byte.
  (func (export "byte_loop") (param $n i32) (param $len i32) (local $i i32)
    (loop $l
      (local.set $i (i32.const 0))
      (block $done
        (loop $byte
          (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
          (i32.store8 offset=1024 (local.get $i) (i32.load8_u (local.get $i)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $byte)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))
  (func $step (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  ;; A call of a small function that is not inlined: one prologue.
  (func (export "call") (param $n i32) (param $len i32)
    (loop $l
      (local.set $len (call $step (local.get $len)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))))
"#;

/// Steps per timed call.
const N: i32 = 2_000_000;

struct Steps {
    store: wasmtime::Store<()>,
    instance: wasmtime::Instance,
}

impl Steps {
    fn new(epochs: bool) -> Steps {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(epochs);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let module = wasmtime::Module::new(&engine, wat::parse_str(STEPS_WAT).unwrap()).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        // The engine's epoch never advances here: checks run, never trap.
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        Steps { store, instance }
    }

    /// Nanoseconds per step of `export` on `len` bytes.
    fn per_step(&mut self, export: &str, len: i32) -> f64 {
        let f = self.instance.get_typed_func::<(i32, i32), ()>(&mut self.store, export).unwrap();
        f.call(&mut self.store, (1000, len)).unwrap();
        let store = &mut self.store;
        median(11, || f.call(&mut *store, (N, len)).unwrap()).as_secs_f64() * 1e9 / f64::from(N)
    }
}

fn ns(v: f64) -> String {
    format!("{v:.2} ns")
}

fn main() {
    let (mut on, mut off) = (Steps::new(true), Steps::new(false));
    println!("## What a guest step costs in Wasmtime's generated code\n");
    println!("| step | epochs on (the extension host) | epochs off |");
    println!("|---|---|---|");
    let rows = [
        ("`memory.copy`, 8 bytes, length known at run time", "copy_dynamic", 8),
        ("`memory.copy`, 24 bytes, length known at run time", "copy_dynamic", 24),
        ("`memory.copy`, 8 bytes, constant length", "copy_const8", 8),
        ("copying 8 bytes in a byte loop", "byte_loop", 8),
        ("copying 24 bytes in a byte loop", "byte_loop", 24),
        ("a call of a small function", "call", 0),
    ];
    for (what, export, len) in rows {
        println!("| {what} | {} | {} |", ns(on.per_step(export, len)), ns(off.per_step(export, len)));
    }
}
