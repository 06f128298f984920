//! configd's `.ipc` files declare what SerenityOS's do: the same endpoints,
//! the same messages in the same order, of the same kinds, with the same
//! parameter types and names, so the magics and message ids match.
//!
//! The reference files are in `../shared/corpus/serenity-ipc/`, found by
//! `courier-testdata`; without them the comparison is skipped with a notice.

use std::path::PathBuf;

use courier_idl::ast::IpcFile;

fn parse(path: &std::path::Path) -> IpcFile {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (file, diagnostics) = courier_idl::parse_bytes(&bytes);
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    file
}

#[test]
fn interfaces_match_serenityos_message_by_message() {
    let Some(corpus) =
        courier_testdata::serenity_ipc("the comparison with SerenityOS's ConfigServer")
    else {
        return;
    };
    let theirs_dir = corpus.join("Userland/Services/ConfigServer");
    let ours_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ipc");
    for name in ["ConfigServer.ipc", "ConfigClient.ipc"] {
        let theirs = parse(&theirs_dir.join(name));
        let ours = parse(&ours_dir.join(name));
        assert!(
            !theirs.endpoints.is_empty(),
            "{name}: SerenityOS's file declares nothing"
        );
        let differences = courier_idl::compare::differences(&ours, &theirs);
        assert!(
            differences.is_empty(),
            "{name}:\n{}",
            differences.join("\n")
        );
    }
}

#[test]
fn generated_constants_are_serenityos_ones() {
    use courier::{Endpoint, Message};
    use courier_configd::config_client::{ConfigClient, NotifyAddedGroup};
    use courier_configd::config_server::{
        AddGroupEntry, ConfigServer, EnablePermissiveMode, ListConfigGroups,
    };

    assert_eq!(ConfigServer::NAME, "ConfigServer");
    assert_eq!(
        ConfigServer::MAGIC,
        courier_idl::magic::endpoint_magic("ConfigServer")
    );
    assert_eq!(
        ConfigClient::MAGIC,
        courier_idl::magic::endpoint_magic("ConfigClient")
    );
    // One-way messages take one id, requests two.
    assert_eq!(EnablePermissiveMode::ID, 1);
    assert_eq!(ListConfigGroups::ID, 4);
    assert_eq!(AddGroupEntry::ID, 28);
    assert_eq!(NotifyAddedGroup::ID, 7);
}
