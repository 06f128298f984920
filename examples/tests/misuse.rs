//! Misuse that must not compile, does not: the type-safety claims of
//! courier, checked by the compiler itself.
//!
//! Each case is a pair of small crates written against the generated Echo
//! stubs of this crate: one that must compile, and the same with one line
//! changed that must not, with the error saying why. The first proves the
//! harness works (a broken harness fails every case instead of passing the
//! bad ones); the second is the claim. The crates are checked with the
//! `rustc` of this toolchain against the rlibs this test was built with
//! (`--emit=metadata`: type checking only, no code generation), and the
//! checks look for the error's code and key words, not its whole text, so a
//! newer compiler's wording does not break them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One claim: `good` compiles; `good` with `line` replaced by `bad` does
/// not, and its errors contain every string of `expect`.
struct Case {
    name: &'static str,
    good: &'static str,
    line: &'static str,
    bad: &'static str,
    expect: &'static [&'static str],
}

/// The preamble of every case: the generated modules and the runtime.
const PRELUDE: &str = "\
#![allow(dead_code, unused_imports, unused_variables, unused_must_use, clippy::all)]
use courier::blocking::BlockingConnection;
use courier_examples::echo_client::EchoClient;
use courier_examples::echo_server::{Echo, EchoServer, Push};
use courier_examples::other_server::{OtherServer, Ping};
";

const CASES: &[Case] = &[
    Case {
        name: "a message of another endpoint cannot be sent on a connection",
        good: "fn f(c: &BlockingConnection<EchoClient, EchoServer>) {
            c.send(&Push { value: 1 });
        }",
        line: "c.send(&Push { value: 1 });",
        bad: "c.send(&Ping);",
        expect: &["E0271", "OtherServer", "EchoServer"],
    },
    Case {
        name: "a server's connection cannot call its own endpoint's requests",
        good: "fn f(c: &BlockingConnection<EchoClient, EchoServer>) {
            let text: Result<String, courier::Error> =
                c.call(&Echo { text: String::new() }).map(|r| r.text);
        }",
        line: "fn f(c: &BlockingConnection<EchoClient, EchoServer>) {",
        bad: "fn f(c: &BlockingConnection<EchoServer, EchoClient>) {",
        expect: &["E0271", "EchoClient", "EchoServer"],
    },
    Case {
        name: "a one-way message cannot be called for a response",
        good: "fn f(c: &BlockingConnection<EchoClient, EchoServer>) {
            c.call(&Echo { text: String::new() });
        }",
        line: "c.call(&Echo { text: String::new() });",
        bad: "c.call(&Push { value: 1 });",
        expect: &["E0277", "Push", "one-way", "send"],
    },
    Case {
        name: "a plain value is not a message",
        good: "fn f(c: &BlockingConnection<EchoClient, EchoServer>) {
            c.send(&Push { value: 1 });
        }",
        line: "c.send(&Push { value: 1 });",
        bad: "c.send(&1_i32);",
        expect: &["E0277", "`i32` is not a message of a courier endpoint"],
    },
    Case {
        name: "a response has the type the interface gives it",
        good: "fn f(c: &BlockingConnection<EchoClient, EchoServer>) -> Result<String, courier::Error> {
            let text: String = c.call(&Echo { text: String::new() })?.text;
            Ok(text)
        }",
        line: "let text: String = c.call(&Echo { text: String::new() })?.text;",
        bad: "let text: i32 = c.call(&Echo { text: String::new() })?.text;",
        expect: &["E0308", "i32", "String"],
    },
    Case {
        name: "a user type without the derive cannot go into a message",
        good: "#[derive(courier::Encode, courier::Decode)]
        struct Inner { value: u32 }
        #[derive(courier::Encode, courier::Decode)]
        struct Outer { inner: Inner }",
        line: "#[derive(courier::Encode, courier::Decode)]\n        struct Inner",
        bad: "struct Inner",
        expect: &[
            "E0277",
            "`Inner` cannot be sent in a message: derive `courier::Encode` for it",
            "map_type",
        ],
    },
];

#[test]
fn misuse_does_not_compile() {
    let Some(toolchain) = Toolchain::find() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let failures: Vec<String> = std::thread::scope(|scope| {
        let checks: Vec<_> = CASES
            .iter()
            .enumerate()
            .map(|(index, case)| {
                let toolchain = &toolchain;
                let dir = dir.path().join(index.to_string());
                scope.spawn(move || toolchain.check_case(case, &dir).err())
            })
            .collect();
        checks
            .into_iter()
            .filter_map(|check| check.join().expect("a case's thread panicked"))
            .collect()
    });
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// The compiler, and the rlibs of `courier` and `courier_examples` this test
/// binary was linked with.
struct Toolchain {
    deps: PathBuf,
    examples: PathBuf,
    courier: PathBuf,
}

impl Toolchain {
    /// Finds the rlibs next to this test binary (`target/<profile>/deps`).
    /// Of several builds of `courier` (the feature sets of other packages'
    /// tests), takes the one `courier_examples` was compiled against: the
    /// one with which a case that must compile does.
    fn find() -> Option<Self> {
        let exe = std::env::current_exe().expect("the test binary's path");
        let deps = exe.parent().expect("the deps directory").to_path_buf();
        let examples = newest_first(&deps, "libcourier_examples-")
            .into_iter()
            .next()
            .expect("the courier_examples rlib beside the test binary");
        if Command::new("rustc").arg("--version").output().is_err() {
            // Cargo found one to build this test; a packager running the
            // binary elsewhere may not have one.
            eprintln!("skipped: no `rustc` on PATH to check the misuse cases with");
            return None;
        }
        let mut tried = Vec::new();
        for courier in newest_first(&deps, "libcourier-") {
            let toolchain = Self {
                deps: deps.clone(),
                examples: examples.clone(),
                courier,
            };
            let probe = tempfile::tempdir().expect("temp dir");
            match toolchain.check(&format!("{PRELUDE}\n{}", CASES[0].good), probe.path()) {
                Ok(()) => return Some(toolchain),
                Err(errors) => tried.push(format!("{}:\n{errors}", toolchain.courier.display())),
            }
        }
        if tried.iter().all(|errors| errors.contains("E0514")) {
            // The `rustc` on PATH is not the one cargo built with (a
            // toolchain override): its errors would say nothing of courier.
            eprintln!("skipped: the `rustc` on PATH did not build courier's rlibs (E0514)");
            return None;
        }
        panic!(
            "no build of courier in {} checks a case that must compile:\n{}",
            deps.display(),
            tried.join("\n")
        );
    }

    /// Checks both halves of `case` in `dir`.
    fn check_case(&self, case: &Case, dir: &Path) -> Result<(), String> {
        assert!(
            case.good.contains(case.line),
            "case `{}`: its good source lacks the line to change",
            case.name
        );
        let good = format!("{PRELUDE}\n{}", case.good);
        if let Err(errors) = self.check(&good, &dir.join("good")) {
            return Err(format!(
                "case `{}`: the source that must compile does not:\n{errors}",
                case.name
            ));
        }
        let bad = good.replacen(case.line, case.bad, 1);
        match self.check(&bad, &dir.join("bad")) {
            Ok(()) => Err(format!(
                "case `{}`: compiles with `{}`, which must not",
                case.name, case.bad
            )),
            Err(errors) => {
                let missing: Vec<_> = case
                    .expect
                    .iter()
                    .filter(|text| !errors.contains(*text))
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "case `{}`: the errors lack {missing:?}:\n{errors}",
                        case.name
                    ))
                }
            }
        }
    }

    /// Type-checks `source` as a library crate in `dir`; its errors when it
    /// does not compile.
    fn check(&self, source: &str, dir: &Path) -> Result<(), String> {
        fs::create_dir_all(dir).expect("case directory");
        let file = dir.join("lib.rs");
        fs::write(&file, source).expect("write the case");
        let output = Command::new("rustc")
            .args(["--edition", "2024", "--crate-type", "lib", "--crate-name"])
            .arg("misuse_case")
            .args(["--emit=metadata", "--color=never"])
            .arg("--out-dir")
            .arg(dir)
            .arg("-L")
            .arg(format!("dependency={}", self.deps.display()))
            .arg("--extern")
            .arg(format!("courier={}", self.courier.display()))
            .arg("--extern")
            .arg(format!("courier_examples={}", self.examples.display()))
            .arg(&file)
            .output()
            .expect("run rustc");
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

/// The `.rlib` files of `deps` whose names start with `prefix`, the most
/// recently built first.
fn newest_first(deps: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<_> = fs::read_dir(deps)
        .expect("read the deps directory")
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".rlib")
        })
        .map(|entry| {
            let modified = entry.metadata().and_then(|m| m.modified()).ok();
            (modified, entry.path())
        })
        .collect();
    found.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    found.into_iter().map(|(_, path)| path).collect()
}
