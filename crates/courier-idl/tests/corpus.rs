//! The SerenityOS interface corpus: every file must parse and check clean,
//! with the message counts and endpoint magics of the upstream compiler.

use std::path::Path;

use courier_idl::ast::MessageKind;
use courier_idl::{SourceFile, check};
use courier_testdata::ipc_files;

fn load_corpus(dir: &Path) -> Vec<SourceFile> {
    ipc_files(dir)
        .iter()
        .map(|path| {
            let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            SourceFile::new(name, text)
        })
        .collect()
}

#[test]
fn every_corpus_file_parses_and_checks_clean_together() {
    let Some(dir) = courier_testdata::serenity_ipc("the SerenityOS corpus") else {
        return;
    };
    let sources = load_corpus(&dir);
    let checked = check(&sources);
    assert_eq!(
        checked.render_diagnostics(),
        "",
        "the corpus must check without errors or warnings"
    );

    let endpoints: Vec<_> = checked
        .files
        .iter()
        .flat_map(|f| &f.ast.endpoints)
        .collect();
    let messages: Vec<_> = endpoints.iter().flat_map(|e| &e.messages).collect();
    let requests = messages.iter().filter(|m| m.is_request()).count();
    let one_way = messages
        .iter()
        .filter(|m| m.kind == MessageKind::OneWay)
        .count();
    assert_eq!(
        (
            sources.len(),
            endpoints.len(),
            messages.len(),
            requests,
            one_way
        ),
        (36, 36, 506, 180, 326),
        "(files, endpoints, messages, `=>`, `=|`)"
    );
}

#[test]
fn every_corpus_file_parses_alone_without_diagnostics() {
    let Some(dir) = courier_testdata::serenity_ipc("the SerenityOS corpus") else {
        return;
    };
    for source in load_corpus(&dir) {
        let (file, diagnostics) = courier_idl::parse(&source.text);
        assert!(diagnostics.is_empty(), "{}: {diagnostics:?}", source.name);
        assert_eq!(file.endpoints.len(), 1, "{}", source.name);
    }
}

#[test]
fn endpoint_magics_match_serenity() {
    let Some(dir) = courier_testdata::serenity_ipc("the SerenityOS corpus") else {
        return;
    };
    let checked = check(&load_corpus(&dir));
    let magic_of = |name: &str| {
        let endpoint = checked
            .files
            .iter()
            .flat_map(|f| &f.ast.endpoints)
            .find(|e| e.name.name == name)
            .unwrap_or_else(|| panic!("no endpoint {name} in the corpus"));
        endpoint.magic()
    };
    assert_eq!(magic_of("ClipboardClient"), 4008793515);
    assert_eq!(magic_of("ClipboardServer"), 1329211611);
    assert_eq!(magic_of("LookupServer"), 3613307456);
}

#[test]
fn corpus_details_survive_parsing() {
    let Some(dir) = courier_testdata::serenity_ipc("the SerenityOS corpus") else {
        return;
    };
    let checked = check(&load_corpus(&dir));
    let all_files = || checked.files.iter();
    let directives = all_files().flat_map(|f| &f.ast.directives).count();
    assert!(directives > 0, "the corpus has `#include` lines");
    assert!(
        all_files().all(|f| f
            .ast
            .directives
            .iter()
            .all(|d| d.text.starts_with("#include <"))),
        "directives are kept verbatim"
    );
    let lookup = all_files()
        .flat_map(|f| &f.ast.endpoints)
        .find(|e| e.name.name == "LookupServer")
        .expect("LookupServer");
    assert_eq!(
        lookup.docs,
        [
            "Keep the name synchronized with LibC/netdb.cpp, constant 'lookup_server_endpoint_magic'."
        ]
    );
    assert_eq!(
        lookup.messages[0].docs,
        ["Keep these definitions synchronized with gethostbyname and gethostbyaddr in netdb.cpp"]
    );
    let leading_colons = all_files()
        .flat_map(|f| &f.ast.endpoints)
        .flat_map(|e| &e.messages)
        .flat_map(|m| &m.params)
        .filter_map(|p| p.ty.as_ref())
        .any(|t| t.leading_colons && t.path() == "WindowServer::ScreenLayout");
    assert!(
        leading_colons,
        "`::WindowServer::ScreenLayout` keeps its leading `::`"
    );
}
