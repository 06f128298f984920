//! Source bytes to text, for files that may not be UTF-8.

use crate::ast::Span;
use crate::diagnostic::{Diagnostic, Sink};

/// The text of `bytes`, with every byte of an invalid UTF-8 sequence
/// replaced by a space (so offsets into the text are offsets into the
/// bytes), and one diagnostic per run of invalid bytes.
pub(crate) fn decode(bytes: &[u8]) -> (String, Sink) {
    let mut text = String::with_capacity(bytes.len());
    let mut diagnostics = Sink::default();
    let mut rest = bytes;
    let mut invalid_run: Option<Span> = None;
    while !rest.is_empty() {
        let offset = bytes.len() - rest.len();
        let (valid, invalid_len) = match std::str::from_utf8(rest) {
            Ok(valid) => (valid, 0),
            Err(error) => {
                let valid_len = error.valid_up_to();
                let invalid_len = error.error_len().unwrap_or(rest.len() - valid_len);
                // The first `valid_len` bytes are valid by the error's contract.
                let valid = std::str::from_utf8(&rest[..valid_len]).unwrap_or_default();
                (valid, invalid_len)
            }
        };
        if !valid.is_empty() {
            flush(bytes, invalid_run.take(), &mut diagnostics);
        }
        text.push_str(valid);
        let invalid_start = offset + valid.len();
        if invalid_len > 0 {
            let span = Span::new(invalid_start, invalid_start + invalid_len);
            invalid_run = Some(invalid_run.map_or(span, |run| run.to(span)));
            text.extend(std::iter::repeat_n(' ', invalid_len));
        }
        rest = &rest[valid.len() + invalid_len..];
    }
    flush(bytes, invalid_run, &mut diagnostics);
    (text, diagnostics)
}

/// Reports a run of invalid bytes, showing the first few.
fn flush(bytes: &[u8], run: Option<Span>, diagnostics: &mut Sink) {
    let Some(span) = run else { return };
    let shown: Vec<String> = bytes[span.start..span.end]
        .iter()
        .take(4)
        .map(|b| format!("0x{b:02X}"))
        .collect();
    let more = if span.end - span.start > 4 {
        " ..."
    } else {
        ""
    };
    let count = span.end - span.start;
    let noun = if count == 1 { "byte" } else { "bytes" };
    diagnostics.push(
        Diagnostic::error(
            span,
            format!("invalid UTF-8: {count} {noun} ({}{more})", shown.join(" ")),
        )
        .with_hint(
            "`.ipc` files are UTF-8 text; check that this is the right file and its encoding",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn invalid_bytes_become_spaces_and_one_diagnostic_per_run() {
        let (text, sink) = decode(b"ab\xFF\xFEc\xE2\x82");
        assert_eq!(text, "ab  c  ");
        let messages: Vec<String> = sink.finish(7).into_iter().map(|d| d.message).collect();
        assert_eq!(
            messages,
            [
                "invalid UTF-8: 2 bytes (0xFF 0xFE)",
                "invalid UTF-8: 2 bytes (0xE2 0x82)"
            ]
        );
    }

    #[test]
    fn valid_text_is_unchanged() {
        let (text, sink) = decode("endpoint é".as_bytes());
        assert_eq!(text, "endpoint é");
        assert!(sink.finish(0).is_empty());
    }
}
