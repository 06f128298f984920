//! Semantic checks: what the grammar allows but courier does not.
//!
//! Within a file: duplicate message names (after normalising the spelling,
//! so `CreateWindow` and `create_window` collide) and Rust-name clashes with
//! generated response types, duplicate parameter names, attributes (unknown
//! ones are warnings; one that stands for a type must be `File` or
//! `Bitmap`), the attributes before a message (`[NotRouted]`) and the
//! routing of a routed endpoint, the arity of the well-known templates, what every type means
//! (as the code generator resolves it), user types named a letter away from
//! a built-in type (`Strng`: a warning), and names that do not make Rust
//! names or clash with the generated module's own items. Across the files
//! compiled together: duplicate endpoint names and endpoint magic
//! collisions, reported in the file of the second definition.
//!
//! The checks run on whatever the parser recovered, so a file with syntax
//! errors still gets its semantic diagnostics.

mod attributes;
mod duplicates;
mod endpoints;
mod messages;
mod resolution;
mod rust_names;
mod spelling;
mod templates;
mod user_types;

pub use user_types::UserTypes;

use crate::ast::{IpcFile, MessageKind, Param};
use crate::diagnostic::Diagnostic;

/// One file to check, as the checks see it.
pub(crate) struct Unit<'a> {
    /// The file's name, for pointing at it from other files.
    pub(crate) name: &'a str,
    /// The file's text, for line and column numbers.
    pub(crate) text: &'a str,
    /// The parsed file.
    pub(crate) ast: &'a IpcFile,
}

/// The semantic diagnostics of each unit, in the order of `units`.
pub(crate) fn check_units(units: &[Unit<'_>]) -> Vec<Vec<Diagnostic>> {
    let mut found: Vec<Vec<Diagnostic>> = units.iter().map(|u| check_file(u.ast)).collect();
    endpoints::check(units, &mut found);
    found
}

fn check_file(file: &IpcFile) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for endpoint in &file.endpoints {
        duplicates::check_messages(endpoint, &mut found);
        messages::check(endpoint, &mut found);
        for message in &endpoint.messages {
            check_params(&message.params, "parameter", &mut found);
            if let MessageKind::Request { results } = &message.kind {
                check_params(results, "result", &mut found);
            }
        }
    }
    rust_names::check_file(file, &mut found);
    found
}

fn check_params(params: &[Param], what: &str, found: &mut Vec<Diagnostic>) {
    duplicates::check_params(params, what, found);
    for param in params {
        attributes::check(param, found);
        if let Some(ty) = &param.ty {
            templates::check(ty, found);
        }
        resolution::check(param, what, found);
        spelling::check(param, what, found);
    }
}
