//! The seed corpora and every past finding, run as regression tests: each
//! file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` (at the
//! workspace root) goes through its target function, and so does every seed
//! built in code.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The targets check that every fd they made is closed by number after
/// each input, which another test's thread opening an fd meanwhile (taking
/// a just-freed number) would fail: every test of this file takes turns,
/// those that only read the corpus directories too (a directory being
/// listed is an open fd).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted.
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("read a corpus entry").path())
        .filter(|path| path.is_file())
        // `.gitkeep` and the like are not inputs.
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

fn run_files(kind: &str, target: &str) -> usize {
    let files = files(kind, target);
    for path in &files {
        let data = std::fs::read(path).expect("read a corpus file");
        eprintln!("{target}: {}", path.display());
        courier_fuzz::run(target, &data);
    }
    files.len()
}

#[test]
fn every_target_has_a_checked_in_seed_corpus() {
    let _turn = one_at_a_time();
    for target in courier_fuzz::TARGETS {
        let count = files("corpus", target).len();
        assert!(
            count >= 3,
            "fuzz/corpus/{target}/ holds {count} files; expected at least 3"
        );
    }
}

#[test]
fn idl_corpus_and_regressions() {
    let _turn = one_at_a_time();
    assert!(run_files("corpus", "idl") > 0);
    run_files("regressions", "idl");
}

#[test]
fn decode_corpus_and_regressions() {
    let _turn = one_at_a_time();
    assert!(run_files("corpus", "decode") > 0);
    run_files("regressions", "decode");
    for (_, data) in courier_fuzz::seeds::seeds("decode") {
        courier_fuzz::decode(&data);
    }
}

#[test]
fn proto_corpus_and_regressions() {
    let _turn = one_at_a_time();
    assert!(run_files("corpus", "proto") > 0);
    run_files("regressions", "proto");
    for (_, data) in courier_fuzz::seeds::seeds("proto") {
        courier_fuzz::proto(&data);
    }
}

#[test]
fn roundtrip_corpus_and_regressions() {
    let _turn = one_at_a_time();
    assert!(run_files("corpus", "roundtrip") > 0);
    run_files("regressions", "roundtrip");
    for (_, data) in courier_fuzz::seeds::seeds("roundtrip") {
        courier_fuzz::roundtrip(&data);
    }
}

#[test]
fn the_targets_survive_edge_inputs() {
    let _turn = one_at_a_time();
    for target in courier_fuzz::TARGETS {
        courier_fuzz::run(target, &[]);
        courier_fuzz::run(target, &[0xff; 64]);
        courier_fuzz::run(target, &[0; 300]);
        for first in 0..=255u8 {
            courier_fuzz::run(target, &[first, 3, 1, 0xff, 0xff, 1, 2, 3]);
        }
    }
}

#[test]
#[should_panic(expected = "no fuzz target")]
fn an_unknown_target_is_refused() {
    let _turn = one_at_a_time();
    courier_fuzz::run("nope", b"");
}

/// Rewrites the code-built seeds into `fuzz/corpus/`, and copies the example
/// interfaces into `fuzz/corpus/idl/`. Run after changing the seeds:
/// `cargo test -p courier-fuzz --test corpus -- --ignored write_seed_corpus`.
#[test]
#[ignore = "writes into the source tree; run by hand after changing the seeds"]
fn write_seed_corpus() {
    let _turn = one_at_a_time();
    for target in courier_fuzz::TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        for (name, data) in courier_fuzz::seeds::seeds(target) {
            std::fs::write(dir.join(name), data).expect("write a seed");
        }
    }
    let ipc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ipc");
    let idl = fuzz_dir().join("corpus/idl");
    for entry in std::fs::read_dir(ipc).expect("examples/ipc") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().expect("a file name");
        std::fs::copy(&path, idl.join(name)).expect("copy an interface");
    }
}
