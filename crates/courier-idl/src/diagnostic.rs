//! Diagnostics: what went wrong, where, and what to do about it.
//!
//! A [`Diagnostic`] is plain data: a severity, a message, the [`Span`] of the
//! fault, an optional hint and optional secondary labels. Turning it into
//! text is [`Diagnostic::render`]'s job (see `render.rs`).
//!
//! Messages start in lowercase and have no trailing period, as rustc's do.

use std::fmt;

use crate::ast::Span;

/// How bad a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The file is wrong: no code is generated from it.
    Error,
    /// The file is accepted, but something in it is probably a mistake.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in an `.ipc` file.
///
/// ```
/// use courier_idl::ast::Span;
/// use courier_idl::{Diagnostic, Severity};
///
/// let diagnostic = Diagnostic::error(Span::new(0, 3), "unknown thing `foo`")
///     .with_hint("remove it");
/// assert_eq!(diagnostic.severity, Severity::Error);
/// assert_eq!(diagnostic.hint.as_deref(), Some("remove it"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, lowercase, without a trailing period.
    pub message: String,
    /// Where it is wrong (byte offsets into the file's text).
    pub span: Span,
    /// What to do about it, when there is something helpful to say.
    pub hint: Option<String>,
    /// Secondary places in the same file, each with a label, such as the
    /// first definition of a duplicated name ("first defined here").
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, span, message.into())
    }

    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, span, message.into())
    }

    fn new(severity: Severity, span: Span, message: String) -> Diagnostic {
        Diagnostic {
            severity,
            message,
            span,
            hint: None,
            related: Vec::new(),
        }
    }

    /// The same diagnostic with a hint (what to do about it).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// The same diagnostic with one more labelled secondary span.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.related.push((span, label.into()));
        self
    }

    /// Whether this is an error (as opposed to a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The most diagnostics kept for one file; past it, one last diagnostic says
/// how many were left out. Bounds memory and output on garbage input.
pub(crate) const MAX_DIAGNOSTICS: usize = 100;

/// How many errors and warnings a file really has, those left out past
/// [`MAX_DIAGNOSTICS`] included (the note saying so is neither).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) errors: usize,
    pub(crate) warnings: usize,
}

impl Counts {
    fn add(&mut self, diagnostic: &Diagnostic) {
        match diagnostic.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
    }
}

/// A bounded collector of diagnostics.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    list: Vec<Diagnostic>,
    /// What was left out because the list was full.
    dropped: Counts,
}

impl Sink {
    /// Records `diagnostic`, or counts it as dropped when the sink is full.
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        if self.list.len() < MAX_DIAGNOSTICS {
            self.list.push(diagnostic);
        } else {
            self.dropped.add(&diagnostic);
        }
    }

    /// How many diagnostics were recorded, kept or dropped.
    pub(crate) fn len(&self) -> usize {
        self.list.len() + self.dropped.errors + self.dropped.warnings
    }

    /// Whether nothing was recorded (kept or dropped).
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty() && self.dropped.errors + self.dropped.warnings == 0
    }

    /// Takes everything from `other`.
    pub(crate) fn append(&mut self, other: Sink) {
        self.dropped.errors += other.dropped.errors;
        self.dropped.warnings += other.dropped.warnings;
        for diagnostic in other.list {
            self.push(diagnostic);
        }
    }

    /// The diagnostics sorted by position (stable, so those at the same place
    /// keep the order they were found in), plus a note when some were
    /// dropped. `end` is the length of the source, where that note points.
    pub(crate) fn finish(self, end: usize) -> Vec<Diagnostic> {
        self.finish_counted(end).0
    }

    /// [`Sink::finish`], and the true number of errors and warnings: those
    /// kept and those dropped, not counting the note. The note is an error
    /// when any error was found (so that a file whose errors were all
    /// dropped still fails), else a warning.
    pub(crate) fn finish_counted(mut self, end: usize) -> (Vec<Diagnostic>, Counts) {
        self.list.sort_by_key(|d| d.span.start);
        let mut counts = self.dropped;
        for diagnostic in &self.list {
            counts.add(diagnostic);
        }
        let dropped = self.dropped.errors + self.dropped.warnings;
        if dropped > 0 {
            let message = format!(
                "too many diagnostics: {dropped} more not shown after the first {MAX_DIAGNOSTICS}"
            );
            let span = Span::new(end, end);
            let note = if counts.errors > 0 {
                Diagnostic::error(span, message)
            } else {
                Diagnostic::warning(span, message)
            };
            self.list
                .push(note.with_hint("fix the problems above and check the file again"));
        }
        (self.list, counts)
    }
}

/// Source text quoted in a message, shortened so that a 1 MB identifier does
/// not make a 1 MB message.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    let mut chars = text.char_indices();
    match chars.nth(MAX_CHARS) {
        None => text.escape_debug().to_string(),
        Some((cut, _)) => format!("{}…", text[..cut].escape_debug()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_shortens_long_text_and_escapes_controls() {
        assert_eq!(excerpt("create_window"), "create_window");
        assert_eq!(excerpt("a\0b"), "a\\0b");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long), format!("{}…", "x".repeat(40)));
    }

    #[test]
    fn sink_keeps_a_bounded_number_and_says_how_many_it_dropped() {
        let mut sink = Sink::default();
        for i in 0..MAX_DIAGNOSTICS + 5 {
            sink.push(Diagnostic::error(Span::new(i, i + 1), "e"));
        }
        let (list, counts) = sink.finish_counted(7);
        assert_eq!(list.len(), MAX_DIAGNOSTICS + 1);
        let last = list.last().map(|d| d.message.as_str());
        assert_eq!(
            last,
            Some("too many diagnostics: 5 more not shown after the first 100")
        );
        assert!(list.last().is_some_and(Diagnostic::is_error));
        assert_eq!(
            counts,
            Counts {
                errors: MAX_DIAGNOSTICS + 5,
                warnings: 0
            }
        );
    }

    #[test]
    fn counts_keep_errors_and_warnings_apart_past_the_cap() {
        let mut sink = Sink::default();
        for i in 0..MAX_DIAGNOSTICS + 7 {
            sink.push(Diagnostic::warning(Span::new(i, i + 1), "w"));
        }
        let mut other = Sink::default();
        other.push(Diagnostic::error(Span::new(0, 1), "e"));
        other.push(Diagnostic::warning(Span::new(0, 1), "w"));
        sink.append(other);
        let (list, counts) = sink.finish_counted(0);
        assert_eq!(
            counts,
            Counts {
                errors: 1,
                warnings: MAX_DIAGNOSTICS + 8
            }
        );
        // The error was dropped, but the note still fails the file.
        assert!(list.last().is_some_and(Diagnostic::is_error));
        assert_eq!(list.len(), MAX_DIAGNOSTICS + 1);
    }

    #[test]
    fn the_note_of_warnings_only_is_a_warning() {
        let mut sink = Sink::default();
        for i in 0..=MAX_DIAGNOSTICS {
            sink.push(Diagnostic::warning(Span::new(i, i + 1), "w"));
        }
        let (list, counts) = sink.finish_counted(0);
        assert_eq!(counts.warnings, MAX_DIAGNOSTICS + 1);
        assert!(list.iter().all(|d| !d.is_error()));
    }
}
