//! Tokens: what the lexer hands to the parser.

use crate::ast::Span;
use crate::diagnostic::excerpt;

/// The kind of a [`Token`]. Whitespace and comments are trivia and never
/// become tokens; comments reach the parser as [`Token::docs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A name: `endpoint`, `create_window`, `i32`.
    Ident,
    /// A run of ASCII digits and letters starting with a digit: `16`, `0x10`.
    Int,
    /// `::`
    ColonColon,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `,`
    Comma,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `=`
    Eq,
    /// `=>`
    FatArrow,
    /// `=|`
    EqPipe,
    /// A `#` line, such as `#include <LibGfx/Color.h>`.
    Directive,
    /// Characters that start no token; the lexer has already reported them
    /// and the parser skips them.
    Unknown,
    /// The end of the input (always the last token).
    Eof,
}

/// One token with its place in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// What it is.
    pub(crate) kind: TokenKind,
    /// Where it is.
    pub(crate) span: Span,
    /// Whether it is the first token on its line.
    pub(crate) line_start: bool,
    /// The run of `//` lines directly above it (only for the first token of
    /// a line), without `//` and one following space.
    pub(crate) docs: Vec<String>,
    /// Whether characters that start no token (already reported) came right
    /// before it; set by the parser, which drops those.
    pub(crate) after_unknown: bool,
}

impl Token {
    /// How the token reads in a message: `` `create_window` ``, `` `(` ``,
    /// `end of file`.
    pub(crate) fn describe(&self, source: &str) -> String {
        match self.kind {
            TokenKind::Eof => "end of file".to_string(),
            TokenKind::Directive => "a `#` directive".to_string(),
            _ => {
                let text = source.get(self.span.start..self.span.end).unwrap_or("");
                format!("`{}`", excerpt(text))
            }
        }
    }
}
