//! The bodies of courier's fuzz targets, as plain functions.
//!
//! `fuzz/` (a cargo-fuzz project outside the workspace) calls each of these
//! from a one-line libFuzzer target, and `tests/corpus.rs` feeds them every
//! file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`, so the
//! seed corpora and every past finding run inside `cargo test --workspace`.
//!
//! Each function takes arbitrary bytes and panics only when courier breaks a
//! promise: a panic inside courier, a decoded value that differs from what
//! was encoded, an fd kept after it should be closed, an event after
//! `Closed`.
//!
//! - [`idl`]: the `.ipc` front end (parse, check, render, and code
//!   generation of what checks clean) on arbitrary text.
//! - [`decode`]: the codec's decode of every generated message and response
//!   of the example interfaces (`Kitchen.ipc` uses every type of the
//!   mapping) on arbitrary bytes, with real fds.
//! - [`proto`]: the sans-IO [`courier::proto::Connection`], client and
//!   server side, fed arbitrary chunks, fds and timeouts.
//! - [`roundtrip`]: values of the rich types built from the bytes; decoding
//!   their encoding gives them back, fds in order.
//!
//! ```
//! // Any input is fine: these return normally unless courier is broken.
//! courier_fuzz::idl(b"endpoint E { f(i32 x) => () }");
//! courier_fuzz::decode(&[0, 0, 0, 1, 2, 3]);
//! courier_fuzz::proto(b"\x00\x01\x02");
//! courier_fuzz::roundtrip(b"seed");
//! ```
#![deny(unsafe_code)]

mod alloc;
mod decode;
mod fds;
mod idl;
mod input;
mod proto;
mod roundtrip;
pub mod seeds;

pub use decode::decode;
pub use idl::idl;
pub use proto::proto;
pub use roundtrip::roundtrip;

/// Counts heap bytes per thread, for [`decode`]'s allocation check.
#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// The names of the fuzz targets, as the directories of `fuzz/corpus/`.
pub const TARGETS: [&str; 4] = ["idl", "decode", "proto", "roundtrip"];

/// Runs the target called `name` (one of [`TARGETS`]) on `data`.
///
/// # Panics
///
/// For an unknown name, and wherever the target itself panics (a finding).
pub fn run(name: &str, data: &[u8]) {
    match name {
        "idl" => idl(data),
        "decode" => decode(data),
        "proto" => proto(data),
        "roundtrip" => roundtrip(data),
        other => panic!("no fuzz target `{other}`; the targets are {TARGETS:?}"),
    }
}
