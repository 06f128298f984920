//! Parameter lists, parameters and their attributes.

use super::{PResult, Parser, Reported};
use crate::ast::{Attribute, Param, Span, Type};
use crate::diagnostic::{Diagnostic, excerpt};
use crate::token::TokenKind;

/// Which list of a message is being parsed: the words diagnostics use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum List {
    /// `name(params)`.
    Params,
    /// `=> (results)`.
    Results,
}

impl List {
    /// `parameter` or `result`.
    fn noun(self) -> &'static str {
        match self {
            List::Params => "parameter",
            List::Results => "result",
        }
    }

    /// An example of the list, for hints.
    fn example(self) -> &'static str {
        match self {
            List::Params => "(i32 x, i32 y)",
            List::Results => "=> (i32 x, i32 y)",
        }
    }
}

impl Parser<'_> {
    /// `( params? )`; the current token is `(`.
    ///
    /// A bad parameter is skipped up to the next `,` or `)`. A list that runs
    /// into `=>`/`=|` is reported as unclosed and returned (the message can
    /// go on); one that runs into the next message or the end of the
    /// endpoint fails.
    pub(super) fn parse_param_list(&mut self, list: List) -> PResult<Vec<Param>> {
        let open = self.bump();
        let mut params = Vec::new();
        let mut had_error = false;
        loop {
            if self.eat(TokenKind::RParen).is_some() {
                return Ok(params);
            }
            if self.at_list_end() {
                return self.unclosed_list(list, open, params, had_error);
            }
            match self.parse_param(list) {
                Ok(param) => params.push(param),
                Err(Reported) => {
                    had_error = true;
                    self.skip_in_list();
                }
            }
            if self.eat(TokenKind::Comma).is_some() || self.at(TokenKind::RParen) {
                continue;
            }
            if self.at_list_end() {
                return self.unclosed_list(list, open, params, had_error);
            }
            let noun = list.noun();
            self.expected(
                &format!("`,` or `)` after a {noun}"),
                Some(format!("separate {noun}s with `,`: `{}`", list.example())),
            );
            had_error = true;
            self.skip_in_list();
        }
    }

    /// Whether the current token cannot be inside a parameter list: the list
    /// is unclosed.
    fn at_list_end(&self) -> bool {
        matches!(self.kind(), TokenKind::FatArrow | TokenKind::EqPipe) || self.at_body_boundary()
    }

    fn unclosed_list(
        &mut self,
        list: List,
        open: Span,
        params: Vec<Param>,
        had_error: bool,
    ) -> PResult<Vec<Param>> {
        if !had_error {
            self.report(
                Diagnostic::error(open, "unclosed `(`")
                    .with_hint(format!("close the {} list with `)`", list.noun())),
            );
        }
        if matches!(self.kind(), TokenKind::FatArrow | TokenKind::EqPipe) {
            Ok(params)
        } else {
            Err(Reported)
        }
    }

    /// Skips to the next `,` or `)` of the current list (over nested
    /// parentheses), or to where the list cannot go on.
    fn skip_in_list(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.kind() {
                TokenKind::Comma | TokenKind::RParen if depth == 0 => return,
                TokenKind::RParen => depth -= 1,
                TokenKind::LParen => depth += 1,
                _ if self.at_list_end() => return,
                _ => {}
            }
            self.bump();
        }
    }

    /// `attrgroup* Type? Ident`.
    fn parse_param(&mut self, list: List) -> PResult<Param> {
        let start = self.peek().span;
        let mut attrs = Vec::new();
        while self.at(TokenKind::LBracket) {
            attrs.extend(self.parse_attr_group()?);
        }
        if !matches!(self.kind(), TokenKind::Ident | TokenKind::ColonColon) {
            let noun = list.noun();
            return Err(self.expected(
                &format!("a {noun}"),
                Some(format!(
                    "{noun}s are written `Type name`, as in `i32 window_id`"
                )),
            ));
        }
        let first = self.parse_type(0)?;
        if self.at(TokenKind::Ident) {
            let name = self.bump_ident();
            let span = start.to(name.span);
            return Ok(Param {
                attrs,
                ty: Some(first),
                name,
                span,
            });
        }
        match into_plain_name(first) {
            Ok(name) => Ok(Param {
                attrs,
                ty: None,
                span: start.to(name.span),
                name,
            }),
            Err(ty) => Err({
                let ty = excerpt(&ty.to_string());
                let noun = list.noun();
                self.expected(
                    &format!("a {noun} name after the type `{ty}`"),
                    Some(format!("name the {noun}: `{ty} value`")),
                )
            }),
        }
    }

    /// `[ attr ("," attr)* ]`; the current token is `[`.
    pub(super) fn parse_attr_group(&mut self) -> PResult<Vec<Attribute>> {
        let open = self.bump();
        if let Some(close) = self.eat(TokenKind::RBracket) {
            self.report(
                Diagnostic::error(open.to(close), "empty attribute list")
                    .with_hint("name an attribute, as in `[UTF8]`, or remove the brackets"),
            );
            return Ok(Vec::new());
        }
        let mut attrs = Vec::new();
        loop {
            attrs.push(self.parse_attr()?);
            if self.eat(TokenKind::RBracket).is_some() {
                return Ok(attrs);
            }
            if self.eat(TokenKind::Comma).is_some() {
                if self.eat(TokenKind::RBracket).is_some() {
                    return Ok(attrs);
                }
                continue;
            }
            return Err(self.expected(
                "`,` or `]` after an attribute",
                Some(
                    "close the attribute list with `]`, as in `[UTF8] ByteString text`".to_string(),
                ),
            ));
        }
    }

    /// `Ident ("=" (Ident | Integer))?`.
    fn parse_attr(&mut self) -> PResult<Attribute> {
        if !self.at(TokenKind::Ident) {
            return Err(self.expected(
                "an attribute name",
                Some("attributes are names in brackets, as in `[UTF8]`".to_string()),
            ));
        }
        let name = self.bump_ident();
        let mut span = name.span;
        let value = if self.eat(TokenKind::Eq).is_some() {
            if !matches!(self.kind(), TokenKind::Ident | TokenKind::Int) {
                return Err(self.expected(
                    &format!("a value after `{}=`", name.name),
                    Some(
                        "an attribute value is a name or an integer, as in `[name=value]` or \
                         `[MaxLength=16]`"
                            .to_string(),
                    ),
                ));
            }
            let value = self.bump_ident();
            span = span.to(value.span);
            Some(value)
        } else {
            None
        };
        Ok(Attribute { name, value, span })
    }
}

/// A type that is only one plain name is really a parameter name (`[File]
/// image_file`); anything else is given back.
fn into_plain_name(ty: Type) -> Result<crate::ast::Ident, Type> {
    if ty.leading_colons || !ty.args.is_empty() || ty.segments.len() != 1 {
        return Err(ty);
    }
    let mut segments = ty.segments;
    Ok(segments.remove(0))
}
