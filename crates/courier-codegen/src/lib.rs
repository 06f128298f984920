//! Turns checked `.ipc` syntax trees into Rust source.
//!
//! Most users never call this crate directly: `courier-build` runs it from a
//! `build.rs`, and the `courier` command runs it by hand. It takes one parsed
//! file ([`courier_idl::ast::IpcFile`], normally one that
//! `courier_idl::check` found free of errors) and returns formatted Rust:
//!
//! ```
//! # use courier_idl::ast::*;
//! # let ident = |name: &str| Ident { name: name.to_string(), span: Span::default() };
//! # let file = IpcFile {
//! #     directives: Vec::new(),
//! #     endpoints: vec![Endpoint {
//! #         docs: Vec::new(),
//! #         name: ident("LookupClient"),
//! #         messages: Vec::new(),
//! #         span: Span::default(),
//! #     }],
//! # };
//! // `file` holds `endpoint LookupClient {}`.
//! let rust = courier_codegen::generate(&file, &courier_codegen::Options::new())?;
//! assert!(rust.contains("pub mod lookup_client {"));
//! assert!(rust.contains("pub const MAGIC: u32 = 3540717142;"));
//! # Ok::<(), courier_codegen::CodegenError>(())
//! ```
//!
//! # The shape of generated code
//!
//! For each `endpoint WindowServer { ... }`, a module `pub mod window_server`
//! holding:
//!
//! - `pub struct WindowServer;`, a marker type implementing
//!   `courier::Endpoint` (`NAME`, `MAGIC`, `type Message`, `decode_message`,
//!   `message_name`);
//! - `pub const MAGIC: u32`, the SerenityOS magic;
//! - `pub mod ids` with one `u32` constant per message and response
//!   (`ids::CREATE_WINDOW`, `ids::CREATE_WINDOW_RESPONSE`);
//! - one struct per message, named in PascalCase whatever the `.ipc` spelling
//!   (`create_window` and `CreateWindow` both give `CreateWindow`), and one per
//!   response (`CreateWindowResponse`), with `pub` fields in snake_case. Each
//!   implements `Encode`, `Decode`, `Debug` and `courier::Message`, and a
//!   request implements `courier::Request`. Structs made only of plain values
//!   (no fds, shared memory or user types) also derive `Clone` and
//!   `PartialEq`. A message without parameters is a unit struct;
//! - `pub enum WindowServerMessage`, the endpoint's name followed by
//!   `Message`, with one variant per request or one-way message, each holding
//!   its struct; it derives `Debug` (and `Clone`, `PartialEq` when every
//!   message does), has `id()` and `name()`, converts `From` each struct, and
//!   implements `Encode` (the body of the message it holds). The name is
//!   prefixed so that `use window_server::*` does not shadow `courier::Message`.
//!
//! Items carry the `.ipc` comments as docs, plus a generated sentence with the
//! declaration and its id; `#[doc(alias = "...")]` keeps the `.ipc` spelling
//! searchable where the Rust name differs. Rust keywords become raw
//! identifiers (`r#type`), except `self`, `Self`, `super` and `crate`, which
//! get a trailing underscore (`self_`).
//!
//! # Types
//!
//! | `.ipc` | Rust |
//! |---|---|
//! | `bool`, `i8`..`u64`, `int`, `unsigned`, `size_t`, `float`, `double` | `bool`, `i8`..`u64`, `i32`, `u32`, `u64`, `f32`, `f64` |
//! | `String`, `StringView`, `FlyString`, `[UTF8] ByteString` | `String` |
//! | `ByteString`, `DeprecatedString` | `courier::ByteString` |
//! | `ByteBuffer` | `Vec<u8>` |
//! | `Vector<T>` | `Vec<T>` |
//! | `HashMap<K, V>` | `std::collections::HashMap<K, V>` |
//! | `OrderedHashMap<K, V>` | `Vec<(K, V)>` |
//! | `Optional<T>` | `Option<T>` |
//! | `Variant<A, B>` .. 6 alternatives | `courier::Variant2<A, B>` .. `courier::Variant6` |
//! | `Array<T, N>` | `[T; N]` |
//! | `IPC::File`, `[File]` | `std::os::fd::OwnedFd` |
//! | `Core::AnonymousBuffer` | `courier::shm::SharedBuffer` |
//! | `Gfx::ShareableBitmap`, `[Bitmap]` | `courier::shm::ShareableBitmap` |
//! | `Gfx::BitmapSequence` | `courier::shm::BitmapSequence` |
//! | `Gfx::IntRect`, `IntPoint`, `IntSize`, `Color`, `FloatPoint`, `FloatSize`, `FloatRect` | `courier::gfx::...` of the same name |
//! | any other name, `A::B` | `super::A::B`, or what [`Options::map_type`] says |
//!
//! A user type's default path is relative to the module the generated file is
//! included in: `courier::include_ipc!("Kitchen")` at the root of a crate
//! makes `Point3` mean `crate::Point3`. Generated code names every other type
//! by an absolute path (`::std::vec::Vec`, `::courier::gfx::IntRect`), and
//! the runtime through [`Options::courier_path`].
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod docs;
mod endpoint;
mod error;
mod messages;
mod model;
mod names;
mod options;
mod rust_types;

use courier_idl::ast::IpcFile;

pub use error::CodegenError;
pub use options::Options;

/// Generates the Rust for every endpoint of `file`, formatted by prettyplease.
///
/// The output is a sequence of items (no inner attributes), fit for
/// `include!`.
///
/// # Errors
///
/// [`CodegenError`] for a parameter type without meaning, two `.ipc` names
/// that give the same Rust name, a name that cannot become a Rust identifier,
/// or an invalid path in `options`.
pub fn generate(file: &IpcFile, options: &Options) -> Result<String, CodegenError> {
    let tokens = generate_tokens(file, options)?;
    let syntax: syn::File = syn::parse2(tokens).map_err(|error| CodegenError::Internal {
        reason: format!("generated code does not parse: {error}"),
    })?;
    Ok(prettyplease::unparse(&syntax))
}

/// The comment that opens a generated file: where it comes from, and not to
/// edit it.
///
/// ```
/// assert_eq!(
///     courier_codegen::file_header("ipc/WindowServer.ipc"),
///     "// @generated by courier from `ipc/WindowServer.ipc`: do not edit.\n\n",
/// );
/// ```
pub fn file_header(source_name: &str) -> String {
    let source_name = source_name.replace(['\n', '\r'], " ");
    format!("// @generated by courier from `{source_name}`: do not edit.\n\n")
}

/// Generates the Rust for every endpoint of `file`, as tokens.
///
/// # Errors
///
/// See [`generate`].
pub fn generate_tokens(
    file: &IpcFile,
    options: &Options,
) -> Result<proc_macro2::TokenStream, CodegenError> {
    let endpoints = model::build(file, options)?;
    let courier = rust_types::RustTypes::new(options)?.courier;
    let mut tokens = proc_macro2::TokenStream::new();
    for endpoint in &endpoints {
        tokens.extend(endpoint::emit(endpoint, &courier));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests;
