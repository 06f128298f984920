//! Golden files: each `fixtures/X.ipc` is generated into `fixtures/X.rs`, so
//! every change to the generated code shows as a diff. Refresh them with
//! `UPDATE_EXPECT=1 cargo test -p courier-codegen --test fixtures`.

use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn generated_code_matches_the_fixtures() {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "ipc"))
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 3,
        "fixtures are missing from {}",
        fixtures().display()
    );

    for input in &inputs {
        let text = std::fs::read_to_string(input).unwrap();
        let name = input.file_name().unwrap().to_str().unwrap().to_string();
        let checked = courier_idl::check(&[courier_idl::SourceFile::new(name.clone(), text)]);
        assert!(!checked.has_errors(), "{}", checked.render_diagnostics());
        let options = courier_codegen::Options::new();
        let rust = courier_codegen::generate(&checked.files[0].ast, &options)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        syn::parse_file(&rust)
            .unwrap_or_else(|e| panic!("{name}: generated code does not parse: {e}"));
        expect_test::expect_file![input.with_extension("rs")].assert_eq(&rust);
    }
}

#[test]
fn every_golden_file_has_its_interface() {
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            assert!(
                path.with_extension("ipc").is_file(),
                "{} has no .ipc file: delete it",
                path.display()
            );
        }
    }
}
