//! Rendering a [`Diagnostic`] as text, in the style of rustc, without
//! colours:
//!
//! ```text
//! error: expected `=>` or `=|` after the parameter list of `create_window`, found `i32`
//!   --> ipc/Foo.ipc:3:27
//!    |
//!  3 |     create_window(i32 id) i32 window_id)
//!    |                           ^^^
//!    = hint: write results after `=>` in parentheses: `=> (i32 window_id)`
//! ```
//!
//! Lines and columns are 1-based; columns count characters. In the snippet,
//! a tab shows as four spaces and a control character as `�`. A line longer
//! than [`MAX_CELLS`] is cut to a window around the fault, marked with `...`,
//! so a 1 MB line gives a short snippet.

use crate::ast::Span;
use crate::diagnostic::Diagnostic;

/// The widest snippet line, in terminal cells.
const MAX_CELLS: usize = 120;
/// How much of a long line to show before the fault.
const CELLS_BEFORE: usize = 40;
const TAB: &str = "    ";
const ELLIPSIS: &str = "...";

impl Diagnostic {
    /// Renders the diagnostic for a terminal or a log, without colours.
    /// `source` is the text the diagnostic's spans point into; `file_name`
    /// is shown as given.
    ///
    /// ```
    /// let source = "endpoint Demo {\n    ping() =>\n}\n";
    /// let (_, diagnostics) = courier_idl::parse(source);
    /// let text = diagnostics[0].render("Demo.ipc", source);
    /// assert_eq!(
    ///     text,
    ///     "error: expected `(` after `=>`, found `}`\n  \
    ///        --> Demo.ipc:2:14\n   \
    ///         |\n \
    ///       2 |     ping() =>\n   \
    ///         |              ^\n   \
    ///         = hint: results are written in parentheses: `=> (i32 window_id)`, or `=> ()` for none\n"
    /// );
    /// ```
    pub fn render(&self, file_name: &str, source: &str) -> String {
        render(self, file_name, source, &LineIndex::new(source))
    }
}

/// Where each line of a source text starts, for turning offsets into lines.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(source: &str) -> LineIndex {
        let breaks = source.match_indices('\n').map(|(i, _)| i + 1);
        LineIndex {
            starts: std::iter::once(0).chain(breaks).collect(),
        }
    }

    /// The 0-based line that holds `offset`.
    fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next.saturating_sub(1),
        }
    }

    /// The text of a 0-based line, without its line break, and its offset.
    fn line<'src>(&self, source: &'src str, line: usize) -> (usize, &'src str) {
        let start = self.starts.get(line).copied().unwrap_or(source.len());
        let end = self
            .starts
            .get(line + 1)
            .map_or(source.len(), |&next| next - 1);
        let text = source.get(start..end).unwrap_or("");
        (start, text.strip_suffix('\r').unwrap_or(text))
    }

    /// The 1-based line and column (in characters) of `offset`.
    pub(crate) fn line_col(&self, source: &str, offset: usize) -> (usize, usize) {
        let offset = clamp(source, offset);
        let line = self.line_of(offset);
        let start = self.starts.get(line).copied().unwrap_or(0).min(offset);
        let column = source.get(start..offset).map_or(0, |s| s.chars().count());
        (line + 1, column + 1)
    }
}

/// `offset`, moved into `source` and back onto a character boundary.
fn clamp(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// One underlined place: the primary span (`^`) or a related one (`-`).
struct Annotation<'a> {
    span: Span,
    line: usize,
    mark: char,
    label: Option<&'a str>,
}

/// Renders `diagnostic` with a prebuilt index of `source`.
pub(crate) fn render(
    diagnostic: &Diagnostic,
    file_name: &str,
    source: &str,
    index: &LineIndex,
) -> String {
    let annotations = annotations(diagnostic, source, index);
    let last_line = annotations.iter().map(|a| a.line).max().unwrap_or(0);
    let gutter = Gutter {
        width: (last_line + 1).to_string().len(),
    };
    let (line, column) = index.line_col(source, diagnostic.span.start);

    let mut out = format!("{}: {}\n", diagnostic.severity, diagnostic.message);
    out.push_str(&format!(
        "{}--> {file_name}:{line}:{column}\n",
        gutter.pad()
    ));
    out.push_str(&gutter.empty());
    let mut previous_line: Option<usize> = None;
    for group in annotations.chunk_by(|a, b| a.line == b.line) {
        let line = group[0].line;
        if previous_line.is_some_and(|previous| line > previous + 1) {
            out.push_str("...\n");
        }
        render_line(&mut out, group, source, index, gutter);
        previous_line = Some(line);
    }
    if let Some(hint) = &diagnostic.hint {
        out.push_str(&format!("{} = hint: {hint}\n", gutter.pad()));
    }
    out
}

/// The primary and related spans, clamped into `source`, in source order.
fn annotations<'a>(
    diagnostic: &'a Diagnostic,
    source: &str,
    index: &LineIndex,
) -> Vec<Annotation<'a>> {
    let primary = (diagnostic.span, '^', None);
    let related = diagnostic
        .related
        .iter()
        .map(|(span, label)| (*span, '-', Some(label.as_str())));
    let mut list: Vec<Annotation<'a>> = std::iter::once(primary)
        .chain(related)
        .map(|(span, mark, label)| {
            let start = clamp(source, span.start);
            let end = clamp(source, span.end).max(start);
            Annotation {
                span: Span::new(start, end),
                line: index.line_of(start),
                mark,
                label,
            }
        })
        .collect();
    list.sort_by_key(|a| (a.line, a.span.start));
    list
}

/// The column of line numbers at the left.
#[derive(Clone, Copy)]
struct Gutter {
    width: usize,
}

impl Gutter {
    /// Blanks as wide as the gutter, plus one.
    fn pad(self) -> String {
        " ".repeat(self.width + 1)
    }

    fn empty(self) -> String {
        format!("{} |\n", self.pad())
    }

    /// A gutter line holding `text`, without trailing blanks.
    fn with(self, text: &str) -> String {
        let line = format!("{} | {text}", self.pad());
        format!("{}\n", line.trim_end())
    }

    fn numbered(self, number: usize, text: &str) -> String {
        let line = format!(" {number:>width$} | {text}", width = self.width);
        format!("{}\n", line.trim_end())
    }
}

/// An underline placed in a [`LineView`].
struct Mark<'a> {
    column: usize,
    len: usize,
    mark: char,
    label: Option<&'a str>,
}

/// Renders one source line and the underlines of `group` (annotations on
/// that line), rustc-style: the rightmost label follows its underline; the
/// others hang below, joined to their underline by `|`.
fn render_line(
    out: &mut String,
    group: &[Annotation<'_>],
    source: &str,
    index: &LineIndex,
    gutter: Gutter,
) {
    let (line_start, text) = index.line(source, group[0].line);
    let relative = |offset: usize| offset.saturating_sub(line_start).min(text.len());
    let focus_start = group
        .iter()
        .map(|a| relative(a.span.start))
        .min()
        .unwrap_or(0);
    let focus_end = group
        .iter()
        .map(|a| relative(a.span.end))
        .max()
        .unwrap_or(0);
    let view = LineView::new(text, focus_start, focus_end);
    out.push_str(&gutter.numbered(group[0].line + 1, &view.text));

    let mut marks: Vec<Mark<'_>> = group
        .iter()
        .filter_map(|a| {
            let (column, len) = view.place(text, relative(a.span.start), relative(a.span.end))?;
            Some(Mark {
                column,
                len,
                mark: a.mark,
                label: a.label,
            })
        })
        .collect();
    marks.sort_by_key(|m| m.column);
    let Some(rightmost) = marks.pop() else { return };

    let mut canvas = Canvas::default();
    for mark in marks.iter().chain([&rightmost]) {
        canvas.put(mark.column, &mark.mark.to_string().repeat(mark.len));
    }
    if let Some(label) = rightmost.label {
        canvas.put(rightmost.column + rightmost.len + 1, label);
    }
    out.push_str(&gutter.with(&canvas.finish()));

    let hanging: Vec<&Mark<'_>> = marks.iter().filter(|m| m.label.is_some()).collect();
    if hanging.is_empty() {
        return;
    }
    let mut connectors = Canvas::default();
    for mark in &hanging {
        connectors.put(mark.column, "|");
    }
    out.push_str(&gutter.with(&connectors.finish()));
    for (i, mark) in hanging.iter().enumerate().rev() {
        let mut line = Canvas::default();
        for left in &hanging[..i] {
            line.put(left.column, "|");
        }
        line.put(mark.column, mark.label.unwrap_or_default());
        out.push_str(&gutter.with(&line.finish()));
    }
}

/// A line of text drawn by placing strings at columns.
#[derive(Default)]
struct Canvas {
    cells: Vec<char>,
}

impl Canvas {
    fn put(&mut self, column: usize, text: &str) {
        for (i, c) in text.chars().enumerate() {
            let at = column + i;
            if self.cells.len() <= at {
                self.cells.resize(at + 1, ' ');
            }
            self.cells[at] = c;
        }
    }

    fn finish(self) -> String {
        self.cells.into_iter().collect()
    }
}

/// One source line as shown: possibly cut to a window around a focus range.
struct LineView {
    text: String,
    /// The first cell of the line shown.
    from: usize,
    /// One past the last cell of the line shown.
    to: usize,
    /// The cells taken by a leading `...`.
    prefix: usize,
}

impl LineView {
    /// The view of `line` around the byte range `focus_start..focus_end`.
    fn new(line: &str, focus_start: usize, focus_end: usize) -> LineView {
        let cells = Cells::measure(line, focus_start, focus_end);
        let (from, to) = cells.window();
        let prefix = if from > 0 { ELLIPSIS.len() } else { 0 };
        let mut text = String::new();
        if from > 0 {
            text.push_str(ELLIPSIS);
        }
        let mut cell = 0;
        for c in line.chars() {
            let width = cell_width(c);
            if cell >= from && cell + width <= to {
                push_shown(&mut text, c);
            }
            cell += width;
            if cell > to {
                break;
            }
        }
        if to < cells.total || cells.more {
            text.push_str(ELLIPSIS);
        }
        LineView {
            text,
            from,
            to,
            prefix,
        }
    }

    /// Where the underline of the byte range `start..end` of `line` goes in
    /// the view (column, length of at least one), or `None` when it is
    /// outside the window.
    fn place(&self, line: &str, start: usize, end: usize) -> Option<(usize, usize)> {
        let start_cell = cells_before(line, start);
        let end_cell = cells_before(line, end);
        let visible_start = start_cell.max(self.from);
        if visible_start > self.to || (start_cell < self.from && end_cell <= self.from) {
            return None;
        }
        let len = end_cell.min(self.to).saturating_sub(visible_start).max(1);
        Some((self.prefix + visible_start - self.from, len))
    }
}

/// The cells taken by `line[..offset]`.
fn cells_before(line: &str, offset: usize) -> usize {
    let head = line.get(..offset).unwrap_or(line);
    head.chars().map(cell_width).sum()
}

/// Cell positions in a line: where the underline starts and ends, and how
/// wide the line is (measured only up to a little past the underline).
struct Cells {
    start: usize,
    end: usize,
    total: usize,
    /// Whether the line goes on past `total`.
    more: bool,
}

impl Cells {
    fn measure(line: &str, start: usize, end: usize) -> Cells {
        let mut cells = Cells {
            start: 0,
            end: 0,
            total: 0,
            more: false,
        };
        for (offset, c) in line.char_indices() {
            if offset == start {
                cells.start = cells.total;
            }
            if offset == end {
                cells.end = cells.total;
            }
            if offset >= end && cells.total > cells.start + MAX_CELLS {
                cells.more = true;
                return cells;
            }
            cells.total += cell_width(c);
        }
        if start == line.len() {
            cells.start = cells.total;
        }
        if end == line.len() {
            cells.end = cells.total;
        }
        cells
    }

    /// The cells to show: everything if the line is short, else a window
    /// that starts a little before the underline.
    fn window(&self) -> (usize, usize) {
        if self.total <= MAX_CELLS && !self.more {
            return (0, self.total);
        }
        let from = self.start.saturating_sub(CELLS_BEFORE);
        let to = (from + MAX_CELLS).min(self.total);
        (to.saturating_sub(MAX_CELLS).min(from), to)
    }
}

/// How many terminal cells a character takes in the snippet.
fn cell_width(c: char) -> usize {
    match c {
        '\t' => TAB.len(),
        c if is_wide(c) => 2,
        _ => 1,
    }
}

/// Appends `c` as shown in a snippet.
fn push_shown(text: &mut String, c: char) {
    match c {
        '\t' => text.push_str(TAB),
        c if c.is_control() => text.push('\u{FFFD}'),
        c => text.push(c),
    }
}

/// East Asian wide characters and emoji, which terminals draw two cells wide
/// (an approximation without a Unicode table).
fn is_wide(c: char) -> bool {
    matches!(
        u32::from(c),
        0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD
    )
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use crate::ast::Span;
    use crate::diagnostic::Diagnostic;

    #[test]
    fn caret_under_a_token_with_hint_and_related_label() {
        let source = "endpoint A {\n    a() =|\n\n\n    A() =|\n}\n";
        let diagnostic = Diagnostic::error(Span::new(30, 31), "duplicate message `A`")
            .with_hint("rename one")
            .with_related(Span::new(17, 18), "first defined here");
        expect![[r#"
            error: duplicate message `A`
              --> x.ipc:5:5
               |
             2 |     a() =|
               |     - first defined here
            ...
             5 |     A() =|
               |     ^
               = hint: rename one
        "#]]
        .assert_eq(&diagnostic.render("x.ipc", source));
    }

    #[test]
    fn tabs_expand_and_columns_count_characters() {
        let source = "\tfé(x)";
        let diagnostic = Diagnostic::error(Span::new(4, 5), "bad");
        expect![[r#"
            error: bad
              --> t.ipc:1:4
               |
             1 |     fé(x)
               |       ^
        "#]]
        .assert_eq(&diagnostic.render("t.ipc", source));
    }

    #[test]
    fn long_lines_are_cut_around_the_fault() {
        let source = format!("{}BAD{}", "a".repeat(1_000_000), "b".repeat(1_000_000));
        let start = 1_000_000;
        let diagnostic = Diagnostic::error(Span::new(start, start + 3), "bad");
        let text = diagnostic.render("long.ipc", &source);
        assert!(text.len() < 600, "{text}");
        let expected_line = format!(" 1 | ...{}BAD{}...", "a".repeat(40), "b".repeat(77));
        assert!(text.contains(&expected_line), "{text}");
        let expected_marker = format!("   | {}^^^\n", " ".repeat(43));
        assert!(text.contains(&expected_marker), "{text}");
        assert!(text.contains("--> long.ipc:1:1000001"), "{text}");
    }

    #[test]
    fn spans_past_the_end_or_inside_a_character_do_not_panic() {
        let source = "é\n";
        for span in [Span::new(1, 2), Span::new(50, 60), Span::new(3, 1)] {
            let text = Diagnostic::error(span, "x").render("f", source);
            assert!(text.contains('^'), "{text}");
        }
    }

    #[test]
    fn module_doc_example_is_what_the_parser_renders() {
        let source = "endpoint Foo\n{\n    create_window(i32 id) i32 window_id)\n}\n";
        let (_, diagnostics) = crate::parse(source);
        expect![[r#"
            error: expected `=>` or `=|` after the parameter list of `create_window`, found `i32`
              --> ipc/Foo.ipc:3:27
               |
             3 |     create_window(i32 id) i32 window_id)
               |                           ^^^
               = hint: write results after `=>` in parentheses: `=> (i32 window_id)`
        "#]]
        .assert_eq(&diagnostics[0].render("ipc/Foo.ipc", source));
    }

    #[test]
    fn empty_source_renders_an_empty_line() {
        expect![[r#"
            error: x
              --> f:1:1
               |
             1 |
               | ^
        "#]]
        .assert_eq(&Diagnostic::error(Span::new(0, 0), "x").render("f", ""));
    }
}
