//! The `.ipc` interface language of courier: lexer, parser, syntax tree with
//! spans, semantic checks and diagnostics.
//!
//! An `.ipc` file declares endpoints and their messages, in the dialect of
//! SerenityOS's LibIPC:
//!
//! ```text
//! #include <LibGfx/Rect.h>
//!
//! endpoint WindowServer
//! {
//!     // Request-response: the client waits for the results.
//!     create_window(Gfx::IntRect rect, [UTF8] ByteString title) => (i32 window_id)
//!     // One-way: no response.
//!     InvalidateRect(i32 window_id, Gfx::IntRect rect) =|
//!     SetWindowBitmap(i32 window_id, [Bitmap] bitmap) => ()
//! }
//! ```
//!
//! [`parse`] turns one file into a syntax tree ([`ast::IpcFile`]) and its
//! syntax diagnostics; [`check()`] parses several files and runs the semantic
//! checks on them together (duplicate names, attributes, template arities,
//! endpoint magic collisions). Diagnostics render rustc-style:
//!
//! ```
//! use courier_idl::{SourceFile, check, parse};
//!
//! let text = "endpoint Demo {\n    ping(i32 id) => (i32 id)\n    Ping() =|\n}\n";
//!
//! // Syntax only: this file is well-formed.
//! let (file, diagnostics) = parse(text);
//! assert!(diagnostics.is_empty());
//! assert_eq!(file.endpoints[0].messages.len(), 2);
//!
//! // The checks find that `Ping` and `ping` are the same name in Rust.
//! let checked = check(&[SourceFile::new("ipc/Demo.ipc", text)]);
//! assert!(checked.has_errors());
//! assert_eq!(
//!     checked.render_diagnostics(),
//!     "\
//! error: duplicate message `Ping`
//!   --> ipc/Demo.ipc:3:5
//!    |
//!  2 |     ping(i32 id) => (i32 id)
//!    |     ---- first defined here
//!  3 |     Ping() =|
//!    |     ^^^^
//!    = hint: `ping` and `Ping` are the same name in Rust (`ping`, `Ping`); rename one of them
//!
//! error: 1 error in ipc/Demo.ipc
//! "
//! );
//! ```
//!
//! [`print()`] renders a syntax tree back as canonical `.ipc` text, which
//! parses to the same tree.
//!
//! An empty file (or one with only comments and directives) is valid: it
//! declares no endpoints.
//!
//! # Untrusted input
//!
//! Nothing here panics or hangs, whatever the input: time is linear in the
//! size of the input, template nesting is limited to 32 levels (deeper is a
//! diagnostic, not a stack overflow), and at most 100 diagnostics are kept
//! per file (then one more says how many were left out). Snippets of very
//! long lines are cut around the fault. [`parse_bytes`] accepts any bytes
//! and reports invalid UTF-8.
//!
//! # Names
//!
//! The syntax tree keeps names as written. [`snake_case`] and
//! [`pascal_case`] give the Rust spellings, the same for `create_window` and
//! `CreateWindow`; the checks use them to find names that would clash in
//! generated code.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
mod check;
pub mod compare;
mod diagnostic;
pub mod fingerprint;
mod lexer;
pub mod magic;
pub mod naming;
mod parser;
mod print;
mod render;
mod token;
pub mod types;
mod utf8;

pub use check::UserTypes;
pub use diagnostic::{Diagnostic, Severity};
pub use naming::{pascal_case, snake_case};
pub use print::print;

use ast::IpcFile;
use diagnostic::Counts;
use render::LineIndex;

/// Parses one `.ipc` file: its syntax tree (as much as could be recovered)
/// and its syntax diagnostics, in source order. Semantic problems (duplicate
/// names and the like) are [`check()`]'s business.
///
/// ```
/// let (file, diagnostics) = courier_idl::parse("endpoint E {\n    a(i32 x) =|\n}\n");
/// assert!(diagnostics.is_empty());
/// assert_eq!(file.endpoints[0].messages[0].name.name, "a");
///
/// let (_, diagnostics) = courier_idl::parse("endpoint E {\n    a(i32 x)\n}\n");
/// assert_eq!(
///     diagnostics[0].message,
///     "expected `=>` or `=|` after the parameter list of `a`, found `}`"
/// );
/// ```
pub fn parse(source: &str) -> (IpcFile, Vec<Diagnostic>) {
    let (file, diagnostics) = parser::parse(source);
    (file, diagnostics.finish(source.len()))
}

/// Parses a file given as bytes, which may not be UTF-8. Each run of invalid
/// bytes is reported and read as spaces, so spans are offsets into `bytes`;
/// render diagnostics against the text of [`decode_utf8`].
///
/// ```
/// let (file, diagnostics) = courier_idl::parse_bytes(b"endpoint E {}\n\xFF\n");
/// assert_eq!(file.endpoints.len(), 1);
/// assert_eq!(diagnostics[0].message, "invalid UTF-8: 1 byte (0xFF)");
/// ```
pub fn parse_bytes(bytes: &[u8]) -> (IpcFile, Vec<Diagnostic>) {
    let (text, mut diagnostics) = utf8::decode(bytes);
    let (file, syntax) = parser::parse(&text);
    diagnostics.append(syntax);
    (file, diagnostics.finish(text.len()))
}

/// The text of `bytes` as [`parse_bytes`] reads it: every byte of an invalid
/// UTF-8 sequence replaced by a space, so that offsets stay the same, plus a
/// diagnostic for each run of invalid bytes.
///
/// ```
/// let (text, diagnostics) = courier_idl::decode_utf8(b"ab\xFFc");
/// assert_eq!(text, "ab c");
/// assert_eq!(diagnostics.len(), 1);
/// ```
pub fn decode_utf8(bytes: &[u8]) -> (String, Vec<Diagnostic>) {
    let (text, diagnostics) = utf8::decode(bytes);
    let len = text.len();
    (text, diagnostics.finish(len))
}

/// An `.ipc` file to [`check()`]: a name to show in diagnostics and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The name shown in diagnostics, usually the path as the user gave it.
    pub name: String,
    /// The file's text.
    pub text: String,
}

impl SourceFile {
    /// A source file named `name` with the text `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// A source file read from bytes that may not be UTF-8: invalid
    /// sequences become `U+FFFD`, which [`check()`] reports as invalid UTF-8
    /// (spans then point into the converted text, as the diagnostics show).
    ///
    /// ```
    /// use courier_idl::{SourceFile, check};
    ///
    /// let file = SourceFile::from_bytes("bad.ipc", b"endpoint E {}\n\xFF\xFE\n");
    /// let checked = check(&[file]);
    /// assert!(checked.render_diagnostics().starts_with("error: invalid UTF-8"));
    /// ```
    pub fn from_bytes(name: impl Into<String>, bytes: &[u8]) -> SourceFile {
        SourceFile::new(name, String::from_utf8_lossy(bytes))
    }
}

/// Parses and checks files that are compiled together: syntax and semantic
/// diagnostics of each file, plus those that need all of them (duplicate
/// endpoint names and endpoint magic collisions, reported in the file of
/// the second definition).
///
/// ```
/// use courier_idl::{SourceFile, check};
///
/// let checked = check(&[
///     SourceFile::new("a.ipc", "endpoint Shared {}\n"),
///     SourceFile::new("b.ipc", "endpoint Shared {}\n"),
/// ]);
/// assert!(checked.files[0].diagnostics.is_empty());
/// assert_eq!(checked.files[1].diagnostics[0].message, "duplicate endpoint `Shared`");
/// ```
pub fn check(files: &[SourceFile]) -> Checked {
    let parsed: Vec<_> = files.iter().map(|file| parser::parse(&file.text)).collect();
    let units: Vec<check::Unit<'_>> = files
        .iter()
        .zip(&parsed)
        .map(|(file, (ast, _))| check::Unit {
            name: &file.name,
            text: &file.text,
            ast,
        })
        .collect();
    let semantic = check::check_units(&units);
    let files = files
        .iter()
        .zip(parsed)
        .zip(semantic)
        .map(|((file, (ast, mut diagnostics)), found)| {
            for diagnostic in found {
                diagnostics.push(diagnostic);
            }
            let (diagnostics, counts) = diagnostics.finish_counted(file.text.len());
            CheckedFile {
                name: file.name.clone(),
                text: file.text.clone(),
                ast,
                diagnostics,
                counts,
            }
        })
        .collect();
    Checked { files }
}

/// The outcome of [`check()`].
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// The files, in the order given to [`check()`].
    pub files: Vec<CheckedFile>,
}

/// One checked file.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedFile {
    /// The file's name, as given.
    pub name: String,
    /// The file's text, which the spans point into.
    pub text: String,
    /// The syntax tree (as much as could be recovered when there are errors).
    pub ast: IpcFile,
    /// Syntax and semantic diagnostics, in source order. At most 100 are
    /// kept; then one more says how many were left out.
    pub diagnostics: Vec<Diagnostic>,
    /// The true numbers, those left out included.
    counts: Counts,
}

impl CheckedFile {
    /// Whether any diagnostic of this file is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The number of errors found in this file, those left out of
    /// [`CheckedFile::diagnostics`] past its limit included (the note that
    /// says so is not counted).
    ///
    /// ```
    /// use courier_idl::{SourceFile, check};
    ///
    /// // 150 messages outside an endpoint: 150 errors, 100 of them shown.
    /// let text = "a() =|\n".repeat(150);
    /// let checked = check(&[SourceFile::new("many.ipc", text)]);
    /// assert_eq!(checked.files[0].error_count(), 150);
    /// assert_eq!(checked.files[0].diagnostics.len(), 101);
    /// ```
    pub fn error_count(&self) -> usize {
        self.counts.errors
    }

    /// The number of warnings found in this file, those left out included.
    pub fn warning_count(&self) -> usize {
        self.counts.warnings
    }
}

impl Checked {
    /// Whether any file has an error (warnings do not count).
    pub fn has_errors(&self) -> bool {
        self.files.iter().any(CheckedFile::has_errors)
    }

    /// The number of errors in all files, including those left out of
    /// [`CheckedFile::diagnostics`] past its limit.
    pub fn error_count(&self) -> usize {
        self.files.iter().map(CheckedFile::error_count).sum()
    }

    /// The number of warnings in all files, including those left out.
    pub fn warning_count(&self) -> usize {
        self.files.iter().map(CheckedFile::warning_count).sum()
    }

    /// Every diagnostic of every file, rendered, each followed by a blank
    /// line, then a summary line (`error: 3 errors, 1 warning in
    /// ipc/Foo.ipc`). Empty when there is nothing to report.
    pub fn render_diagnostics(&self) -> String {
        let mut out = String::new();
        for file in &self.files {
            let index = LineIndex::new(&file.text);
            for diagnostic in &file.diagnostics {
                out.push_str(&render::render(diagnostic, &file.name, &file.text, &index));
                out.push('\n');
            }
        }
        out.push_str(&self.summary());
        out
    }

    /// `error: 3 errors, 1 warning in ipc/Foo.ipc`, or empty.
    fn summary(&self) -> String {
        let (errors, warnings) = (self.error_count(), self.warning_count());
        let mut with_diagnostics = self.files.iter().filter(|f| !f.diagnostics.is_empty());
        let place = match (with_diagnostics.next(), with_diagnostics.count()) {
            (None, _) => return String::new(),
            (Some(file), 0) => file.name.clone(),
            (Some(_), others) => format!("{} files", others + 1),
        };
        let errors_text = plural(errors, "error");
        let warnings_text = plural(warnings, "warning");
        match (errors, warnings) {
            (0, _) => format!("warning: {warnings_text} in {place}\n"),
            (_, 0) => format!("error: {errors_text} in {place}\n"),
            _ => format!("error: {errors_text}, {warnings_text} in {place}\n"),
        }
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
