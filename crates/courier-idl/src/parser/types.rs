//! Types as written: `Gfx::IntRect`, `::A::B`, `HashMap<K, Vector<V>>`.

use super::{MAX_TEMPLATE_DEPTH, PResult, Parser};
use crate::ast::{Ident, Type, TypeArg};
use crate::diagnostic::{Diagnostic, excerpt};
use crate::token::TokenKind;

const CLOSE_TEMPLATE_HINT: &str = "close the template argument list with `>`";

impl Parser<'_> {
    /// `"::"? Ident ("::" Ident)* ("<" TypeArg ("," TypeArg)* ","? ">")?`.
    /// `depth` is the number of template argument lists around this type.
    pub(super) fn parse_type(&mut self, depth: usize) -> PResult<Type> {
        let start = self.peek().span;
        let leading_colons = self.eat(TokenKind::ColonColon).is_some();
        let mut segments = vec![self.type_segment(leading_colons)?];
        while self.eat(TokenKind::ColonColon).is_some() {
            segments.push(self.type_segment(true)?);
        }
        let args = if self.at(TokenKind::Lt) {
            self.parse_type_args(depth + 1)?
        } else {
            Vec::new()
        };
        Ok(Type {
            leading_colons,
            segments,
            args,
            span: start.to(self.prev_span),
        })
    }

    fn type_segment(&mut self, after_colons: bool) -> PResult<Ident> {
        if self.at(TokenKind::Ident) {
            return Ok(self.bump_ident());
        }
        let what = if after_colons {
            "a name after `::`"
        } else {
            "a type"
        };
        Err(self.expected(what, None))
    }

    /// `< TypeArg ("," TypeArg)* ","? >`; the current token is `<`.
    fn parse_type_args(&mut self, depth: usize) -> PResult<Vec<TypeArg>> {
        let open = self.bump();
        if depth > MAX_TEMPLATE_DEPTH {
            return Err(self.report(
                Diagnostic::error(
                    open,
                    format!("template arguments nested more than {MAX_TEMPLATE_DEPTH} levels deep"),
                )
                .with_hint("give an inner type a name of its own (a struct of its fields)"),
            ));
        }
        let mut args = Vec::new();
        loop {
            args.push(self.parse_type_arg(depth)?);
            if self.eat(TokenKind::Comma).is_some() {
                if self.eat(TokenKind::Gt).is_some() {
                    return Ok(args);
                }
                continue;
            }
            if self.eat(TokenKind::Gt).is_some() {
                return Ok(args);
            }
            if self.at(TokenKind::RParen) || self.at_body_boundary() {
                return Err(self.report(
                    Diagnostic::error(open, "unclosed `<`").with_hint(CLOSE_TEMPLATE_HINT),
                ));
            }
            return Err(self.expected(
                "`,` or `>` in the template arguments",
                Some(CLOSE_TEMPLATE_HINT.to_string()),
            ));
        }
    }

    fn parse_type_arg(&mut self, depth: usize) -> PResult<TypeArg> {
        match self.kind() {
            TokenKind::Int => self.parse_int(),
            TokenKind::Ident | TokenKind::ColonColon => {
                Ok(TypeArg::Type(self.parse_qualified_type(depth)?))
            }
            _ => Err(self.expected(
                "a template argument",
                Some("a template argument is a type or an integer, as in `Array<u8, 16>`".into()),
            )),
        }
    }

    /// A template argument's type with the C++ qualifier `const` before or
    /// after it (`Media::VideoFrame const`), which is dropped: it says how
    /// C++ may use the value, not what travels. The type's span covers it.
    fn parse_qualified_type(&mut self, depth: usize) -> PResult<Type> {
        let start = self.peek().span;
        let leading_const = self.at_word("const")
            && matches!(self.nth(1).kind, TokenKind::Ident | TokenKind::ColonColon);
        if leading_const {
            self.bump();
        }
        let mut ty = self.parse_type(depth)?;
        if !leading_const && self.at_word("const") {
            self.bump();
        }
        ty.span = start.to(self.prev_span);
        Ok(ty)
    }

    /// An integer argument: decimal (`16`) or hexadecimal (`0x10`).
    fn parse_int(&mut self) -> PResult<TypeArg> {
        let span = self.bump();
        let text = self.text(span);
        match parse_u64(text) {
            Ok(value) => Ok(TypeArg::Const(value, span)),
            Err(problem) => {
                let message = format!("{problem} `{}`", excerpt(text));
                Err(self.report(Diagnostic::error(span, message).with_hint(
                    "integers are decimal (`16`) or hexadecimal (`0x10`) and fit in 64 bits",
                )))
            }
        }
    }
}

/// Parses a decimal or `0x` hexadecimal integer; the error says what is
/// wrong with it.
pub(super) fn parse_u64(text: &str) -> Result<u64, &'static str> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    let well_formed = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
    if !well_formed {
        return Err("invalid integer");
    }
    u64::from_str_radix(digits, radix).map_err(|_| "integer too large")
}

#[cfg(test)]
mod tests {
    use super::parse_u64;

    #[test]
    fn integers() {
        assert_eq!(parse_u64("16"), Ok(16));
        assert_eq!(parse_u64("0x10"), Ok(16));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), Err("integer too large"));
        assert_eq!(parse_u64("2d"), Err("invalid integer"));
        assert_eq!(parse_u64("0x"), Err("invalid integer"));
    }
}
