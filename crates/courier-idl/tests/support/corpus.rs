//! Finding the SerenityOS corpus and its `.ipc` files, for the tests that
//! read it in place. Included with `#[path]` by courier-idl's tests and by
//! courier-value's.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `<workspace root>/../shared/corpus/serenity-ipc`, or the same under
/// `COURIER_SHARED_DIR`; `None` (with a notice) when it is absent.
pub fn corpus_dir() -> Option<PathBuf> {
    let shared = match std::env::var_os("COURIER_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    let corpus = shared.join("corpus/serenity-ipc");
    if corpus.is_dir() {
        Some(corpus)
    } else {
        eprintln!("skipping: no SerenityOS corpus at {}", corpus.display());
        None
    }
}

/// Every `.ipc` file under `dir`, recursively, in sorted order.
pub fn ipc_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    collect(dir, &mut found);
    found
}

fn collect(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "ipc") {
            found.push(path);
        }
    }
}
