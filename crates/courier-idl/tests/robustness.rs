//! Whatever the input, parsing and checking neither panic nor hang, and the
//! diagnostics stay well-formed and bounded.

use courier_idl::ast::MessageKind;
use courier_idl::{Checked, Diagnostic, SourceFile, check, parse, parse_bytes};
use proptest::prelude::*;

/// Checks `text` as one file and renders the result, asserting what holds
/// for every input: spans inside the text on character boundaries, messages
/// in house style, one rendered block per diagnostic, bounded counts.
fn check_invariants(text: &str) -> Checked {
    let checked = check(&[SourceFile::new("fuzz.ipc", text)]);
    let file = &checked.files[0];
    assert!(
        file.diagnostics.len() <= 101,
        "{} diagnostics",
        file.diagnostics.len()
    );
    for diagnostic in &file.diagnostics {
        assert_well_formed(diagnostic, text);
    }
    let rendered = checked.render_diagnostics();
    let headers = rendered
        .lines()
        .filter(|l| l.starts_with("error: ") || l.starts_with("warning: "))
        .count();
    let summary = usize::from(!file.diagnostics.is_empty());
    assert_eq!(headers, file.diagnostics.len() + summary, "{rendered}");
    checked
}

fn assert_well_formed(diagnostic: &Diagnostic, text: &str) {
    let span = diagnostic.span;
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{diagnostic:?}"
    );
    assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
    let message = &diagnostic.message;
    assert!(!message.is_empty());
    assert!(
        !message.starts_with(|c: char| c.is_ascii_uppercase()),
        "{message}"
    );
    assert!(!message.ends_with('.'), "{message}");
    assert!(message.len() < 400, "message too long: {message}");
}

// ---- explicit cases ----

#[test]
fn empty_file_is_valid_and_declares_nothing() {
    for text in ["", "\n\n", "// only a comment\n", "#include <x.h>\n"] {
        let (file, diagnostics) = parse(text);
        assert!(diagnostics.is_empty(), "{text:?}: {diagnostics:?}");
        assert!(file.endpoints.is_empty());
    }
}

#[test]
fn one_megabyte_line_of_valid_parameters() {
    let params: Vec<String> = (0..100_000).map(|i| format!("i32 p{i}")).collect();
    let text = format!("endpoint A {{ a({}) =| }}", params.join(", "));
    assert!(text.len() > 1_000_000);
    let (file, diagnostics) = parse(&text);
    assert!(diagnostics.is_empty());
    assert_eq!(file.endpoints[0].messages[0].params.len(), 100_000);
}

#[test]
fn one_megabyte_line_with_a_fault_renders_briefly() {
    let params: String = (0..100_000).map(|i| format!("i32 y{i}, ")).collect();
    let text = format!("endpoint A {{ m({params}i32 x, i32 x) =| }}");
    let checked = check_invariants(&text);
    assert_eq!(checked.error_count(), 1);
    let rendered = checked.render_diagnostics();
    assert!(rendered.len() < 2_000, "{} bytes", rendered.len());
    assert!(rendered.contains("duplicate parameter `x`"));
}

/// Past the limit of 100 diagnostics per file, the counts and the summary
/// still give the true numbers (not 100 plus the note that says so).
#[test]
fn the_summary_counts_what_the_limit_left_out() {
    // 150 messages outside an endpoint (errors) and 30 unknown attributes
    // (warnings) in an endpoint after them.
    let mut text = "a() =|\n".repeat(150);
    text.push_str("endpoint E {\n");
    for i in 0..30 {
        text.push_str(&format!("    m{i}([Odd] i32 x) =|\n"));
    }
    text.push_str("}\n");
    let checked = check_invariants(&text);
    assert_eq!(checked.error_count(), 150);
    assert_eq!(checked.warning_count(), 30);
    assert_eq!(checked.files[0].error_count(), 150);
    assert_eq!(checked.files[0].diagnostics.len(), 101);
    let rendered = checked.render_diagnostics();
    assert!(
        rendered.contains("too many diagnostics: 80 more not shown after the first 100"),
        "{rendered}"
    );
    assert!(
        rendered.ends_with("\nerror: 150 errors, 30 warnings in fuzz.ipc\n"),
        "{rendered}"
    );

    // Warnings only: the note does not make the file fail.
    let mut text = "endpoint E {\n".to_string();
    for i in 0..120 {
        text.push_str(&format!("    m{i}([Odd] i32 x) =|\n"));
    }
    text.push_str("}\n");
    let checked = check_invariants(&text);
    assert!(!checked.has_errors(), "{}", checked.render_diagnostics());
    assert!(
        checked
            .render_diagnostics()
            .ends_with("\nwarning: 120 warnings in fuzz.ipc\n")
    );
}

#[test]
fn one_megabyte_identifier() {
    let name = "A".repeat(1_000_000);
    let (file, diagnostics) = parse(&format!("endpoint {name} {{}}"));
    assert!(diagnostics.is_empty());
    assert_eq!(file.endpoints[0].name.name.len(), 1_000_000);
    let checked = check_invariants(&format!("endpoint {name} {{}}\nendpoint {name} {{}}\n"));
    assert!(checked.render_diagnostics().len() < 2_000);
}

#[test]
fn a_hundred_thousand_angle_brackets() {
    for text in [
        format!(
            "endpoint A {{\n a(Vector{} x) =|\n}}\n",
            "<".repeat(100_000)
        ),
        format!(
            "endpoint A {{\n a({}i32 x) =|\n}}\n",
            "Vector<".repeat(100_000)
        ),
        "<".repeat(100_000),
        ">".repeat(100_000),
    ] {
        let checked = check_invariants(&text);
        assert!(checked.has_errors());
        assert!(
            checked.error_count() <= 3,
            "{}",
            checked.render_diagnostics()
        );
        assert!(checked.render_diagnostics().len() < 4_000);
    }
}

#[test]
fn a_hundred_thousand_parentheses() {
    for text in [
        "(".repeat(100_000),
        format!("endpoint A {{\n a{}\n}}\n", "(".repeat(100_000)),
        format!("endpoint A {{\n a(){}\n}}\n", ")".repeat(100_000)),
        "{".repeat(100_000),
        "[".repeat(100_000),
    ] {
        let checked = check_invariants(&text);
        assert!(checked.has_errors());
        assert!(
            checked.error_count() <= 3,
            "{}",
            checked.render_diagnostics()
        );
    }
}

#[test]
fn a_hundred_thousand_stray_characters_are_capped() {
    let checked = check_invariants(&"; ".repeat(100_000));
    let rendered = checked.render_diagnostics();
    assert!(rendered.contains("too many diagnostics: 99900 more not shown after the first 100"));
}

#[test]
fn binary_garbage() {
    // A fixed pseudo-random megabyte (xorshift), so the test is deterministic.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..1_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    let (_, diagnostics) = parse_bytes(&bytes);
    assert!(!diagnostics.is_empty() && diagnostics.len() <= 101);
    assert!(diagnostics.iter().all(|d| d.span.end <= bytes.len()));
    let checked = check_invariants(&String::from_utf8_lossy(&bytes));
    assert!(checked.has_errors());
}

#[test]
fn lone_carriage_returns_are_whitespace() {
    let (file, diagnostics) = parse("endpoint A {\r a() =|\r}\r");
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(file.endpoints[0].messages.len(), 1);
    let checked = check_invariants("endpoint A {\r a(\r}");
    assert!(checked.has_errors());
    assert!(!checked.render_diagnostics().contains('\r'));
}

#[test]
fn nul_bytes_are_reported_and_skipped() {
    let checked = check_invariants("endpoint A {\0\n  m(i32\0 x) =|\n}\0");
    let messages: Vec<&str> = checked.files[0]
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(messages, ["unexpected character `\\0`"; 3]);
    let ast = &checked.files[0].ast;
    assert_eq!(ast.endpoints[0].messages[0].params[0].name.name, "x");
    assert!(!checked.render_diagnostics().contains('\0'));
}

#[test]
fn emoji_identifiers_are_reported() {
    let checked = check_invariants("endpoint 🦀 {\n  📨(i32 x) =|\n}\n");
    let messages: Vec<&str> = checked.files[0]
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "identifier `🦀` is not ASCII",
            "identifier `📨` is not ASCII"
        ]
    );
}

// ---- generated inputs ----

/// The grammar's tokens and some near misses, for token soups.
const TOKENS: &[&str] = &[
    "endpoint",
    "Foo",
    "bar_baz",
    "i32",
    "Vector",
    "HashMap",
    "Array",
    "Optional",
    "Variant",
    "UTF8",
    "File",
    "Bitmap",
    "16",
    "0x10",
    "99999999999999999999999",
    "::",
    "<",
    ">",
    ",",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "=",
    "=>",
    "=|",
    "#include <x.h>\n",
    "// comment\n",
    "\n",
    " ",
    "\t",
    "\r",
    "\r\n",
    ";",
    ":",
    "|",
    "é",
    "🦀",
    "\0",
    "\u{FFFD}",
    "->",
    "/",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..120).prop_flat_map(|tokens| {
        let n = tokens.len();
        prop::collection::vec(prop::sample::select(&[" ", "", "\n"][..]), n).prop_map(
            move |separators| {
                let mut text = String::new();
                for (token, separator) in tokens.iter().zip(separators) {
                    text.push_str(token);
                    text.push_str(separator);
                }
                text
            },
        )
    })
}

/// A valid file from a small model: endpoints with messages with typed
/// parameters.
#[derive(Clone, Debug)]
struct ModelMessage {
    params: usize,
    results: Option<usize>,
}

fn model() -> impl Strategy<Value = Vec<Vec<ModelMessage>>> {
    let message = (0..4usize, prop::option::of(0..3usize))
        .prop_map(|(params, results)| ModelMessage { params, results });
    prop::collection::vec(prop::collection::vec(message, 0..6), 0..4)
}

const TYPES: &[&str] = &[
    "i32",
    "Gfx::IntRect",
    "::WindowServer::ScreenLayout",
    "Vector<ByteString>",
    "HashMap<String, Vector<i32>>",
    "Array<u8, 16>",
    "[UTF8] ByteString",
    "[File]",
    "Optional<Variant<i32, String>>",
];

fn param_list(count: usize, prefix: &str, layout: usize) -> String {
    let params: Vec<String> = (0..count)
        .map(|i| format!("{} {prefix}{i}", TYPES[(i + layout) % TYPES.len()]))
        .collect();
    let separator = if layout % 2 == 0 { ", " } else { ",\n        " };
    let trailing = if layout % 3 == 0 && count > 0 {
        ","
    } else {
        ""
    };
    format!("({}{trailing})", params.join(separator))
}

fn render_model(endpoints: &[Vec<ModelMessage>], layout: usize) -> String {
    let mut text = String::from("#include <LibGfx/Rect.h>\n");
    for (e, messages) in endpoints.iter().enumerate() {
        let brace = if (e + layout) % 2 == 0 { " {" } else { "\n{" };
        text.push_str(&format!("// Endpoint {e}.\nendpoint Endpoint{e}{brace}\n"));
        for (m, message) in messages.iter().enumerate() {
            let params = param_list(message.params, "p", layout + m);
            let tail = match message.results {
                Some(n) => format!("=> {}", param_list(n, "r", layout + m + 1)),
                None => "=|".to_string(),
            };
            let end = if (m + layout) % 3 == 0 { " " } else { "\n" };
            text.push_str(&format!("    message_{m}{params} {tail}{end}"));
        }
        text.push_str("}\n");
    }
    text
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check_invariants(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let (_, diagnostics) = parse_bytes(&bytes);
        prop_assert!(diagnostics.iter().all(|d| d.span.start <= d.span.end && d.span.end <= bytes.len()));
        check_invariants(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soups_never_panic(text in token_soup()) {
        check_invariants(&text);
    }

    #[test]
    fn generated_valid_files_parse_back(endpoints in model(), layout in 0..6usize) {
        let text = render_model(&endpoints, layout);
        let checked = check_invariants(&text);
        prop_assert_eq!(checked.render_diagnostics(), "", "{}", text);
        let ast = &checked.files[0].ast;
        prop_assert_eq!(ast.endpoints.len(), endpoints.len());
        for (parsed, model) in ast.endpoints.iter().zip(&endpoints) {
            prop_assert_eq!(parsed.messages.len(), model.len());
            for (message, expected) in parsed.messages.iter().zip(model) {
                prop_assert_eq!(message.params.len(), expected.params);
                let results = match &message.kind {
                    MessageKind::Request { results } => Some(results.len()),
                    MessageKind::OneWay => None,
                };
                prop_assert_eq!(results, expected.results);
            }
        }
    }
}
