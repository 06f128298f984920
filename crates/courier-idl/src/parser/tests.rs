use expect_test::{Expect, expect};

use crate::ast::{IpcFile, MessageKind, Param};

/// Parses `source` and shows the tree in a compact form, then the messages
/// of the diagnostics with their spans.
fn check(source: &str, expect: Expect) {
    let (file, diagnostics) = crate::parse(source);
    let mut out = dump(&file);
    for d in diagnostics {
        let text = source.get(d.span.start..d.span.end).unwrap_or("?");
        out.push_str(&format!("! {} @{text:?}\n", d.message));
    }
    expect.assert_eq(&out);
}

fn dump(file: &IpcFile) -> String {
    let mut out = String::new();
    for directive in &file.directives {
        out.push_str(&format!("{}\n", directive.text));
    }
    for endpoint in &file.endpoints {
        for doc in &endpoint.docs {
            out.push_str(&format!("/// {doc}\n"));
        }
        out.push_str(&format!("endpoint {}", endpoint.name));
        if let Some(magic) = &endpoint.explicit_magic {
            out.push_str(&format!(" = {}", magic.value));
        }
        if let Some(routing) = &endpoint.routing {
            out.push_str(&format!(" routed by {} {}", routing.ty, routing.name));
        }
        out.push('\n');
        for message in &endpoint.messages {
            for doc in &message.docs {
                out.push_str(&format!("  /// {doc}\n"));
            }
            if !message.attrs.is_empty() {
                let attrs: Vec<String> = message.attrs.iter().map(|a| a.name.to_string()).collect();
                out.push_str(&format!("  #[{}]\n", attrs.join(",")));
            }
            let results = match &message.kind {
                MessageKind::OneWay => "=|".to_string(),
                MessageKind::Request { results } => format!("=> ({})", params(results)),
            };
            let params = params(&message.params);
            out.push_str(&format!("  {}({params}) {results}\n", message.name));
        }
    }
    out
}

fn params(params: &[Param]) -> String {
    let shown: Vec<String> = params
        .iter()
        .map(|p| {
            let attrs: Vec<String> = p
                .attrs
                .iter()
                .map(|a| match &a.value {
                    Some(v) => format!("{}={v}", a.name),
                    None => a.name.to_string(),
                })
                .collect();
            let attrs = if attrs.is_empty() {
                String::new()
            } else {
                format!("[{}] ", attrs.join(","))
            };
            let ty = p.ty.as_ref().map(|t| format!("{t} ")).unwrap_or_default();
            format!("{attrs}{ty}{}", p.name)
        })
        .collect();
    shown.join(", ")
}

#[test]
fn serenity_style() {
    check(
        r#"#include <LibGfx/Rect.h>
#include <LibCore/AnonymousBuffer.h>

// The window server.
endpoint WindowServer
{
    // Makes a window.
    // Returns its id.
    create_window(Gfx::IntRect rect, [UTF8] ByteString title) => (i32 window_id)

    set_layout(::WindowServer::ScreenLayout layout, HashMap<String, Vector<i32>> map) =|
    read(Array<u8, 16> key, Optional<Vector<GUI::FileTypeFilter>> filters) => ()
}
"#,
        expect![[r#"
            #include <LibGfx/Rect.h>
            #include <LibCore/AnonymousBuffer.h>
            /// The window server.
            endpoint WindowServer
              /// Makes a window.
              /// Returns its id.
              create_window(Gfx::IntRect rect, [UTF8] ByteString title) => (i32 window_id)
              set_layout(::WindowServer::ScreenLayout layout, HashMap<String, Vector<i32>> map) =|
              read(Array<u8, 16> key, Optional<Vector<GUI::FileTypeFilter>> filters) => ()
        "#]],
    );
}

#[test]
fn overview_dialect_attribute_stands_for_the_type() {
    check(
        "endpoint ImageDecoder {\n    DecodeImage([File] image_file) => ([Bitmap] decoded_bitmap)\n}",
        expect![[r#"
            endpoint ImageDecoder
              DecodeImage([File] image_file) => ([Bitmap] decoded_bitmap)
        "#]],
    );
}

#[test]
fn layout_freedom() {
    check(
        "endpoint A { a() =| b(i32 x,) => (i32 y,) } endpoint B\n{\n}\nendpoint C {\n  c(\n    i32 x, // note\n    [UTF8, File] [Bitmap] ByteString y\n  ) =|\n}",
        expect![[r#"
            endpoint A
              a() =|
              b(i32 x) => (i32 y)
            endpoint B
            endpoint C
              c(i32 x, [UTF8,File,Bitmap] ByteString y) =|
        "#]],
    );
}

#[test]
fn missing_arrow_is_reported_and_the_next_message_parses() {
    check(
        "endpoint A {\n    a(i32 x) (i32 y)\n    b() =|\n}\n",
        expect![[r#"
            endpoint A
              b() =|
            ! expected `=>` or `=|` after the parameter list of `a`, found `(` @"("
        "#]],
    );
}

#[test]
fn results_without_parentheses_get_a_rewritten_hint() {
    let (_, diagnostics) = crate::parse("endpoint A {\n    a(i32 id) => i32 window_id)\n}");
    let hint = diagnostics[0].hint.as_deref();
    assert_eq!(
        hint,
        Some("results are written in parentheses: `=> (i32 window_id)`")
    );
}

#[test]
fn unclosed_parenthesis_before_the_next_message() {
    check(
        "endpoint A {\n    a(i32 x\n    b() =|\n}\n",
        expect![[r#"
            endpoint A
              b() =|
            ! unclosed `(` @"("
        "#]],
    );
}

#[test]
fn unclosed_parenthesis_before_the_arrow_keeps_the_message() {
    check(
        "endpoint A {\n    a(i32 x => (i32 y)\n}\n",
        expect![[r#"
            endpoint A
              a(i32 x) => (i32 y)
            ! unclosed `(` @"("
        "#]],
    );
}

#[test]
fn several_errors_in_one_file_are_all_reported_once() {
    check(
        "endpoint A {\n    a(i32 x, , i32 y) =|\n    b(Vector<i32 v) =|\n    c(i32 z) => \n    d([] i32 w) =|\n    e() =|\n}\n",
        expect![[r#"
            endpoint A
              a(i32 x, i32 y) =|
              b() =|
              d(i32 w) =|
              e() =|
            ! expected a parameter, found `,` @","
            ! expected `,` or `>` in the template arguments, found `v` @"v"
            ! expected `(` after `=>`, found `d` @""
            ! empty attribute list @"[]"
        "#]],
    );
}

#[test]
fn unclosed_brace_before_the_next_endpoint() {
    check(
        "endpoint A {\n    a() =|\nendpoint B {\n    b() =|\n}\n",
        expect![[r#"
            endpoint A
              a() =|
            endpoint B
              b() =|
            ! unclosed `{` of endpoint `A` @"{"
        "#]],
    );
}

#[test]
fn missing_braces_and_names() {
    check(
        "endpoint\n{\n    a() =|\n}\nendpoint B\n    b() =|\n}\nC {\n}\nenpoint D {}\n",
        expect![[r#"
            endpoint B
              b() =|
            endpoint C
            endpoint D
            ! expected an endpoint name after `endpoint`, found `{` @""
            ! expected `{` after the endpoint name, found `b` @""
            ! missing `endpoint` before `C` @"C"
            ! expected `endpoint`, found `enpoint` @"enpoint"
        "#]],
    );
}

#[test]
fn stray_tokens_and_messages_at_top_level() {
    check(
        "} foo bar\na() =|\nendpoint A {}\n#include <x>\n",
        expect![[r#"
            #include <x>
            endpoint A
            ! expected `endpoint`, found `}` @"}"
            ! message `a` outside an endpoint @"a"
        "#]],
    );
}

#[test]
fn attribute_syntax_errors() {
    check(
        "endpoint A {\n    a([UTF8 ByteString s) =|\n    b([=x] i32 y) =|\n    c([k=] i32 z, [k=v] i32 w) =|\n}\n",
        expect![[r#"
            endpoint A
              a() =|
              b() =|
              c([k=v] i32 w) =|
            ! expected `,` or `]` after an attribute, found `ByteString` @"ByteString"
            ! expected an attribute name, found `=` @"="
            ! expected a value after `k=`, found `]` @"]"
        "#]],
    );
}

#[test]
fn template_depth_is_bounded() {
    let source = format!("endpoint A {{\n a({}i32 x) =|\n}}\n", "A<".repeat(100));
    let (_, diagnostics) = crate::parse(&source);
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        ["template arguments nested more than 32 levels deep"]
    );
    let ok = format!(
        "endpoint A {{\n a({}i32{} x) =|\n}}\n",
        "A<".repeat(32),
        ">".repeat(32)
    );
    assert!(crate::parse(&ok).1.is_empty());
}

#[test]
fn directive_inside_an_endpoint() {
    check(
        "endpoint A {\n#include <x>\n    a() =|\n}\n",
        expect![[r##"
            endpoint A
              a() =|
            ! `#` directive inside an endpoint @"#include <x>"
        "##]],
    );
}

#[test]
fn unknown_characters_are_reported_by_the_lexer_only() {
    check(
        "endpoint A {\n    a(i32 x); b(i32 y) =|\n};\n",
        expect![[r#"
            endpoint A
            ! unexpected character `;` @";"
            ! unexpected character `;` @";"
        "#]],
    );
}

#[test]
fn integers_in_templates() {
    check(
        "endpoint A {\n    a(Array<u8, 0x10> k, Array<u8, 99999999999999999999> m) =|\n}\n",
        expect![[r#"
            endpoint A
              a(Array<u8, 16> k) =|
            ! integer too large `99999999999999999999` @"99999999999999999999"
        "#]],
    );
}

#[test]
fn what_may_follow_an_endpoint_name() {
    check(
        "endpoint Old = 12 { A() =| }\n\
         endpoint Hex = 0x10 {}\n\
         endpoint Pages routed by ::Web::PageId page_id {\n\
             // Docs above the attributes.\n\
             [NotRouted] [X, Y=3]\n\
             create(Web::PageId page_id) =|\n\
             [NotRouted] close(Web::PageId page_id) => ()\n\
             load(Web::PageId page_id) =| [NotRouted] stop(Web::PageId page_id) =|\n\
         }\n\
         endpoint routed {}\n",
        expect![[r#"
            endpoint Old = 12
              A() =|
            endpoint Hex = 16
            endpoint Pages routed by ::Web::PageId page_id
              /// Docs above the attributes.
              #[NotRouted,X,Y]
              create(Web::PageId page_id) =|
              #[NotRouted]
              close(Web::PageId page_id) => ()
              load(Web::PageId page_id) =|
              #[NotRouted]
              stop(Web::PageId page_id) =|
            endpoint routed
        "#]],
    );
}

#[test]
fn const_in_template_arguments_is_dropped() {
    check(
        "endpoint E { f(Ptr<Frame const> a, Ptr<const ::Frame> b, Map<K const, const V> c, \
         Ptr<const> d) =| }",
        expect![[r#"
            endpoint E
              f(Ptr<Frame> a, Ptr<::Frame> b, Map<K, V> c, Ptr<const> d) =|
        "#]],
    );
}

#[test]
fn a_message_after_attributes_recovers_like_any_message() {
    // The broken first message does not swallow the attributed one.
    check(
        "endpoint E {\n    broken(i32 x,\n    [NotRouted] next(i32 y) =|\n}\n",
        expect![[r#"
            endpoint E
              #[NotRouted]
              next(i32 y) =|
            ! unclosed `(` @"("
        "#]],
    );
}
