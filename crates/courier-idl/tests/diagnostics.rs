//! Golden diagnostics: each `tests/diagnostics/NAME.ipc` (or each directory
//! `tests/diagnostics/NAME/` of files compiled together) is checked, and the
//! rendered diagnostics must equal `tests/diagnostics/NAME.stderr`.
//!
//! `UPDATE_EXPECT=1 cargo test -p courier-idl --test diagnostics` rewrites
//! the `.stderr` files; review the diff.

use std::path::{Path, PathBuf};

use courier_idl::{SourceFile, check};
use expect_test::expect_file;

struct Case {
    name: String,
    files: Vec<SourceFile>,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics")
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    entries
}

fn is_ipc(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "ipc")
}

/// Reads a file as bytes, as a tool would: some cases are not UTF-8.
fn source(path: &Path, shown_as: String) -> SourceFile {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    SourceFile::from_bytes(shown_as, &bytes)
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for path in sorted_entries(&cases_dir()) {
        let name = path
            .file_stem()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            let files = sorted_entries(&path)
                .into_iter()
                .filter(|p| is_ipc(p))
                .map(|p| {
                    let file = p
                        .file_name()
                        .expect("file name")
                        .to_string_lossy()
                        .into_owned();
                    source(&p, format!("{name}/{file}"))
                })
                .collect();
            cases.push(Case { name, files });
        } else if is_ipc(&path) {
            let file = source(&path, format!("{name}.ipc"));
            cases.push(Case {
                name,
                files: vec![file],
            });
        }
    }
    cases
}

#[test]
fn rendered_diagnostics_match_the_stderr_files() {
    let cases = cases();
    assert!(cases.len() >= 15, "only {} golden cases", cases.len());
    for case in &cases {
        let rendered = check(&case.files).render_diagnostics();
        expect_file![cases_dir().join(format!("{}.stderr", case.name))].assert_eq(&rendered);
    }
}

#[test]
fn every_stderr_file_has_its_case() {
    let names: Vec<String> = cases().into_iter().map(|c| c.name).collect();
    for path in sorted_entries(&cases_dir()) {
        if path.extension().is_some_and(|ext| ext == "stderr") {
            let stem = path
                .file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            assert!(names.contains(&stem), "{} has no .ipc case", path.display());
        }
    }
}

/// Apart from the cases meant to be clean or to only warn, every case
/// must fail: a golden file of an accepted case would prove nothing.
#[test]
fn malformed_cases_have_errors() {
    const NOT_ERRORS: [&str; 6] = [
        "empty",
        "message_attributes",
        "misspelled_templates",
        "near_builtin_types",
        "routing_type_mismatch",
        "unknown_attribute",
    ];
    for case in cases() {
        let checked = check(&case.files);
        let expected = !NOT_ERRORS.contains(&case.name.as_str());
        assert_eq!(checked.has_errors(), expected, "case {}", case.name);
    }
}
