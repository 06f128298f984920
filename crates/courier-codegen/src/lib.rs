//! Turns checked `.ipc` syntax trees into Rust source.
#![deny(unsafe_code)]
#![warn(missing_docs)]
