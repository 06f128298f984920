//! Doc attributes: `.ipc` comments, generated sentences, aliases.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::names;

/// Lines of documentation, built paragraph by paragraph.
#[derive(Default)]
pub(crate) struct Docs {
    lines: Vec<String>,
}

impl Docs {
    /// Appends `text` as a new paragraph (a blank line before it when there
    /// is already something).
    pub(crate) fn push_paragraph(&mut self, text: impl Into<String>) {
        if !self.lines.is_empty() {
            self.lines.push(String::new());
        }
        self.lines.push(text.into());
    }

    /// `#[doc = " line"]` for each line; prettyplease prints them as `///`.
    pub(crate) fn attrs(&self) -> TokenStream {
        let lines = self.lines.iter().map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!(" {line}")
            }
        });
        quote!(#(#[doc = #lines])*)
    }
}

/// The `//` comments of the `.ipc` file, as the first paragraphs, without
/// blank lines at either end and with trailing spaces removed.
pub(crate) fn ipc_comments(comments: &[String]) -> Docs {
    let lines: Vec<String> = comments
        .iter()
        .map(|line| line.trim_end().to_string())
        .collect();
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |i| i + 1);
    Docs {
        lines: lines[start..end].to_vec(),
    }
}

/// `` [`Name`](struct@Name) ``: a doc link to the struct `ident`, which
/// cannot be mistaken for a macro of the prelude (a message may be named
/// `Clone` or `Debug`).
pub(crate) fn struct_link(ident: &Ident) -> String {
    let name = names::unraw(ident);
    format!("[`{name}`](struct@{name})")
}

/// `#[doc(alias = "written")]` when the Rust name reads differently from the
/// `.ipc` spelling (rustdoc rejects an alias equal to the name).
pub(crate) fn alias(written: &str, ident: &Ident) -> TokenStream {
    if names::unraw(ident) == written {
        TokenStream::new()
    } else {
        quote!(#[doc(alias = #written)])
    }
}
