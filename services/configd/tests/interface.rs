//! configd's `.ipc` files declare what SerenityOS's do: the same endpoints,
//! the same messages in the same order, of the same kinds, with the same
//! parameter types and names, so the magics and message ids match.
//!
//! The reference files are in `../shared/corpus/serenity-ipc/` (beside the
//! workspace, or `$COURIER_SHARED_DIR`); without them the comparison is
//! skipped with a notice.

use std::path::PathBuf;

use courier_idl::ast::{IpcFile, MessageKind, Param};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("COURIER_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("../shared"),
    };
    dir.is_dir().then_some(dir)
}

fn parse(path: &std::path::Path) -> IpcFile {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (file, diagnostics) = courier_idl::parse_bytes(&bytes);
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    file
}

/// A message as the comparison sees it: name, kind, and each parameter
/// (and result) as `Type name`, attributes included.
fn describe(file: &IpcFile) -> Vec<(String, u32, Vec<String>)> {
    let param = |p: &Param| {
        let attrs: Vec<String> = p.attrs.iter().map(|a| a.name.name.clone()).collect();
        let ty = p.ty.as_ref().map(|t| t.to_string()).unwrap_or_default();
        format!("[{}] {ty} {}", attrs.join(","), p.name.name)
    };
    let mut out = Vec::new();
    for endpoint in &file.endpoints {
        out.push((
            format!("endpoint {}", endpoint.name.name),
            endpoint.magic(),
            Vec::new(),
        ));
        for message in &endpoint.messages {
            let mut parts: Vec<String> = message.params.iter().map(param).collect();
            match &message.kind {
                MessageKind::OneWay => parts.push("=|".to_owned()),
                MessageKind::Request { results } => {
                    parts.push("=>".to_owned());
                    parts.extend(results.iter().map(param));
                }
            }
            out.push((message.name.name.clone(), 0, parts));
        }
    }
    out
}

#[test]
fn interfaces_match_serenityos_message_by_message() {
    let Some(shared) = shared_dir() else {
        eprintln!(
            "skipped: no ../shared beside the workspace (set COURIER_SHARED_DIR) to compare with SerenityOS's ConfigServer"
        );
        return;
    };
    let theirs_dir = shared.join("corpus/serenity-ipc/Userland/Services/ConfigServer");
    let ours_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ipc");
    for name in ["ConfigServer.ipc", "ConfigClient.ipc"] {
        let theirs = describe(&parse(&theirs_dir.join(name)));
        let ours = describe(&parse(&ours_dir.join(name)));
        assert!(
            !theirs.is_empty(),
            "{name}: SerenityOS's file declares nothing"
        );
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{name}: a different number of endpoints and messages"
        );
        for (index, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "{name}: item {index} differs");
        }
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
