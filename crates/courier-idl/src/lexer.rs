//! The lexer: source text to [`Token`]s.
//!
//! One pass over the bytes, linear in the input, never failing: characters
//! that start no token become a reported [`TokenKind::Unknown`] token, and
//! the parser carries on. Whitespace and comments are trivia; a run of `//`
//! lines directly above a line is attached to that line's first token as its
//! docs. A `#` that is the first non-blank character of a line starts a
//! directive that runs to the end of the line.
//!
//! Identifiers are ASCII. Non-ASCII characters that are not whitespace are
//! lexed as part of an identifier (so the parser sees one name, not a
//! cascade of fragments) and reported.

use crate::ast::Span;
use crate::diagnostic::{Diagnostic, Sink, excerpt};
use crate::token::{Token, TokenKind};

/// The tokens of a source text (ending with [`TokenKind::Eof`]) and the
/// problems found while cutting it.
pub(crate) struct Lexed {
    pub(crate) tokens: Vec<Token>,
    pub(crate) diagnostics: Sink,
}

/// Cuts `source` into tokens.
pub(crate) fn lex(source: &str) -> Lexed {
    let mut lexer = Lexer {
        source,
        bytes: source.as_bytes(),
        pos: 0,
        line: 0,
        line_has_code: false,
        docs: Vec::new(),
        docs_last_line: 0,
        tokens: Vec::new(),
        diagnostics: Sink::default(),
    };
    lexer.run();
    Lexed {
        tokens: lexer.tokens,
        diagnostics: lexer.diagnostics,
    }
}

/// U+FFFD, the stand-in for invalid UTF-8.
const REPLACEMENT: char = '\u{FFFD}';

struct Lexer<'src> {
    source: &'src str,
    bytes: &'src [u8],
    pos: usize,
    /// The 0-based line of `pos`.
    line: usize,
    /// Whether a token has been produced on the current line.
    line_has_code: bool,
    /// The current run of own-line `//` comments.
    docs: Vec<String>,
    /// The line of the last comment in `docs`.
    docs_last_line: usize,
    tokens: Vec<Token>,
    diagnostics: Sink,
}

impl Lexer<'_> {
    fn run(&mut self) {
        while let Some(&byte) = self.bytes.get(self.pos) {
            self.step(byte);
        }
        let end = self.bytes.len();
        self.push(TokenKind::Eof, end, end);
    }

    fn step(&mut self, byte: u8) {
        let next = self.peek(1);
        match byte {
            b'\n' => self.newline(),
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.pos += 1,
            b'/' if next == b'/' => self.comment(),
            b'#' if !self.line_has_code => self.directive(),
            b'0'..=b'9' => self.int(),
            b':' if next == b':' => self.punct(TokenKind::ColonColon, 2),
            b'=' if next == b'>' => self.punct(TokenKind::FatArrow, 2),
            b'=' if next == b'|' => self.punct(TokenKind::EqPipe, 2),
            b'=' => self.punct(TokenKind::Eq, 1),
            b'<' => self.punct(TokenKind::Lt, 1),
            b'>' => self.punct(TokenKind::Gt, 1),
            b',' => self.punct(TokenKind::Comma, 1),
            b'(' => self.punct(TokenKind::LParen, 1),
            b')' => self.punct(TokenKind::RParen, 1),
            b'{' => self.punct(TokenKind::LBrace, 1),
            b'}' => self.punct(TokenKind::RBrace, 1),
            b'[' => self.punct(TokenKind::LBracket, 1),
            b']' => self.punct(TokenKind::RBracket, 1),
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.ident(),
            0x80.. => self.non_ascii(),
            _ => self.unknown(),
        }
    }

    fn peek(&self, ahead: usize) -> u8 {
        self.bytes.get(self.pos + ahead).copied().unwrap_or(0)
    }

    /// The character at `pos` (which is always on a character boundary).
    fn char_here(&self) -> Option<char> {
        self.source
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    /// The end of the current line: the offset of its `\n`, or of the end.
    fn line_end(&self) -> usize {
        let rest = &self.bytes[self.pos..];
        self.pos + rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_has_code = false;
    }

    fn push(&mut self, kind: TokenKind, start: usize, end: usize) {
        let line_start = !self.line_has_code;
        let docs_adjacent = self.docs_last_line + 1 == self.line;
        let docs = if line_start && docs_adjacent {
            std::mem::take(&mut self.docs)
        } else {
            self.docs.clear();
            Vec::new()
        };
        self.tokens.push(Token {
            kind,
            span: Span::new(start, end),
            line_start,
            docs,
            after_unknown: false,
        });
        self.line_has_code = true;
    }

    fn punct(&mut self, kind: TokenKind, len: usize) {
        let start = self.pos;
        self.pos += len;
        self.push(kind, start, self.pos);
    }

    /// A `//` comment: trivia, but an own-line comment joins the doc run.
    fn comment(&mut self) {
        let end = self.line_end();
        self.replacements_within(self.pos, end);
        let raw = &self.source[self.pos + 2..end];
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let text = raw.strip_prefix(' ').unwrap_or(raw).to_string();
        if self.line_has_code {
            // A trailing comment documents nothing below it.
            self.docs.clear();
        } else {
            if self.docs_last_line + 1 != self.line {
                self.docs.clear();
            }
            self.docs.push(text);
            self.docs_last_line = self.line;
        }
        self.pos = end;
    }

    fn directive(&mut self) {
        let start = self.pos;
        let end = self.line_end();
        self.replacements_within(start, end);
        let text = &self.source[start..end];
        let len = text.strip_suffix('\r').unwrap_or(text).len();
        self.pos = end;
        self.push(TokenKind::Directive, start, start + len);
    }

    fn int(&mut self) {
        let start = self.pos;
        while self.peek(0).is_ascii_alphanumeric() || self.peek(0) == b'_' {
            self.pos += 1;
        }
        self.push(TokenKind::Int, start, self.pos);
    }

    /// A non-ASCII character: whitespace, a replacement character, or the
    /// start of a (bad) identifier.
    fn non_ascii(&mut self) {
        match self.char_here() {
            Some(c) if c.is_whitespace() => self.pos += c.len_utf8(),
            Some(REPLACEMENT) => self.replacement_characters(),
            Some(_) => self.ident(),
            // Unreachable for a `&str`; skip the byte rather than loop.
            None => self.pos += 1,
        }
    }

    fn ident(&mut self) {
        let start = self.pos;
        let mut ascii = true;
        loop {
            let byte = self.peek(0);
            if byte.is_ascii_alphanumeric() || byte == b'_' {
                self.pos += 1;
                continue;
            }
            match self.char_here() {
                Some(c) if !c.is_ascii() && !c.is_whitespace() && c != REPLACEMENT => {
                    ascii = false;
                    self.pos += c.len_utf8();
                }
                _ => break,
            }
        }
        if !ascii {
            let name = &self.source[start..self.pos];
            self.diagnostics.push(
                Diagnostic::error(
                    Span::new(start, self.pos),
                    format!("identifier `{}` is not ASCII", excerpt(name)),
                )
                .with_hint("identifiers use ASCII letters, digits and `_`"),
            );
        }
        self.push(TokenKind::Ident, start, self.pos);
    }

    /// A run of `�`, which is what invalid UTF-8 becomes when a file is read
    /// lossily ([`crate::SourceFile::from_bytes`]).
    fn replacement_characters(&mut self) {
        let start = self.pos;
        while self.char_here() == Some(REPLACEMENT) {
            self.pos += REPLACEMENT.len_utf8();
        }
        self.invalid_utf8(Span::new(start, self.pos));
        self.push(TokenKind::Unknown, start, self.pos);
    }

    /// Reports each run of `�` in `start..end`, the text of a comment or a
    /// directive: invalid UTF-8 is an error there too, not a doc comment
    /// with `�` in it.
    fn replacements_within(&mut self, start: usize, end: usize) {
        let text = &self.source[start..end];
        let mut run: Option<Span> = None;
        for (offset, c) in text.char_indices() {
            if c == REPLACEMENT {
                let here = Span::new(start + offset, start + offset + c.len_utf8());
                run = Some(run.map_or(here, |run| run.to(here)));
            } else if let Some(span) = run.take() {
                self.invalid_utf8(span);
            }
        }
        if let Some(span) = run {
            self.invalid_utf8(span);
        }
    }

    /// The error for a run of `�` at `span`.
    fn invalid_utf8(&mut self, span: Span) {
        let count = (span.end - span.start) / REPLACEMENT.len_utf8();
        let what = if count == 1 {
            "character"
        } else {
            "characters"
        };
        self.diagnostics.push(
            Diagnostic::error(
                span,
                format!("invalid UTF-8 (read as {count} replacement {what} U+FFFD)"),
            )
            .with_hint(
                "`.ipc` files are UTF-8 text; check that this is the right file and its encoding",
            ),
        );
    }

    /// A run of ASCII characters that start no token.
    fn unknown(&mut self) {
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.bytes.len() && !self.starts_token() {
            self.pos += 1;
        }
        let text = &self.source[start..self.pos];
        let what = if text.len() == 1 {
            "character"
        } else {
            "characters"
        };
        let mut diagnostic = Diagnostic::error(
            Span::new(start, self.pos),
            format!("unexpected {what} `{}`", excerpt(text)),
        );
        let after = &self.source[self.pos..];
        if let Some(hint) = unknown_hint(text, after) {
            diagnostic = diagnostic.with_hint(hint);
        }
        self.diagnostics.push(diagnostic);
        self.push(TokenKind::Unknown, start, self.pos);
    }

    /// Whether the byte at `pos` is whitespace or starts a token (ends a run
    /// of unknown characters).
    fn starts_token(&self) -> bool {
        let byte = self.peek(0);
        let next = self.peek(1);
        match byte {
            b'/' => next == b'/',
            b':' => next == b':',
            b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => true,
            b'=' | b'<' | b'>' | b',' | b'(' | b')' | b'{' | b'}' | b'[' | b']' => true,
            _ => byte.is_ascii_alphanumeric() || byte == b'_' || !byte.is_ascii(),
        }
    }
}

/// What to say about characters that start no token; `after` is the text
/// that follows them (`>` ends a run of unknown characters, so the `>` of
/// `->` is there).
fn unknown_hint(text: &str, after: &str) -> Option<&'static str> {
    let first = text.chars().next()?;
    let hint = match first {
        ';' => "`.ipc` files need no semicolons: remove it",
        ':' => "path segments are separated by `::`, as in `Gfx::IntRect`",
        '/' => "comments start with `//`",
        '|' => "a one-way message ends with `=|`",
        '#' => "a `#` directive such as `#include <...>` must start its own line",
        '-' if text == "-" && after.starts_with('>') => {
            "`->` is not an arrow in `.ipc` files: end a request with `=> (results)` \
             (`name(params) => ()` for none) and a one-way message with `=|`"
        }
        '"' | '\'' => "`.ipc` files have no string or character literals",
        '*' | '&' => "parameters are values: write the type without `*` or `&`",
        c if c.is_ascii_control() => "the file contains control characters; is it a text file?",
        _ => return None,
    };
    Some(hint)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::lex;
    use crate::token::TokenKind;

    fn check(source: &str, expect: Expect) {
        let lexed = lex(source);
        let mut out = String::new();
        for token in &lexed.tokens {
            let text = &source[token.span.start..token.span.end];
            let mark = if token.line_start { "^" } else { " " };
            out.push_str(&format!("{mark}{:?} {text:?}", token.kind));
            if !token.docs.is_empty() {
                out.push_str(&format!(" docs={:?}", token.docs));
            }
            out.push('\n');
        }
        for d in lexed.diagnostics.finish(source.len()) {
            out.push_str(&format!(
                "! {}..{} {}\n",
                d.span.start, d.span.end, d.message
            ));
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn punctuation_and_names() {
        check(
            "a::b<c, 16>[x=y] () {} => =| =",
            expect![[r#"
                ^Ident "a"
                 ColonColon "::"
                 Ident "b"
                 Lt "<"
                 Ident "c"
                 Comma ","
                 Int "16"
                 Gt ">"
                 LBracket "["
                 Ident "x"
                 Eq "="
                 Ident "y"
                 RBracket "]"
                 LParen "("
                 RParen ")"
                 LBrace "{"
                 RBrace "}"
                 FatArrow "=>"
                 EqPipe "=|"
                 Eq "="
                 Eof ""
            "#]],
        );
    }

    #[test]
    fn nested_template_closers_are_separate_tokens() {
        let kinds: Vec<TokenKind> = lex("A<B<C>>").tokens.iter().map(|t| t.kind).collect();
        assert_eq!(&kinds[5..7], &[TokenKind::Gt, TokenKind::Gt]);
    }

    #[test]
    fn doc_comments_attach_to_the_next_line_only_when_adjacent() {
        check(
            "// one\n// two\nfoo\n\n// lost\n\nbar // trailing\n// kept\nbaz\n",
            expect![[r#"
                ^Ident "foo" docs=["one", "two"]
                ^Ident "bar"
                ^Ident "baz" docs=["kept"]
                ^Eof ""
            "#]],
        );
    }

    #[test]
    fn trailing_comment_does_not_document_the_next_line() {
        check(
            "a() // note\nb()\n",
            expect![[r#"
                ^Ident "a"
                 LParen "("
                 RParen ")"
                ^Ident "b"
                 LParen "("
                 RParen ")"
                ^Eof ""
            "#]],
        );
    }

    #[test]
    fn directives_only_at_line_start() {
        check(
            "#include <a.h>\r\n  #pragma x\nfoo # bar\n",
            expect![[r##"
                ^Directive "#include <a.h>"
                ^Directive "#pragma x"
                ^Ident "foo"
                 Unknown "#"
                 Ident "bar"
                ^Eof ""
                ! 32..33 unexpected character `#`
            "##]],
        );
    }

    #[test]
    fn unknown_characters_are_grouped_and_reported_once() {
        check(
            "a;; b @$ c\0",
            expect![[r#"
                ^Ident "a"
                 Unknown ";;"
                 Ident "b"
                 Unknown "@$"
                 Ident "c"
                 Unknown "\0"
                 Eof ""
                ! 1..3 unexpected characters `;;`
                ! 6..8 unexpected characters `@$`
                ! 10..11 unexpected character `\0`
            "#]],
        );
    }

    #[test]
    fn non_ascii_identifiers_are_one_token_and_one_error() {
        check(
            "café 😀x\u{a0}y",
            expect![[r#"
                ^Ident "café"
                 Ident "😀x"
                 Ident "y"
                 Eof ""
                ! 0..5 identifier `café` is not ASCII
                ! 6..11 identifier `😀x` is not ASCII
            "#]],
        );
    }

    #[test]
    fn replacement_characters_are_invalid_utf8_not_identifiers() {
        check(
            "ab\u{FFFD}\u{FFFD}cd",
            expect![[r#"
                ^Ident "ab"
                 Unknown "��"
                 Ident "cd"
                 Eof ""
                ! 2..8 invalid UTF-8 (read as 2 replacement characters U+FFFD)
            "#]],
        );
    }

    #[test]
    fn replacement_characters_in_comments_and_directives_are_reported() {
        check(
            "// caf\u{FFFD} \u{FFFD}\u{FFFD}\n#include <\u{FFFD}.h>\na",
            expect![[r##"
                ^Directive "#include <�.h>" docs=["caf� ��"]
                ^Ident "a"
                 Eof ""
                ! 6..9 invalid UTF-8 (read as 1 replacement character U+FFFD)
                ! 10..16 invalid UTF-8 (read as 2 replacement characters U+FFFD)
                ! 27..30 invalid UTF-8 (read as 1 replacement character U+FFFD)
            "##]],
        );
    }

    #[test]
    fn integers_take_the_whole_alphanumeric_run() {
        check(
            "16 0x10 2d",
            expect![[r#"
                ^Int "16"
                 Int "0x10"
                 Int "2d"
                 Eof ""
            "#]],
        );
    }

    #[test]
    fn lone_carriage_return_is_whitespace() {
        check(
            "a\rb",
            expect![[r#"
                ^Ident "a"
                 Ident "b"
                 Eof ""
            "#]],
        );
    }
}
