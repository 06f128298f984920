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
//! #         explicit_magic: None,
//! #         routing: None,
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
//!   `courier::Endpoint` (`NAME`, `MAGIC`, `DEFINITION`, `FINGERPRINT`, `type Message`,
//!   `decode_message`, `message_name`); `DEFINITION` is the whole file as
//!   `courier_idl::print` renders it, which servers send to introspecting
//!   tools;
//! - `pub const MAGIC: u32`, the SerenityOS magic;
//! - `pub const FINGERPRINT: u64`, the interface fingerprint
//!   (`courier_idl::fingerprint`), which the handshake compares so that
//!   programs built from different versions of the `.ipc` file fail to
//!   connect instead of misreading each other's messages;
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
//!   prefixed so that `use window_server::*` does not shadow `courier::Message`;
//! - `pub trait WindowServerHandler`, the server side: one method per message,
//!   named in snake_case, taking the parameters by value. A request's method
//!   returns `Result<R, courier::HandlerError>`, where `R` is `()` for
//!   `=> ()`, the result's type for one result, and the response struct for
//!   several; a one-way message's method returns nothing. Also implemented
//!   for `&mut T` and `Box<T>`;
//! - `pub struct WindowServerService<T>(pub T)`, implementing
//!   `courier::Handler<WindowServer>` for any `T: WindowServerHandler` (the
//!   orphan rules forbid the blanket impl);
//! - `pub struct WindowServerClient<L = courier::NoMessages>`, the blocking
//!   client over `courier::blocking::BlockingConnection<L, WindowServer>`
//!   (`L` is what this side handles, and must be the service's client
//!   endpoint when it has one): `connect`, `connect_service` (by service
//!   name, through `courier::discovery`), `from_connection`, `connection`,
//!   `with_timeout`, and one method per message returning
//!   `Result<R, courier::Error>` (a one-way message's returns once the
//!   message is written to the socket);
//! - `pub struct WindowServerAsyncClient<L = courier::NoMessages>`, the same
//!   over `courier::tokio::AsyncConnection` with `async fn`s (a one-way
//!   message's returns once the message is queued for the connection's
//!   task), inside
//!   `courier::__tokio_only! { .. }` so that it exists only when courier has
//!   its `tokio` feature;
//! - `pub trait WindowServerSender: courier::Sender<WindowServer>`, a provided
//!   method per one-way message, implemented for every
//!   `courier::Sender<WindowServer>` (connections, and a tokio server's
//!   `ClientHandle`): how a service sends events to its client.
//!
//! A message whose method would be named like a helper (`connect`,
//! `connect_service`, `from_connection`, `connection`, `with_timeout`,
//! `clone`, `send`) gets the
//! suffix `_message` on all of these items, so the helper keeps its name and
//! the message has one method name everywhere; a suffixed name that another
//! message already has is a [`CodegenError::NameCollision`].
//!
//! Each endpoint's module allows `dead_code` (an interface declares more
//! than one program uses) and `clippy::pedantic` (a crate that warns on it
//! gets no warnings from code it does not own); the code is kept clean of
//! rustc's and clippy's default lints.
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
//! | `String`, `StringView`, `FlyString`, `[UTF8] ByteString` | `String` (a `StringView` parameter: `&str` in the methods of the clients and the sender trait) |
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

mod client;
mod docs;
mod endpoint;
mod error;
mod handler;
mod messages;
mod model;
mod names;
mod options;
mod rust_types;
mod sender;
mod signature;

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
    let endpoints = model::build(file, options)?;
    let courier = rust_types::RustTypes::new(options)?.courier;
    // prettyplease prints the body of a macro call as a run of tokens, so the
    // async client (the body of `__tokio_only!`) is formatted on its own and
    // put in place of a placeholder afterwards.
    let mut tokens = proc_macro2::TokenStream::new();
    let mut async_parts = Vec::new();
    for (index, endpoint) in endpoints.iter().enumerate() {
        let placeholder = quote::format_ident!("__courier_async_items_{index}");
        tokens.extend(endpoint::emit(
            endpoint,
            &courier,
            quote::quote!(#placeholder),
        ));
        let async_items = client::emit(endpoint, &courier, client::Flavour::Async);
        async_parts.push((placeholder.to_string(), unparse(async_items)?));
    }
    let mut rust = unparse(tokens)?;
    for (placeholder, items) in async_parts {
        rust = splice(&rust, &placeholder, &items)?;
    }
    Ok(rust)
}

fn unparse(tokens: proc_macro2::TokenStream) -> Result<String, CodegenError> {
    let syntax: syn::File = syn::parse2(tokens).map_err(|error| CodegenError::Internal {
        reason: format!("generated code does not parse: {error}"),
    })?;
    Ok(prettyplease::unparse(&syntax))
}

/// Replaces the line that holds only `placeholder` by `items`, each line
/// indented as the placeholder was.
fn splice(rust: &str, placeholder: &str, items: &str) -> Result<String, CodegenError> {
    let mut out = String::with_capacity(rust.len() + items.len());
    let mut found = false;
    for line in rust.split_inclusive('\n') {
        if !found && line.trim() == placeholder {
            found = true;
            let indent = &line[..line.len() - line.trim_start().len()];
            for item_line in items.lines() {
                if !item_line.is_empty() {
                    out.push_str(indent);
                    out.push_str(item_line);
                }
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    if !found {
        return Err(CodegenError::Internal {
            reason: format!("the placeholder `{placeholder}` is missing from the formatted code"),
        });
    }
    Ok(out)
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
        let async_items = client::emit(endpoint, &courier, client::Flavour::Async);
        tokens.extend(endpoint::emit(endpoint, &courier, async_items));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests;
