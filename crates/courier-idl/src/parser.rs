//! The parser: tokens to an [`IpcFile`], by recursive descent with error
//! recovery.
//!
//! Grammar (`?` optional, `*` repeated):
//!
//! ```text
//! file      = directive* endpoint*            (directives may sit between endpoints)
//! endpoint  = "endpoint" Ident ("=" Integer)? ("routed" "by" Type Ident)? "{" message* "}"
//! message   = attrgroup* Ident "(" params? ")" ( "=|" | "=>" "(" params? ")" )
//! params    = param ("," param)* ","?
//! param     = attrgroup* Type? Ident
//! attrgroup = "[" attr ("," attr)* "]"
//! attr      = Ident ("=" (Ident | Integer))?
//! Type      = "::"? Ident ("::" Ident)* ("<" TypeArg ("," TypeArg)* ","? ">")?
//! TypeArg   = "const"? Type "const"? | Integer
//! ```
//!
//! Each parse function returns `Err(Reported)` once it has reported a problem;
//! the caller that owns a recovery point (a parameter list, an endpoint body,
//! the top level) then skips to a place where parsing can resume: the next
//! `,` or `)` of a list, the next message at the start of a line, the next
//! `}` or `endpoint`. So every error of a file is reported, each once.
//! Nothing recurses on input except template arguments, whose depth is
//! bounded by [`MAX_TEMPLATE_DEPTH`].

mod items;
mod params;
mod types;

use crate::ast::{Ident, IpcFile, Span, Type};
use crate::diagnostic::{Diagnostic, Sink};
use crate::lexer::lex;
use crate::token::{Token, TokenKind};

/// How deeply template arguments may nest (`A<B<C<...>>>`).
pub(crate) const MAX_TEMPLATE_DEPTH: usize = 32;

/// How many tokens of attributes before a message name the parser looks
/// through to tell a message (`[NotRouted] name(`) from something else.
const MAX_ATTRIBUTE_TOKENS: usize = 64;

/// Parses `source` into a syntax tree and its syntax diagnostics (not yet
/// sorted: more may join them).
pub(crate) fn parse(source: &str) -> (IpcFile, Sink) {
    let lexed = lex(source);
    let mut parser = Parser {
        source,
        tokens: without_unknown(lexed.tokens, source),
        pos: 0,
        prev_span: Span::new(0, 0),
        diagnostics: Sink::default(),
    };
    let file = parser.parse_file();
    let mut diagnostics = lexed.diagnostics;
    diagnostics.append(parser.diagnostics);
    (file, diagnostics)
}

/// Parses `text` as one type and nothing else (`Foo<Vector<i32>, 4>`);
/// `None` when it is not exactly one well-formed type.
pub(crate) fn parse_type_text(text: &str) -> Option<Type> {
    let lexed = lex(text);
    if !lexed.diagnostics.is_empty() {
        return None;
    }
    let mut parser = Parser {
        source: text,
        tokens: lexed.tokens,
        pos: 0,
        prev_span: Span::new(0, 0),
        diagnostics: Sink::default(),
    };
    let ty = parser.parse_type(0).ok()?;
    (parser.at(TokenKind::Eof) && parser.diagnostics.is_empty()).then_some(ty)
}

/// The tokens without the [`TokenKind::Unknown`] ones, which the lexer has
/// reported: the token after them is marked, so that the parser does not
/// report the same fault again, and inherits their place at the start of a
/// line.
fn without_unknown(tokens: Vec<Token>, source: &str) -> Vec<Token> {
    let mut kept = Vec::with_capacity(tokens.len());
    let mut skipped: Option<Token> = None;
    for mut token in tokens {
        if token.kind == TokenKind::Unknown {
            skipped.get_or_insert(token);
            continue;
        }
        if let Some(unknown) = skipped.take() {
            token.after_unknown = true;
            let gap = source.get(unknown.span.end..token.span.start).unwrap_or("");
            if unknown.line_start && !gap.contains('\n') {
                token.line_start = true;
                token.docs = unknown.docs;
            }
        }
        kept.push(token);
    }
    kept
}

/// A problem has been reported; the caller recovers without reporting more.
#[derive(Debug)]
pub(crate) struct Reported;

/// The result of a parse function.
pub(crate) type PResult<T> = Result<T, Reported>;

pub(crate) struct Parser<'src> {
    source: &'src str,
    /// Never empty: the lexer ends it with [`TokenKind::Eof`].
    tokens: Vec<Token>,
    pos: usize,
    /// The span of the last token consumed.
    prev_span: Span,
    diagnostics: Sink,
}

impl Parser<'_> {
    // ---- looking at tokens ----

    fn nth(&self, ahead: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + ahead).min(last)]
    }

    fn peek(&self) -> &Token {
        self.nth(0)
    }

    fn kind(&self) -> TokenKind {
        self.peek().kind
    }

    fn at(&self, kind: TokenKind) -> bool {
        self.kind() == kind
    }

    fn text(&self, span: Span) -> &str {
        self.source.get(span.start..span.end).unwrap_or("")
    }

    /// Whether the current token is the identifier `word`.
    fn at_word(&self, word: &str) -> bool {
        self.at(TokenKind::Ident) && self.text(self.peek().span) == word
    }

    /// Whether the token `ahead` starts a message: first on its line, a
    /// name followed by `(`, or attributes in brackets (`[NotRouted]`) and
    /// then a name followed by `(`.
    fn starts_message(&self, ahead: usize) -> bool {
        let token = self.nth(ahead);
        if !token.line_start {
            return false;
        }
        match token.kind {
            TokenKind::Ident => self.nth(ahead + 1).kind == TokenKind::LParen,
            TokenKind::LBracket => self.attributes_then_name(ahead),
            _ => false,
        }
    }

    /// Whether the tokens from `ahead` (a `[`) are attribute groups followed
    /// by a name and `(`. Looks at most [`MAX_ATTRIBUTE_TOKENS`] tokens ahead,
    /// so scanning stays linear however the input is made.
    pub(super) fn attributes_then_name(&self, ahead: usize) -> bool {
        let mut at = ahead;
        while self.nth(at).kind == TokenKind::LBracket {
            at += 1;
            loop {
                if at - ahead > MAX_ATTRIBUTE_TOKENS {
                    return false;
                }
                match self.nth(at).kind {
                    TokenKind::RBracket => {
                        at += 1;
                        break;
                    }
                    TokenKind::Ident | TokenKind::Int | TokenKind::Eq | TokenKind::Comma => at += 1,
                    _ => return false,
                }
            }
        }
        self.nth(at).kind == TokenKind::Ident && self.nth(at + 1).kind == TokenKind::LParen
    }

    /// Whether the current token starts an endpoint: `endpoint` first on its
    /// line, followed by a name or `{`.
    fn at_endpoint_start(&self) -> bool {
        self.at_word("endpoint")
            && self.peek().line_start
            && matches!(self.nth(1).kind, TokenKind::Ident | TokenKind::LBrace)
    }

    /// Whether the current token is a point the enclosing endpoint body can
    /// resume from: end of file, `}`, a directive, an endpoint or a message.
    fn at_body_boundary(&self) -> bool {
        matches!(
            self.kind(),
            TokenKind::Eof | TokenKind::RBrace | TokenKind::Directive
        ) || self.at_endpoint_start()
            || self.starts_message(0)
    }

    // ---- consuming tokens ----

    /// Consumes the current token (never moves past the end) and returns its
    /// span.
    fn bump(&mut self) -> Span {
        let span = self.peek().span;
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        self.prev_span = span;
        span
    }

    /// Consumes the current token if it is a `kind`.
    fn eat(&mut self, kind: TokenKind) -> Option<Span> {
        self.at(kind).then(|| self.bump())
    }

    /// Consumes an identifier.
    fn bump_ident(&mut self) -> Ident {
        let span = self.bump();
        Ident {
            name: self.text(span).to_string(),
            span,
        }
    }

    /// The doc comments of the current token, taken out of it.
    fn take_docs(&mut self) -> Vec<String> {
        let last = self.tokens.len() - 1;
        let index = self.pos.min(last);
        std::mem::take(&mut self.tokens[index].docs)
    }

    // ---- reporting ----

    /// How many diagnostics the parser has reported so far.
    fn diagnostics_reported(&self) -> usize {
        self.diagnostics.len()
    }

    fn report(&mut self, diagnostic: Diagnostic) -> Reported {
        self.diagnostics.push(diagnostic);
        Reported
    }

    /// Where a missing token should have been: at the current token when it
    /// is on the same line as the previous one, else just after the previous
    /// token (pointing at the start of an unrelated next line misleads).
    fn expected_span(&self) -> Span {
        let token = self.peek();
        let same_line = !token.line_start && token.kind != TokenKind::Eof;
        if same_line || self.pos == 0 {
            token.span
        } else {
            Span::new(self.prev_span.end, self.prev_span.end)
        }
    }

    /// Reports "expected {what}, found {current token}" where the missing
    /// token should have been (see [`Parser::expected_span`]), unless the
    /// unknown characters came right before the current token (the lexer
    /// reported those, and they are the likely cause).
    fn expected(&mut self, what: &str, hint: Option<String>) -> Reported {
        self.expected_at(self.expected_span(), what, hint)
    }

    /// Like [`Parser::expected`], but pointing at the current token: for a
    /// token that cannot start an item, rather than a missing continuation.
    fn unexpected(&mut self, what: &str, hint: Option<String>) -> Reported {
        self.expected_at(self.peek().span, what, hint)
    }

    fn expected_at(&mut self, span: Span, what: &str, hint: Option<String>) -> Reported {
        if self.peek().after_unknown {
            return Reported;
        }
        let found = self.peek().describe(self.source);
        let mut diagnostic = Diagnostic::error(span, format!("expected {what}, found {found}"));
        if let Some(hint) = hint {
            diagnostic = diagnostic.with_hint(hint);
        }
        self.report(diagnostic)
    }
}

#[cfg(test)]
mod tests;
