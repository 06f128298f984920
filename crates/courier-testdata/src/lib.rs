//! Where courier's tests find the shared corpora, read in place and never
//! copied into the project: the SerenityOS `.ipc` files
//! (`corpus/serenity-ipc`), PngSuite (`corpus/pngsuite`) and the project's
//! overview (`seed/`).
//!
//! The shared directory is `$COURIER_SHARED_DIR` when set, else `shared`
//! beside the workspace (`<workspace>/../shared`). Where it is absent (a
//! user's clone), a test that needs it prints a notice naming what it skips
//! and returns. Where `$COURIER_REQUIRE_SHARED` is `1` (CI sets it when the
//! directory is there), an absent corpus fails the test instead, so a broken
//! path can never turn the corpus tests into silent no-ops.
//!
//! ```no_run
//! let Some(corpus) = courier_testdata::serenity_ipc("the corpus round trip") else {
//!     return; // skipped, with a notice on stderr
//! };
//! for file in courier_testdata::ipc_files(&corpus) {
//!     println!("{}", file.display());
//! }
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

use std::path::{Path, PathBuf};

/// The variable that points at the shared directory.
pub const SHARED_DIR_ENV: &str = "COURIER_SHARED_DIR";

/// The variable that turns a missing corpus from a skip into a failure.
pub const REQUIRE_ENV: &str = "COURIER_REQUIRE_SHARED";

/// The shared directory: `$COURIER_SHARED_DIR`, else `<workspace>/../shared`
/// (which may not exist).
pub fn shared_root() -> PathBuf {
    match std::env::var_os(SHARED_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// `relative` under the shared directory when it exists. When it does not:
/// `None` after a notice naming `what` is skipped, or a panic when
/// `$COURIER_REQUIRE_SHARED=1`.
pub fn shared(relative: &str, what: &str) -> Option<PathBuf> {
    let path = shared_root().join(relative);
    if path.exists() {
        return Some(path);
    }
    let required = std::env::var_os(REQUIRE_ENV).is_some_and(|value| value == "1");
    assert!(
        !required,
        "{what} needs {} but it is absent, and {REQUIRE_ENV}=1 says it must be there; set {SHARED_DIR_ENV} to the shared directory",
        path.display()
    );
    eprintln!(
        "skipping {what}: {} is absent (set {SHARED_DIR_ENV} to the shared directory)",
        path.display()
    );
    None
}

/// The SerenityOS `.ipc` corpus (`corpus/serenity-ipc`); see [`shared`].
pub fn serenity_ipc(what: &str) -> Option<PathBuf> {
    shared("corpus/serenity-ipc", what)
}

/// PngSuite (`corpus/pngsuite`); see [`shared`].
pub fn pngsuite(what: &str) -> Option<PathBuf> {
    shared("corpus/pngsuite", what)
}

/// The text of the project overview (`seed/000_*`); see [`shared`].
pub fn overview(what: &str) -> Option<String> {
    let seed = shared("seed", what)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&seed)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", seed.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("000_"))
        })
        .collect();
    files.sort();
    let first = files
        .first()
        .unwrap_or_else(|| panic!("no 000_* overview in {}", seed.display()));
    Some(
        std::fs::read_to_string(first)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", first.display())),
    )
}

/// Every `.ipc` file under `dir`, recursively, in sorted order.
pub fn ipc_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    collect(dir, &mut found);
    found
}

fn collect(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_found_beside_the_workspace_or_skipped() {
        // Here the directory may or may not exist; what must hold is that a
        // found corpus has .ipc files in it.
        if let Some(corpus) = serenity_ipc("the locator's own test") {
            assert!(ipc_files(&corpus).len() >= 30, "{}", corpus.display());
        }
    }
}
