//! The constructs of SerenityOS-family files outside the 36-file corpus:
//! older SerenityOS (explicit magics, `Gfx::Rect`), Ladybird (routed
//! endpoints, `[NotRouted]`, user templates such as `NonnullRefPtr<T
//! const>`) and integer attribute values. Each `tests/dialects/*.ipc` file
//! is written for this test; each must check without errors, print back to
//! text that parses to the same meaning, and mean what the assertions say.

use std::path::{Path, PathBuf};

use courier_idl::ast::{Endpoint, IpcFile, Param};
use courier_idl::types::{self, GfxType, IdlType};
use courier_idl::{SourceFile, check, parse, print};

fn dialect(name: &str) -> (String, IpcFile) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/dialects")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let checked = check(&[SourceFile::new(name, text.clone())]);
    assert!(
        !checked.has_errors(),
        "{name}:\n{}",
        checked.render_diagnostics()
    );
    (text, checked.files[0].ast.clone())
}

fn endpoint<'a>(file: &'a IpcFile, name: &str) -> &'a Endpoint {
    file.endpoints
        .iter()
        .find(|e| e.name.name == name)
        .unwrap_or_else(|| panic!("no endpoint {name}"))
}

fn resolved(param: &Param) -> IdlType {
    types::resolve(param).unwrap_or_else(|e| panic!("{}: {e}", param.name.name))
}

/// Printing and parsing again keeps the endpoints, their magics and what
/// every parameter means.
fn assert_reprints(name: &str, file: &IpcFile) {
    let printed = print(file);
    let (again, diagnostics) = parse(&printed);
    assert!(diagnostics.is_empty(), "{name}: {diagnostics:?}\n{printed}");
    let meaning = |file: &IpcFile| -> Vec<(String, u32, Vec<Vec<IdlType>>)> {
        file.endpoints
            .iter()
            .map(|e| {
                let messages = e
                    .messages
                    .iter()
                    .map(|m| m.params.iter().map(resolved).collect())
                    .collect();
                (e.name.name.clone(), e.magic(), messages)
            })
            .collect()
    };
    assert_eq!(meaning(&again), meaning(file), "{name}:\n{printed}");
    assert_eq!(print(&again), printed, "{name}: not a fixed point");
}

#[test]
fn every_dialect_file_checks_and_reprints() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dialects");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    names.sort();
    assert_eq!(names.len(), 5, "the dialect files");
    for path in names {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let (_, file) = dialect(&name);
        assert_reprints(&name, &file);
    }
}

#[test]
fn an_explicit_magic_replaces_the_hash() {
    let (_, file) = dialect("explicit_magic.ipc");
    assert_eq!(endpoint(&file, "Mixer").magic(), 85);
    assert_eq!(endpoint(&file, "Tuner").magic(), 0x56);
    let remote = endpoint(&file, "Remote");
    assert_eq!(remote.explicit_magic, None);
    assert_eq!(remote.magic(), courier_idl::magic::endpoint_magic("Remote"));
    // The printer writes the number in decimal.
    assert!(print(&file).contains("endpoint Tuner = 86\n"));
}

#[test]
fn explicit_magics_collide_like_hashes() {
    let checked = check(&[
        SourceFile::new("a.ipc", "endpoint WindowServer = 2 {}\n"),
        SourceFile::new("b.ipc", "endpoint Clipboard = 2 {}\n"),
    ]);
    assert_eq!(
        checked.files[1].diagnostics[0].message,
        "endpoint `Clipboard` has the magic 2 of endpoint `WindowServer`"
    );
}

#[test]
fn a_routed_endpoint_keeps_its_routing_and_message_attributes() {
    let (_, file) = dialect("routed.ipc");
    let host = endpoint(&file, "TabHost");
    let routing = host.routing.as_ref().expect("routed");
    assert_eq!(routing.ty.to_string(), "Tabs::TabId");
    assert_eq!(routing.name.name, "tab_id");
    let not_routed: Vec<&str> = host
        .messages
        .iter()
        .filter(|m| m.has_attr("NotRouted"))
        .map(|m| m.name.name.as_str())
        .collect();
    assert_eq!(not_routed, ["open_tab", "count_tabs"]);
    // The attribute on a line of its own still takes the comment above it
    // as the message's docs.
    let open_tab = &host.messages[1];
    assert_eq!(
        open_tab.docs,
        ["The tab does not exist yet, so this one goes to the host itself."]
    );
    // Routing changes neither the magic nor the ids.
    assert_eq!(host.magic(), courier_idl::magic::endpoint_magic("TabHost"));
    assert_eq!(
        courier_idl::compare::message_signatures(host)[4],
        "7 title([] Tabs::TabId tab_id) => ([] String title)"
    );
}

#[test]
fn user_templates_resolve_to_user_types_with_their_arguments() {
    let (_, file) = dialect("user_templates.ipc");
    let frames = endpoint(&file, "Frames");
    let present: Vec<IdlType> = frames.messages[0].params.iter().map(resolved).collect();
    assert_eq!(
        present,
        [
            IdlType::User {
                path: "NonnullRefPtr<Video::Frame>".to_string()
            },
            IdlType::User {
                path: "RefPtr<Video::Surface>".to_string()
            },
        ]
    );
    let history = &frames.messages[1];
    assert_eq!(
        resolved(&history.params[0]),
        IdlType::User {
            path: "Ring<Vector<u8>, 64>".to_string()
        }
    );
    let courier_idl::ast::MessageKind::Request { results } = &history.kind else {
        panic!("history is a request");
    };
    assert_eq!(
        resolved(&results[0]),
        IdlType::Optional(Box::new(IdlType::User {
            path: "Shared<Video::Frame>".to_string()
        }))
    );
}

#[test]
fn the_gfx_names_of_2019_are_the_integer_types() {
    let (_, file) = dialect("old_gfx_names.ipc");
    let canvas = endpoint(&file, "Canvas");
    assert_eq!(canvas.magic(), 2);
    let moved: Vec<IdlType> = canvas.messages[1].params.iter().map(resolved).collect();
    assert_eq!(
        moved,
        [
            IdlType::I32,
            IdlType::Gfx(GfxType::IntPoint),
            IdlType::Gfx(GfxType::IntSize)
        ]
    );
}

#[test]
fn integer_attribute_values_are_kept_as_written() {
    let (text, file) = dialect("attribute_values.ipc");
    let send = &endpoint(&file, "Uploads").messages[0];
    let values: Vec<Option<&str>> = send
        .params
        .iter()
        .flat_map(|p| &p.attrs)
        .map(|a| a.value.as_ref().map(|v| v.name.as_str()))
        .collect();
    assert_eq!(values, [Some("16"), None, Some("0x100000")]);
    // Unknown attributes stay warnings, on messages as on parameters.
    let checked = check(&[SourceFile::new("attribute_values.ipc", text)]);
    let warnings: Vec<&str> = checked.files[0]
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        warnings,
        [
            "unknown message attribute `Throttled`",
            "unknown attribute `Limit`",
            "unknown attribute `Trusted`",
            "unknown attribute `Limit`",
        ]
    );
}
