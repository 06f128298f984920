//! The only place where courier talks to the operating system directly.
//!
//! Modules here may opt into `unsafe` with `#![allow(unsafe_code)]`, each
//! block with a `// SAFETY:` comment; the rest of the crate denies it.

pub(crate) mod ids;
pub(crate) mod mm;
pub(crate) mod socket;
pub(crate) mod takeover;
