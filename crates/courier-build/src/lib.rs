//! `build.rs` integration: compile `.ipc` files into `OUT_DIR`.
#![deny(unsafe_code)]
#![warn(missing_docs)]
