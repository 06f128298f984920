//! Why code could not be generated.

use std::fmt;

use courier_idl::Diagnostic;
use courier_idl::ast::Span;

/// Why [`crate::generate`] could not produce code for a file.
///
/// A file that passed `courier_idl::check` without errors only fails here
/// for a reason the checks do not know about: a name collision in the Rust
/// output, a type the checks let through but Rust cannot express, or an
/// invalid path given through [`crate::Options`]. Errors tied to a place in
/// the file turn into a [`Diagnostic`] with [`CodegenError::diagnostic`], to
/// be rendered like the checks' own.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodegenError {
    /// A parameter's type has no meaning (see `courier_idl::types::resolve`).
    Type {
        /// The endpoint, as written.
        endpoint: String,
        /// The message, as written.
        message: String,
        /// The parameter, as written.
        param: String,
        /// What is wrong with its type.
        reason: String,
        /// The parameter in the source.
        span: Span,
    },
    /// Two `.ipc` names become the same Rust name.
    NameCollision {
        /// The endpoint, as written (empty for a collision between endpoints).
        endpoint: String,
        /// The Rust name both produce.
        rust_name: String,
        /// What produced it first.
        first: String,
        /// What produced it again.
        second: String,
        /// Where the second one is written.
        span: Span,
    },
    /// A name that cannot become a Rust identifier.
    InvalidName {
        /// Where the name was found (`endpoint WindowServer`, `parameter x of
        /// CreateWindow`).
        context: String,
        /// Why it is invalid.
        reason: String,
        /// Where the name is written.
        span: Span,
    },
    /// A Rust path given in [`crate::Options`] does not parse.
    InvalidPath {
        /// Which setting (`map_type("URL::URL")`, `courier_path`).
        setting: String,
        /// The text given.
        path: String,
    },
    /// The generator produced code that does not parse: a bug in
    /// courier-codegen.
    Internal {
        /// What went wrong.
        reason: String,
    },
}

impl CodegenError {
    /// The error as a diagnostic at its place in the `.ipc` file, for the
    /// errors that have one; render it with [`Diagnostic::render`] and the
    /// file's text.
    ///
    /// ```
    /// use courier_idl::{SourceFile, check};
    ///
    /// let text = "endpoint Echo {\n    echo() =|\n}\n";
    /// let checked = check(&[SourceFile::new("Echo.ipc", text)]);
    /// let options = courier_codegen::Options::new();
    /// let error = courier_codegen::generate(&checked.files[0].ast, &options).unwrap_err();
    /// let rendered = error.diagnostic().unwrap().render("Echo.ipc", text);
    /// assert!(rendered.starts_with(
    ///     "error: message echo and the marker type of endpoint Echo both become the Rust name `Echo`\n  --> Echo.ipc:2:5\n"
    /// ), "{rendered}");
    /// ```
    pub fn diagnostic(&self) -> Option<Diagnostic> {
        match self {
            CodegenError::Type {
                param,
                reason,
                span,
                ..
            } => Some(Diagnostic::error(
                *span,
                format!("parameter `{param}`: {reason}"),
            )),
            CodegenError::NameCollision {
                rust_name,
                first,
                second,
                span,
                ..
            } => Some(
                Diagnostic::error(
                    *span,
                    format!("{second} and {first} both become the Rust name `{rust_name}`"),
                )
                .with_hint("rename one of them"),
            ),
            CodegenError::InvalidName {
                context,
                reason,
                span,
            } => Some(Diagnostic::error(*span, format!("{context}: {reason}"))),
            CodegenError::InvalidPath { .. } | CodegenError::Internal { .. } => None,
        }
    }

    /// The error as text for a terminal, in the style of the checks'
    /// diagnostics: with the file name, line, column and a caret when the
    /// error has a place ([`CodegenError::diagnostic`]), then a summary line.
    /// `source` is the text of the file named `file_name`.
    ///
    /// ```
    /// let mut options = courier_codegen::Options::new();
    /// options.courier_path("not a path");
    /// let file = courier_idl::parse("endpoint E {}").0;
    /// let error = courier_codegen::generate(&file, &options).unwrap_err();
    /// assert_eq!(
    ///     error.render("E.ipc", "endpoint E {}"),
    ///     "error: courier_path: `not a path` is not a Rust path; write one such as \
    ///      `crate::module::Type`\n\nerror: could not generate Rust from E.ipc\n"
    /// );
    /// ```
    pub fn render(&self, file_name: &str, source: &str) -> String {
        let detail = match self.diagnostic() {
            Some(diagnostic) => diagnostic.render(file_name, source),
            None => format!("error: {self}\n"),
        };
        format!("{detail}\nerror: could not generate Rust from {file_name}\n")
    }
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodegenError::Type {
                endpoint,
                message,
                param,
                reason,
                ..
            } => {
                write!(f, "{endpoint}::{message}, parameter `{param}`: {reason}")
            }
            CodegenError::NameCollision {
                endpoint,
                rust_name,
                first,
                second,
                ..
            } => {
                if endpoint.is_empty() {
                    write!(
                        f,
                        "{first} and {second} both become the Rust name `{rust_name}`; rename one"
                    )
                } else {
                    write!(
                        f,
                        "in endpoint {endpoint}, {first} and {second} both become the Rust name \
                         `{rust_name}`; rename one"
                    )
                }
            }
            CodegenError::InvalidName {
                context, reason, ..
            } => write!(f, "{context}: {reason}"),
            CodegenError::InvalidPath { setting, path } => write!(
                f,
                "{setting}: `{path}` is not a Rust path; write one such as `crate::module::Type`"
            ),
            CodegenError::Internal { reason } => write!(
                f,
                "{reason}; this is a bug in courier-codegen, please report it with the .ipc file"
            ),
        }
    }
}

impl std::error::Error for CodegenError {}
