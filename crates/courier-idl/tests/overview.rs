//! The interfaces of the project overview (the PascalCase dialect with
//! attributes standing for types) parse and check clean.

use std::path::Path;

use courier_idl::ast::{IpcFile, MessageKind, Param};
use courier_idl::{SourceFile, check};
use expect_test::{Expect, expect};

fn fixture(name: &str) -> SourceFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/overview")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    SourceFile::new(format!("overview/{name}"), text)
}

/// One line per message: name, kind, parameters as
/// `[attrs] type name` (`-` for no type), and the docs.
fn outline(file: &IpcFile) -> String {
    let mut out = String::new();
    for endpoint in &file.endpoints {
        out.push_str(&format!(
            "endpoint {} magic={}\n",
            endpoint.name,
            endpoint.magic()
        ));
        for message in &endpoint.messages {
            let results = match &message.kind {
                MessageKind::Request { results } => format!(" => ({})", params(results)),
                MessageKind::OneWay => " =|".to_string(),
            };
            out.push_str(&format!(
                "  {}({}){results}  docs={:?}\n",
                message.name,
                params(&message.params),
                message.docs
            ));
        }
    }
    out
}

fn params(params: &[Param]) -> String {
    let shown: Vec<String> = params
        .iter()
        .map(|p| {
            let attrs: Vec<&str> = p.attrs.iter().map(|a| a.name.name.as_str()).collect();
            let ty = p.ty.as_ref().map_or("-".to_string(), ToString::to_string);
            format!("[{}] {ty} {}", attrs.join(","), p.name)
        })
        .collect();
    shown.join(", ")
}

fn check_fixture(name: &str, expect: Expect) {
    let checked = check(&[fixture(name)]);
    assert_eq!(checked.render_diagnostics(), "", "{name} must check clean");
    expect.assert_eq(&outline(&checked.files[0].ast));
}

#[test]
fn window_server() {
    check_fixture(
        "WindowServer.ipc",
        expect![[r#"
            endpoint WindowServer magic=2938215075
              CreateWindow([] Gfx::IntRect rect, [] String title) => ([] i32 window_id)  docs=["Request-response: client waits for response"]
              InvalidateRect([] i32 window_id, [] Gfx::IntRect rect) =|  docs=["One-way message: no response expected"]
              SetWindowBitmap([] i32 window_id, [Bitmap] - bitmap) => ()  docs=["Method with complex types"]
              GetWindowRect([] i32 window_id) => ([] Gfx::IntRect rect)  docs=["Get window properties"]
        "#]],
    );
}

#[test]
fn image_decoder() {
    check_fixture(
        "ImageDecoder.ipc",
        expect![[r#"
            endpoint ImageDecoder magic=2287335486
              DecodeImage([File] - image_file) => ([Bitmap] - decoded_bitmap)  docs=["Pass file descriptor for shared memory"]
        "#]],
    );
}

#[test]
fn both_together() {
    let checked = check(&[fixture("WindowServer.ipc"), fixture("ImageDecoder.ipc")]);
    assert!(!checked.has_errors());
    assert_eq!(checked.warning_count(), 0);
}
