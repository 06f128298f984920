//! The interfaces in `ipc/` declare SerenityOS's Clipboard messages: same
//! endpoints, messages, order, kinds, parameter types and names, so the
//! magics and ids match. Compared against the corpus in `../shared` when it
//! is there.

use std::path::Path;

use courier_idl::ast::IpcFile;

fn parse(path: &Path) -> IpcFile {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let (file, diagnostics) = courier_idl::parse(&text);
    assert!(
        diagnostics.is_empty(),
        "{} does not parse: {diagnostics:?}",
        path.display()
    );
    file
}

#[test]
fn clipboard_interfaces_match_serenityos() {
    let Some(corpus) = courier_testdata::serenity_ipc("the comparison with SerenityOS's Clipboard")
    else {
        return;
    };
    let theirs_dir = corpus.join("Userland/Services/Clipboard");
    let ours_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ipc");
    for file in ["ClipboardServer.ipc", "ClipboardClient.ipc"] {
        let ours = parse(&ours_dir.join(file));
        let theirs = parse(&theirs_dir.join(file));
        let differences = courier_idl::compare::differences(&ours, &theirs);
        assert!(
            differences.is_empty(),
            "{file}:\n{}",
            differences.join("\n")
        );
        assert!(!ours.endpoints.is_empty(), "{file} declares no endpoint");
    }
}

#[test]
fn magics_are_serenityos_values() {
    use courier::Endpoint as _;
    use courier_clipboardd::clipboard_client::ClipboardClient;
    use courier_clipboardd::clipboard_server::{ClipboardServer, ids};
    assert_eq!(ClipboardClient::MAGIC, 4008793515);
    assert_eq!(ClipboardServer::MAGIC, 1329211611);
    assert_eq!(ids::GET_CLIPBOARD_DATA, 1);
    assert_eq!(ids::GET_CLIPBOARD_DATA_RESPONSE, 2);
    assert_eq!(ids::SET_CLIPBOARD_DATA, 3);
}
