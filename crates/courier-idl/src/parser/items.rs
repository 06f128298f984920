//! The file, its endpoints and their messages.

use super::params::List;
use super::{PResult, Parser};
use crate::ast::{
    Directive, Endpoint, ExplicitMagic, Ident, IpcFile, Message, MessageKind, Routing, Span,
};
use crate::diagnostic::{Diagnostic, excerpt};
use crate::token::TokenKind;

const MESSAGE_SHAPE_HINT: &str =
    "messages are written `name(params) => (results)` or `name(params) =|`";

impl Parser<'_> {
    /// `file = directive* endpoint*`, reporting whatever else is there.
    pub(super) fn parse_file(&mut self) -> IpcFile {
        let mut file = IpcFile::default();
        while !self.at(TokenKind::Eof) {
            let start = self.pos;
            self.parse_top_level_item(&mut file);
            if self.pos == start {
                self.bump();
            }
        }
        file
    }

    fn parse_top_level_item(&mut self, file: &mut IpcFile) {
        let next = self.nth(1).kind;
        match self.kind() {
            TokenKind::Directive => {
                let span = self.bump();
                let text = self.text(span).to_string();
                file.directives.push(Directive { text, span });
            }
            TokenKind::Ident if self.at_word("endpoint") => {
                let docs = self.take_docs();
                let keyword = self.bump();
                file.endpoints
                    .extend(self.parse_endpoint_rest(docs, keyword));
            }
            TokenKind::Ident if next == TokenKind::LParen => self.message_outside_endpoint(),
            TokenKind::Ident if next == TokenKind::LBrace => {
                file.endpoints.extend(self.endpoint_without_keyword());
            }
            TokenKind::Ident
                if next == TokenKind::Ident
                    && self.nth(2).kind == TokenKind::LBrace
                    && looks_like_endpoint(self.text(self.peek().span)) =>
            {
                file.endpoints
                    .extend(self.endpoint_with_misspelled_keyword());
            }
            _ => self.stray_top_level_tokens(),
        }
    }

    /// `Name {` at the top level: an endpoint without its keyword.
    fn endpoint_without_keyword(&mut self) -> Option<Endpoint> {
        let name = self.peek().span;
        let text = excerpt(self.text(name));
        self.report(
            Diagnostic::error(name, format!("missing `endpoint` before `{text}`"))
                .with_hint(format!("declare endpoints as `endpoint {text} {{ ... }}`")),
        );
        let docs = self.take_docs();
        self.parse_endpoint_rest(docs, Span::new(name.start, name.start))
    }

    /// `Word Name {` at the top level: `Word` should have been `endpoint`.
    fn endpoint_with_misspelled_keyword(&mut self) -> Option<Endpoint> {
        self.unexpected(
            "`endpoint`",
            Some("endpoints are declared as `endpoint Name { ... }`".to_string()),
        );
        let docs = self.take_docs();
        let keyword = self.bump();
        self.parse_endpoint_rest(docs, keyword)
    }

    fn message_outside_endpoint(&mut self) {
        let span = self.peek().span;
        let name = excerpt(self.text(span));
        self.report(
            Diagnostic::error(span, format!("message `{name}` outside an endpoint")).with_hint(
                format!(
                    "declare messages inside an endpoint: `endpoint Name {{ {name}(...) =| }}`"
                ),
            ),
        );
        if self.parse_message().is_err() {
            self.skip_to_top_level_boundary();
        }
    }

    fn stray_top_level_tokens(&mut self) {
        self.unexpected(
            "`endpoint`",
            Some("a file holds `#` directives and endpoints: `endpoint Name { ... }`".to_string()),
        );
        self.bump();
        self.skip_to_top_level_boundary();
    }

    /// Skips to something the top level can start from again. Inside a
    /// stray `{ ... }` block, message-like lines are skipped too.
    fn skip_to_top_level_boundary(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.kind() {
                TokenKind::Eof | TokenKind::Directive => return,
                _ if self.at_endpoint_start() => return,
                _ if depth == 0 && self.starts_message(0) => return,
                TokenKind::LBrace => depth += 1,
                TokenKind::RBrace => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.bump();
        }
    }

    /// What follows `endpoint`: the name and the body. Returns `None` when
    /// the name is missing (the body is still parsed, for its diagnostics).
    fn parse_endpoint_rest(&mut self, docs: Vec<String>, keyword: Span) -> Option<Endpoint> {
        let name = self.endpoint_name();
        let reported = self.diagnostics_reported();
        let explicit_magic = self.explicit_magic();
        let routing = self.routing();
        // A fault in `= 42` or `routed by ...` is reported once: the body's
        // `{` is then looked for without another report.
        let header_fault = self.diagnostics_reported() != reported;
        let messages = self.endpoint_body(name.as_ref(), keyword, header_fault);
        let span = keyword.to(self.prev_span);
        Some(Endpoint {
            docs,
            name: name?,
            explicit_magic,
            routing,
            messages,
            span,
        })
    }

    /// `= 42` after the endpoint name, if there. A missing or bad number
    /// is reported, and the `{` is looked for as if it were not there.
    fn explicit_magic(&mut self) -> Option<ExplicitMagic> {
        let eq = self.eat(TokenKind::Eq)?;
        const HINT: &str = "an explicit magic is a number that fits in 32 bits, as in \
                            `endpoint WindowServer = 2 { ... }`; without one, the magic is the \
                            hash of the name";
        if !self.at(TokenKind::Int) {
            self.expected(
                "the endpoint's magic number after `=`",
                Some(HINT.to_string()),
            );
            return None;
        }
        let span = self.bump();
        let text = self.text(span);
        match super::types::parse_u64(text).map(u32::try_from) {
            Ok(Ok(value)) => Some(ExplicitMagic { value, span }),
            Ok(Err(_)) => {
                let message = format!("endpoint magic `{}` does not fit in 32 bits", excerpt(text));
                self.report(Diagnostic::error(eq.to(span), message).with_hint(HINT));
                None
            }
            Err(problem) => {
                let message = format!("{problem} `{}`", excerpt(text));
                self.report(Diagnostic::error(span, message).with_hint(HINT));
                None
            }
        }
    }

    /// `routed by Type name` after the endpoint name, if there.
    fn routing(&mut self) -> Option<Routing> {
        if !self.at_word("routed") || self.nth(1).kind == TokenKind::LBrace {
            return None;
        }
        const HINT: &str = "a routed endpoint names the parameter that routes its messages: \
                            `endpoint WebContentServer routed by PageId page_id { ... }`";
        let start = self.bump();
        if !self.at_word("by") {
            self.expected("`by` after `routed`", Some(HINT.to_string()));
            return None;
        }
        self.bump();
        if !matches!(self.kind(), TokenKind::Ident | TokenKind::ColonColon) {
            self.expected("the type of the routing parameter", Some(HINT.to_string()));
            return None;
        }
        let ty = self.parse_type(0).ok()?;
        if !self.at(TokenKind::Ident) {
            let what = format!(
                "the name of the routing parameter after `{}`",
                excerpt(&ty.to_string())
            );
            self.expected(&what, Some(HINT.to_string()));
            return None;
        }
        let name = self.bump_ident();
        Some(Routing {
            span: start.to(name.span),
            ty,
            name,
        })
    }

    fn endpoint_name(&mut self) -> Option<Ident> {
        if self.at(TokenKind::Ident) {
            return Some(self.bump_ident());
        }
        self.expected(
            "an endpoint name after `endpoint`",
            Some("name the endpoint: `endpoint WindowServer { ... }`".to_string()),
        );
        None
    }

    /// `{ message* }`, recovering from a missing `{` or `}`.
    fn endpoint_body(
        &mut self,
        name: Option<&Ident>,
        keyword: Span,
        header_fault: bool,
    ) -> Vec<Message> {
        let open = self.open_brace(header_fault);
        let mut messages = Vec::new();
        loop {
            let start = self.pos;
            match self.kind() {
                TokenKind::RBrace => {
                    self.bump();
                    return messages;
                }
                TokenKind::Eof => {
                    self.unclosed_endpoint(open, name, keyword, "the end of the file");
                    return messages;
                }
                _ if self.at_endpoint_start() => {
                    self.unclosed_endpoint(open, name, keyword, "the next endpoint");
                    return messages;
                }
                TokenKind::Directive => self.directive_inside_endpoint(),
                TokenKind::LBracket if self.attributes_then_name(0) => match self.parse_message() {
                    Ok(message) => messages.push(message),
                    Err(_) => self.skip_to_body_boundary(),
                },
                TokenKind::Ident => match self.parse_message() {
                    Ok(message) => messages.push(message),
                    Err(_) => self.skip_to_body_boundary(),
                },
                _ => {
                    self.unexpected("a message", Some(MESSAGE_SHAPE_HINT.to_string()));
                    self.bump();
                    self.skip_to_body_boundary();
                }
            }
            if self.pos == start {
                self.bump();
            }
        }
    }

    /// Consumes the `{` of an endpoint. When it is missing, reports that
    /// (unless `header_fault`: what came before it was reported already) and
    /// skips to a later `{` before the first message, if any.
    fn open_brace(&mut self, header_fault: bool) -> Option<Span> {
        if let Some(span) = self.eat(TokenKind::LBrace) {
            return Some(span);
        }
        if !header_fault {
            self.expected(
                "`{` after the endpoint name",
                Some(
                    "an endpoint's messages go between braces: `endpoint Name { ... }`".to_string(),
                ),
            );
        }
        while !self.at_body_boundary() && !self.at(TokenKind::LBrace) {
            self.bump();
        }
        self.eat(TokenKind::LBrace)
    }

    fn unclosed_endpoint(
        &mut self,
        open: Option<Span>,
        name: Option<&Ident>,
        keyword: Span,
        before: &str,
    ) {
        // A missing `{` has been reported already; one error is enough.
        let Some(open) = open else { return };
        let what = match name {
            Some(name) => format!("endpoint `{}`", excerpt(&name.name)),
            None => "the endpoint".to_string(),
        };
        let mut diagnostic = Diagnostic::error(open, format!("unclosed `{{` of {what}"))
            .with_hint(format!("close {what} with `}}` before {before}"));
        let gap = self.source.get(keyword.end..open.start).unwrap_or("");
        if keyword.start != keyword.end && gap.contains('\n') {
            diagnostic = diagnostic.with_related(keyword, "endpoint starts here");
        }
        self.report(diagnostic);
    }

    fn directive_inside_endpoint(&mut self) {
        let span = self.bump();
        self.report(
            Diagnostic::error(span, "`#` directive inside an endpoint")
                .with_hint("put directives such as `#include <...>` above the first endpoint"),
        );
    }

    /// Skips to something an endpoint body can resume from.
    fn skip_to_body_boundary(&mut self) {
        while !self.at_body_boundary() {
            self.bump();
        }
    }

    /// `[attrs] name(params) =|` or `[attrs] name(params) => (results)`; the
    /// current token is an identifier or the `[` of the attributes.
    fn parse_message(&mut self) -> PResult<Message> {
        let docs = self.take_docs();
        let mut attrs = Vec::new();
        while self.at(TokenKind::LBracket) {
            attrs.extend(self.parse_attr_group()?);
        }
        if !self.at(TokenKind::Ident) {
            return Err(self.expected(
                "a message name after its attributes",
                Some(MESSAGE_SHAPE_HINT.to_string()),
            ));
        }
        let name = self.bump_ident();
        if !self.at(TokenKind::LParen) {
            let what = format!("`(` after the message name `{}`", excerpt(&name.name));
            return Err(self.expected(&what, Some(MESSAGE_SHAPE_HINT.to_string())));
        }
        let params = self.parse_param_list(List::Params)?;
        let kind = self.parse_message_kind(&name)?;
        Ok(Message {
            docs,
            attrs,
            span: name.span.to(self.prev_span),
            name,
            params,
            kind,
        })
    }

    fn parse_message_kind(&mut self, name: &Ident) -> PResult<MessageKind> {
        match self.kind() {
            TokenKind::EqPipe => {
                self.bump();
                Ok(MessageKind::OneWay)
            }
            TokenKind::FatArrow => {
                self.bump();
                if !self.at(TokenKind::LParen) {
                    let hint = self.parenthesize_results_hint();
                    return Err(self.expected("`(` after `=>`", Some(hint)));
                }
                let results = self.parse_param_list(List::Results)?;
                Ok(MessageKind::Request { results })
            }
            _ => {
                let hint = if self.at(TokenKind::LParen) && !self.peek().line_start {
                    "write `=>` before the result list: `name(params) => (results)`".to_string()
                } else if let Some(inner) = self.rest_of_line_as_results() {
                    format!("write results after `=>` in parentheses: `=> ({inner})`")
                } else {
                    "end a request with `=> (results)` (or `=> ()`) and a one-way message with `=|`"
                        .to_string()
                };
                let what = format!(
                    "`=>` or `=|` after the parameter list of `{}`",
                    excerpt(&name.name)
                );
                Err(self.expected(&what, Some(hint)))
            }
        }
    }

    /// The hint for `=> i32 id)`: the same results, in parentheses.
    fn parenthesize_results_hint(&self) -> String {
        match self.rest_of_line_as_results() {
            Some(inner) => format!("results are written in parentheses: `=> ({inner})`"),
            None => "results are written in parentheses: `=> (i32 window_id)`, \
                     or `=> ()` for none"
                .to_string(),
        }
    }

    /// What follows on the current line, up to a closing `)`, when it reads
    /// like a short result list written without parentheses (`i32 id)`).
    fn rest_of_line_as_results(&self) -> Option<&str> {
        let token = self.peek();
        if token.line_start || token.kind != TokenKind::Ident {
            return None;
        }
        let rest = self.source.get(token.span.start..).unwrap_or("");
        let line = rest.lines().next().unwrap_or("").trim_end();
        let inner = line.strip_suffix(')').unwrap_or(line).trim_end();
        let short = !inner.is_empty() && inner.chars().count() <= 60;
        (short && !inner.contains(['(', ')', '=', '{', '}'])).then_some(inner)
    }
}

/// Whether a word at the start of `Word Name {` is a misspelled `endpoint`
/// (`Endpoint`, `enpoint`, `endpiont`) rather than something else entirely
/// (`struct`).
fn looks_like_endpoint(word: &str) -> bool {
    const KEYWORD: &str = "endpoint";
    word.len() <= 2 * KEYWORD.len() && edit_distance(&word.to_ascii_lowercase(), KEYWORD) <= 2
}

/// The Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::looks_like_endpoint;

    #[test]
    fn misspellings_of_endpoint() {
        for word in ["endpoint", "Endpoint", "enpoint", "endpiont", "endpoints"] {
            assert!(looks_like_endpoint(word), "{word}");
        }
        for word in ["struct", "class", "interface", "e", "endpointendpointx"] {
            assert!(!looks_like_endpoint(word), "{word}");
        }
    }
}
