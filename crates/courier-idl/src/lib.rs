//! The `.ipc` interface language of courier.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
pub mod magic;
