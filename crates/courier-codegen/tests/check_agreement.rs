//! `courier check` and `courier compile` agree: a file the checks accept
//! generates code, so codegen's own errors stay a safety net that checked
//! input never reaches.

use std::path::{Path, PathBuf};

use courier_idl::{SourceFile, check};

/// Checks `text` alone and generates code from it unless it has errors;
/// whether the checks found errors.
fn check_then_generate(name: &str, text: &str) -> bool {
    let checked = check(&[SourceFile::new(name, text)]);
    if checked.has_errors() {
        return true;
    }
    let file = &checked.files[0];
    if let Err(error) = courier_codegen::generate(&file.ast, &courier_codegen::Options::new()) {
        panic!(
            "{name} passes the checks but codegen rejects it:\n{}\n--- {name}\n{text}",
            error.render(&file.name, &file.text)
        );
    }
    false
}

/// Every file that codegen used to reject although the checks passed it.
#[test]
fn what_codegen_rejects_the_checks_reject() {
    let cases = [
        "endpoint Echo {\n    echo() =|\n}\n",
        "endpoint Echo {\n    Echo() => ()\n}\n",
        "endpoint Echo {\n    echo_message() =|\n}\n",
        "endpoint GetResponse {\n    get() => ()\n}\n",
        "endpoint WindowServer {}\nendpoint window_server {}\n",
        "endpoint _1 {}\n",
        "endpoint __ {}\n",
        "endpoint E {\n    _1x() =|\n}\n",
        "endpoint E {\n    a(i32 _) =|\n}\n",
        "endpoint E {\n    a() => (i32 __)\n}\n",
        "endpoint E {\n    a(_::Thing t) =|\n}\n",
        "endpoint E {\n    a(Variant<i32> v) =|\n}\n",
        "endpoint E {\n    a(Variant<i8, i16, i32, i64, u8, u16, u32> v) =|\n}\n",
        "endpoint E {\n    a(Foo<Vector<i32, i32>> v) =|\n}\n",
        "endpoint E {\n    a(_<i32> v) =|\n}\n",
        "endpoint E {\n    a(Foo<_::Bar> v) =|\n}\n",
        "endpoint E = 4294967296 {}\n",
        "endpoint E routed by Vector<i32, i32> ids {}\n",
        "endpoint E {\n    a(i32<u8> v) =|\n}\n",
        "endpoint E {\n    a([UTF8] i32 v) =|\n}\n",
        "endpoint E {\n    a([File] i32 v) =|\n}\n",
        "endpoint E {\n    a([Bitmap] IPC::File v) =|\n}\n",
        "endpoint E {\n    a() => ([UTF8] Vector<ByteString> v)\n}\n",
        "endpoint Echo {\n    EchoHandler() =|\n}\n",
        "endpoint Echo {\n    echo_service() =|\n}\n",
        "endpoint Echo {\n    echo_async_client() =|\n}\n",
        "endpoint Echo {\n    echo_sender() =|\n}\n",
        "endpoint E {\n    clone() =|\n    clone_message() =|\n}\n",
        "endpoint E {\n    with_timeout_message() =|\n    WithTimeout() => ()\n}\n",
    ];
    for text in cases {
        assert!(
            check_then_generate("case.ipc", text),
            "the checks accept:\n{text}"
        );
    }
}

/// The constructs of other SerenityOS-family files pass both: user
/// templates (with `const` and integer arguments), explicit magics, routed
/// endpoints and message attributes.
#[test]
fn what_other_dialects_write_generates() {
    let cases = [
        "endpoint E {\n    a(Foo<i32> v) =|\n}\n",
        "endpoint E {\n    a(Vector<Web::Thing<i32>> v) =|\n}\n",
        "endpoint E {\n    a(NonnullRefPtr<Web::Frame const> f, Ring<u8, 0x10> r) =|\n}\n",
        "endpoint E = 2 {\n    Greet() => (i32 client_id, Gfx::Rect rect)\n}\n",
        "endpoint E routed by Web::PageId page_id {\n    \
         [NotRouted] make(Web::PageId page_id) => ()\n    go(Web::PageId page_id) =|\n}\n",
    ];
    for text in cases {
        assert!(
            !check_then_generate("dialect.ipc", text),
            "the checks reject:\n{text}"
        );
    }
}

/// Names and types built from awkward pieces, in every combination: each
/// file the checks accept must generate.
#[test]
fn awkward_names_either_fail_the_checks_or_generate() {
    let endpoints = ["Echo", "crate", "EchoMessage", "Foo_Response"];
    let messages = [
        "echo",
        "echo_message",
        "echo_client",
        "foo_response",
        "Self",
        "send",
        "send_message",
        "_1",
    ];
    let kinds = [" =|", " => ()"];
    let mut accepted = 0;
    let mut rejected = 0;
    for endpoint in endpoints {
        for first in messages {
            for second in messages {
                for kind in kinds {
                    let text = format!(
                        "endpoint {endpoint} {{\n    {first}(i32 self, i32 type){kind}\n    \
                         {second}() => (i32 crate_, i32 Self)\n}}\n"
                    );
                    if check_then_generate("names.ipc", &text) {
                        rejected += 1;
                    } else {
                        accepted += 1;
                    }
                }
            }
        }
    }
    // Both outcomes occur, so the loop tests something either way.
    assert!(accepted > 50, "{accepted} accepted");
    assert!(rejected > 50, "{rejected} rejected");
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The golden diagnostic cases of courier-idl (the files compiled together
/// in a directory are taken one by one): those without errors generate.
#[test]
fn the_diagnostic_cases_without_errors_generate() {
    let dir = workspace_root().join("crates/courier-idl/tests/diagnostics");
    let files = courier_testdata::ipc_files(&dir);
    assert!(files.len() > 20, "cases are missing from {}", dir.display());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.display().to_string();
        let source = SourceFile::from_bytes(name.clone(), &bytes);
        check_then_generate(&name, &source.text);
    }
}

/// The SerenityOS corpus passes the checks and generates.
#[test]
fn the_corpus_generates() {
    let Some(dir) = courier_testdata::serenity_ipc("generating the corpus") else {
        return;
    };
    let files = courier_testdata::ipc_files(&dir);
    assert_eq!(files.len(), 36, "corpus files in {}", dir.display());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        assert!(
            !check_then_generate(&name, &text),
            "{name} does not pass the checks"
        );
    }
}
