//! The printer: a syntax tree back to canonical `.ipc` text.
//!
//! The canonical form is the one the SerenityOS corpus mostly uses: `#`
//! lines first, a blank line, then each endpoint with its brace on a line
//! of its own, one message per line indented by four spaces, a blank line
//! between endpoints. Doc comments (`//` lines directly above an endpoint or
//! a message) are kept; other comments are not in the tree and are lost.
//! Names, attributes and types are printed as written (`CreateWindow` stays
//! `CreateWindow`, `::WindowServer::ScreenLayout` keeps its leading `::`);
//! a template's integer argument and an explicit magic are printed in
//! decimal, the `const` of a template argument is left out, and a message's
//! attributes go on its line, before its name (`[NotRouted] close() =|`).
//!
//! Parsing the printed text gives back the same tree, spans aside, for
//! every tree the parser builds from a file without syntax errors.

use std::fmt::Write as _;

use crate::ast::{Attribute, Endpoint, IpcFile, Message, MessageKind, Param};

/// The indentation of a message inside an endpoint.
const INDENT: &str = "    ";

/// Renders `file` as canonical `.ipc` text, ending with a line break (an
/// empty file gives an empty string).
///
/// ```
/// let source = "#include <LibGfx/Rect.h>\n\
///               endpoint WindowServer { create_window(Gfx::IntRect rect,[UTF8] ByteString title)=>(i32 id) \
///               Ping() =| }";
/// let (file, diagnostics) = courier_idl::parse(source);
/// assert!(diagnostics.is_empty());
/// assert_eq!(
///     courier_idl::print(&file),
///     "\
/// #include <LibGfx/Rect.h>
///
/// endpoint WindowServer
/// {
///     create_window(Gfx::IntRect rect, [UTF8] ByteString title) => (i32 id)
///     Ping() =|
/// }
/// "
/// );
/// ```
pub fn print(file: &IpcFile) -> String {
    let mut out = String::new();
    for directive in &file.directives {
        out.push_str(&directive.text);
        out.push('\n');
    }
    for (index, endpoint) in file.endpoints.iter().enumerate() {
        if index > 0 || !file.directives.is_empty() {
            out.push('\n');
        }
        print_endpoint(&mut out, endpoint);
    }
    out
}

fn print_endpoint(out: &mut String, endpoint: &Endpoint) {
    print_docs(out, "", &endpoint.docs);
    out.push_str("endpoint ");
    out.push_str(&endpoint.name.name);
    if let Some(magic) = &endpoint.explicit_magic {
        let _ = write!(out, " = {}", magic.value);
    }
    if let Some(routing) = &endpoint.routing {
        let _ = write!(out, " routed by {} {}", routing.ty, routing.name.name);
    }
    out.push_str("\n{\n");
    for message in &endpoint.messages {
        print_docs(out, INDENT, &message.docs);
        out.push_str(INDENT);
        print_message(out, message);
        out.push('\n');
    }
    out.push_str("}\n");
}

/// `// text` lines; an empty line of docs is a bare `//`.
fn print_docs(out: &mut String, indent: &str, docs: &[String]) {
    for line in docs {
        out.push_str(indent);
        out.push_str("//");
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn print_message(out: &mut String, message: &Message) {
    if !message.attrs.is_empty() {
        print_attrs(out, &message.attrs);
    }
    out.push_str(&message.name.name);
    print_params(out, &message.params);
    match &message.kind {
        MessageKind::OneWay => out.push_str(" =|"),
        MessageKind::Request { results } => {
            out.push_str(" => ");
            print_params(out, results);
        }
    }
}

/// `(a, b)`.
fn print_params(out: &mut String, params: &[Param]) {
    out.push('(');
    for (index, param) in params.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        print_param(out, param);
    }
    out.push(')');
}

/// `[attrs] Type name`, or `[attrs] name` when an attribute stands for the
/// type.
fn print_param(out: &mut String, param: &Param) {
    if !param.attrs.is_empty() {
        print_attrs(out, &param.attrs);
    }
    if let Some(ty) = &param.ty {
        // `Type`'s `Display` prints it as written: `::A::B<C, 16>`.
        let _ = write!(out, "{ty} ");
    }
    out.push_str(&param.name.name);
}

/// `[a, b] `, with the space that separates it from what follows.
fn print_attrs(out: &mut String, attrs: &[Attribute]) {
    out.push('[');
    for (index, attr) in attrs.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        print_attr(out, attr);
    }
    out.push_str("] ");
}

fn print_attr(out: &mut String, attr: &Attribute) {
    out.push_str(&attr.name.name);
    if let Some(value) = &attr.value {
        out.push('=');
        out.push_str(&value.name);
    }
}

#[cfg(test)]
mod tests {
    use super::print;

    fn reprint(source: &str) -> String {
        let (file, diagnostics) = crate::parse(source);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        print(&file)
    }

    #[test]
    fn an_empty_file_prints_as_nothing() {
        assert_eq!(reprint(""), "");
        assert_eq!(reprint("// only a comment\n"), "");
    }

    #[test]
    fn directives_alone_have_no_trailing_blank_line() {
        assert_eq!(
            reprint("#include <a.h>\n#pragma x"),
            "#include <a.h>\n#pragma x\n"
        );
    }

    #[test]
    fn docs_attributes_templates_and_both_dialects() {
        let source = "// The service.\n//\n//  indented\nendpoint A {\n  // One.\n  \
                      f([UTF8,Name=value] ByteString s,[File] image, \
                      HashMap<String,Vector<Vector<i32>>> m, Array<u8, 0x10> a,\
                      ::X::Y y,) => ()\n  g() =|\n}\nendpoint B {}\n";
        assert_eq!(
            reprint(source),
            "\
// The service.
//
//  indented
endpoint A
{
    // One.
    f([UTF8, Name=value] ByteString s, [File] image, HashMap<String, Vector<Vector<i32>>> m, Array<u8, 16> a, ::X::Y y) => ()
    g() =|
}

endpoint B
{
}
"
        );
    }

    #[test]
    fn explicit_magic_routing_message_attributes_and_const() {
        let source = "endpoint Old = 0x2A {}\nendpoint Pages routed by ::Web::PageId page_id {\n\
                      [NotRouted]\n  create(Web::PageId page_id) =|\n  \
                      [A, B=16] [C] draw(Web::PageId page_id, Ptr<Frame const> frame, \
                      Ptr<const Frame> other) => ()\n}\n";
        assert_eq!(
            reprint(source),
            "\
endpoint Old = 42
{
}

endpoint Pages routed by ::Web::PageId page_id
{
    [NotRouted] create(Web::PageId page_id) =|
    [A, B=16, C] draw(Web::PageId page_id, Ptr<Frame> frame, Ptr<Frame> other) => ()
}
"
        );
    }

    #[test]
    fn printing_is_a_fixed_point() {
        let once = reprint("endpoint E { a(i32 x) => (i32 y, [UTF8] ByteString z) }");
        assert_eq!(reprint(&once), once);
    }
}
