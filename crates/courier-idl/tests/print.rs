//! The printer round-trips: `parse(print(parse(x)))` is `parse(x)`, spans
//! aside, for the SerenityOS corpus, the examples' interfaces and generated
//! syntax trees; the printed text checks clean and keeps every magic.

use std::path::Path;

use courier_idl::ast::{
    Attribute, Directive, Endpoint, ExplicitMagic, Ident, IpcFile, Message, MessageKind, Param,
    Routing, Span, Type, TypeArg,
};
use courier_idl::{SourceFile, check, parse, print};
use courier_testdata::ipc_files;
use proptest::prelude::*;

// ----- comparing trees without their spans -----

fn ident(ident: &Ident) -> Ident {
    Ident {
        name: ident.name.clone(),
        span: Span::default(),
    }
}

fn ty(ty: &Type) -> Type {
    Type {
        leading_colons: ty.leading_colons,
        segments: ty.segments.iter().map(ident).collect(),
        args: ty
            .args
            .iter()
            .map(|arg| match arg {
                TypeArg::Type(inner) => TypeArg::Type(self::ty(inner)),
                TypeArg::Const(value, _) => TypeArg::Const(*value, Span::default()),
            })
            .collect(),
        span: Span::default(),
    }
}

fn attrs(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .map(|attr| Attribute {
            name: ident(&attr.name),
            value: attr.value.as_ref().map(ident),
            span: Span::default(),
        })
        .collect()
}

fn param(param: &Param) -> Param {
    Param {
        attrs: attrs(&param.attrs),
        ty: param.ty.as_ref().map(ty),
        name: ident(&param.name),
        span: Span::default(),
    }
}

fn message(message: &Message) -> Message {
    Message {
        docs: message.docs.clone(),
        attrs: attrs(&message.attrs),
        name: ident(&message.name),
        params: message.params.iter().map(param).collect(),
        kind: match &message.kind {
            MessageKind::OneWay => MessageKind::OneWay,
            MessageKind::Request { results } => MessageKind::Request {
                results: results.iter().map(param).collect(),
            },
        },
        span: Span::default(),
    }
}

/// `file` with every span set to the default.
fn without_spans(file: &IpcFile) -> IpcFile {
    IpcFile {
        directives: file
            .directives
            .iter()
            .map(|d| Directive {
                text: d.text.clone(),
                span: Span::default(),
            })
            .collect(),
        endpoints: file
            .endpoints
            .iter()
            .map(|e| Endpoint {
                docs: e.docs.clone(),
                name: ident(&e.name),
                explicit_magic: e.explicit_magic.map(|magic| ExplicitMagic {
                    value: magic.value,
                    span: Span::default(),
                }),
                routing: e.routing.as_ref().map(|routing| Routing {
                    ty: ty(&routing.ty),
                    name: ident(&routing.name),
                    span: Span::default(),
                }),
                messages: e.messages.iter().map(message).collect(),
                span: Span::default(),
            })
            .collect(),
    }
}

/// Prints `file`, parses the text again and checks that nothing changed
/// (spans aside), that the text has no diagnostics, and that printing
/// again gives the same text.
fn assert_round_trip(name: &str, file: &IpcFile) -> Result<String, TestCaseError> {
    let printed = print(file);
    let (again, diagnostics) = parse(&printed);
    prop_assert!(
        diagnostics.is_empty(),
        "{name}: the printed text has diagnostics {diagnostics:?}:\n{printed}"
    );
    prop_assert_eq!(
        without_spans(&again),
        without_spans(file),
        "{}: the printed text parses differently:\n{}",
        name,
        printed
    );
    let magics = |f: &IpcFile| f.endpoints.iter().map(Endpoint::magic).collect::<Vec<_>>();
    prop_assert_eq!(magics(&again), magics(file));
    prop_assert_eq!(
        print(&again),
        printed.clone(),
        "{}: not a fixed point",
        name
    );
    Ok(printed)
}

// ----- real files -----

/// Round-trips every `.ipc` file under `dir`, each of which must parse
/// clean; returns how many there were.
fn round_trip_dir(dir: &Path) -> usize {
    let paths = ipc_files(dir);
    for path in &paths {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {name}: {e}"));
        let (file, diagnostics) = parse(&text);
        assert!(diagnostics.is_empty(), "{name}: {diagnostics:?}");
        let printed = assert_round_trip(&name, &file).unwrap_or_else(|e| panic!("{e}"));
        // The printed text passes the semantic checks as the original does.
        let checked = check(&[SourceFile::new(&name, printed)]);
        assert_eq!(checked.render_diagnostics(), "", "{name}");
    }
    paths.len()
}

#[test]
fn every_corpus_file_round_trips() {
    let Some(dir) = courier_testdata::serenity_ipc("the SerenityOS corpus") else {
        return;
    };
    assert_eq!(round_trip_dir(&dir), 36, "the corpus has 36 files");
}

#[test]
fn every_example_interface_round_trips() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ipc");
    assert!(round_trip_dir(&examples) >= 6);
}

#[test]
fn the_window_server_prints_in_canonical_form() {
    let source = "// What the window server serves.\nendpoint WindowServer {\n    \
                  // Request-response.\n    CreateWindow(Gfx::IntRect rect,String title)=>(i32 window_id) \
                  InvalidateRect(i32 window_id, Gfx::IntRect rect) =|\n    SetWindowBitmap(i32 window_id, [Bitmap] bitmap) => ()\n}\n\
                  endpoint WindowClient { Paint(i32 window_id) =| }";
    let (file, diagnostics) = parse(source);
    assert!(diagnostics.is_empty());
    assert_eq!(
        print(&file),
        "\
// What the window server serves.
endpoint WindowServer
{
    // Request-response.
    CreateWindow(Gfx::IntRect rect, String title) => (i32 window_id)
    InvalidateRect(i32 window_id, Gfx::IntRect rect) =|
    SetWindowBitmap(i32 window_id, [Bitmap] bitmap) => ()
}

endpoint WindowClient
{
    Paint(i32 window_id) =|
}
"
    );
}

// ----- generated trees -----

/// Names the parser reads as one identifier and nothing else (no keyword,
/// and not `const`, which a template argument drops).
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,8}".prop_filter("not a keyword", |n| n != "endpoint" && n != "const")
}

fn gen_ident() -> impl Strategy<Value = Ident> {
    name().prop_map(|name| Ident {
        name,
        span: Span::default(),
    })
}

/// Doc lines: printable text without line breaks.
fn docs() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[ -~é→]{0,12}", 0..3)
}

fn gen_type() -> impl Strategy<Value = Type> {
    let leaf = (any::<bool>(), prop::collection::vec(gen_ident(), 1..3)).prop_map(
        |(leading_colons, segments)| Type {
            leading_colons,
            segments,
            args: Vec::new(),
            span: Span::default(),
        },
    );
    leaf.prop_recursive(3, 12, 3, |inner| {
        let arg = prop_oneof![
            inner.prop_map(TypeArg::Type),
            any::<u64>().prop_map(|n| TypeArg::Const(n, Span::default())),
        ];
        (
            any::<bool>(),
            prop::collection::vec(gen_ident(), 1..3),
            prop::collection::vec(arg, 1..3),
        )
            .prop_map(|(leading_colons, segments, args)| Type {
                leading_colons,
                segments,
                args,
                span: Span::default(),
            })
    })
}

/// An attribute, its value a name, an integer or nothing.
fn gen_attr() -> impl Strategy<Value = Attribute> {
    let integer = "[0-9]{1,5}|0x[0-9a-f]{1,4}".prop_map(|name| Ident {
        name,
        span: Span::default(),
    });
    let value = prop::option::of(prop_oneof![gen_ident(), integer]);
    (gen_ident(), value).prop_map(|(name, value)| Attribute {
        name,
        value,
        span: Span::default(),
    })
}

fn gen_param() -> impl Strategy<Value = Param> {
    (
        prop::collection::vec(gen_attr(), 0..3),
        prop::option::of(gen_type()),
        gen_ident(),
    )
        .prop_map(|(attrs, ty, name)| Param {
            attrs,
            ty,
            name,
            span: Span::default(),
        })
}

fn gen_message() -> impl Strategy<Value = Message> {
    let params = || prop::collection::vec(gen_param(), 0..4);
    let kind = prop_oneof![
        Just(MessageKind::OneWay),
        params().prop_map(|results| MessageKind::Request { results }),
    ];
    (
        docs(),
        prop::collection::vec(gen_attr(), 0..3),
        gen_ident(),
        params(),
        kind,
    )
        .prop_map(|(docs, attrs, name, params, kind)| Message {
            docs,
            attrs,
            name,
            params,
            kind,
            span: Span::default(),
        })
}

fn gen_file() -> impl Strategy<Value = IpcFile> {
    let directive = "#[ -~]{0,16}".prop_map(|text| Directive {
        text,
        span: Span::default(),
    });
    let magic = prop::option::of(any::<u32>().prop_map(|value| ExplicitMagic {
        value,
        span: Span::default(),
    }));
    let routing = prop::option::of((gen_type(), gen_ident()).prop_map(|(ty, name)| Routing {
        ty,
        name,
        span: Span::default(),
    }));
    let endpoint = (
        docs(),
        gen_ident(),
        magic,
        routing,
        prop::collection::vec(gen_message(), 0..4),
    )
        .prop_map(|(docs, name, explicit_magic, routing, messages)| Endpoint {
            docs,
            name,
            explicit_magic,
            routing,
            messages,
            span: Span::default(),
        });
    (
        prop::collection::vec(directive, 0..3),
        prop::collection::vec(endpoint, 0..4),
    )
        .prop_map(|(directives, endpoints)| IpcFile {
            directives,
            endpoints,
        })
}

proptest! {
    #[test]
    fn generated_trees_round_trip(file in gen_file()) {
        assert_round_trip("generated", &file)?;
    }
}
