use std::path::{Path, PathBuf};

use super::*;

const SERVER: &str = "\
endpoint WindowServer
{
    CreateWindow(Gfx::IntRect rect, String title) => (i32 window_id)
}
";

const CLIENT: &str = "\
endpoint WindowClient
{
    Paint(i32 window_id, Gfx::IntRect rect) =|
}
";

/// A missing `=>` or `=|` on line 3.
const BAD: &str = "\
endpoint WindowServer
{
    CreateWindow(Gfx::IntRect rect, String title) (i32 window_id)
}
";

struct Run {
    result: Result<(), Error>,
    cargo: String,
    out_dir: PathBuf,
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn run(config: &mut Config, dir: &Path, files: &[PathBuf]) -> Run {
    let out_dir = dir.join("out");
    config.out_dir(&out_dir);
    let mut cargo = Vec::new();
    let result = config.compile_with(files, &mut cargo);
    Run {
        result,
        cargo: String::from_utf8(cargo).unwrap(),
        out_dir,
    }
}

#[test]
fn writes_one_file_per_input_and_tells_cargo_to_watch_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = write(dir.path(), "WindowServer.ipc", SERVER);
    let client = write(dir.path(), "WindowClient.ipc", CLIENT);
    let run = run(
        &mut Config::new(),
        dir.path(),
        &[server.clone(), client.clone()],
    );
    run.result.unwrap();

    assert!(
        run.cargo
            .contains(&format!("cargo:rerun-if-changed={}\n", server.display()))
    );
    assert!(
        run.cargo
            .contains(&format!("cargo:rerun-if-changed={}\n", client.display()))
    );
    // The crate under test has no build.rs, so none is announced.
    assert!(
        !run.cargo.contains("rerun-if-changed=build.rs"),
        "{}",
        run.cargo
    );

    let generated = std::fs::read_to_string(run.out_dir.join("WindowServer.rs")).unwrap();
    assert!(generated.starts_with(&courier_codegen::file_header(&server.display().to_string())));
    assert!(generated.contains("pub mod window_server {"), "{generated}");
    let generated = std::fs::read_to_string(run.out_dir.join("WindowClient.rs")).unwrap();
    assert!(generated.contains("pub struct Paint {"), "{generated}");
}

#[test]
fn config_options_reach_the_generated_code() {
    let dir = tempfile::tempdir().unwrap();
    let web = write(
        dir.path(),
        "Web.ipc",
        "endpoint Web { set(URL::URL url) =| }\n",
    );
    let mut config = Config::new();
    config.map_type("URL::URL", "url::Url").courier_path("::rt");
    let run = run(&mut config, dir.path(), &[web]);
    run.result.unwrap();
    let generated = std::fs::read_to_string(run.out_dir.join("Web.rs")).unwrap();
    assert!(generated.contains("pub url: url::Url,"), "{generated}");
    assert!(
        generated.contains("impl ::rt::Encode for Set {"),
        "{generated}"
    );
}

#[test]
fn errors_display_and_debug_as_the_rendered_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "Bad.ipc", BAD);
    let run = run(&mut Config::new(), dir.path(), std::slice::from_ref(&bad));
    let error = run.result.unwrap_err();

    let sources = [courier_idl::SourceFile::new(
        bad.display().to_string(),
        BAD.to_string(),
    )];
    let expected = courier_idl::check(&sources).render_diagnostics();
    assert!(
        expected.contains(&format!("{}:3:", bad.display())),
        "{expected}"
    );
    assert_eq!(error.to_string(), expected);
    // Debug starts on a line of its own: `main` prints `Error: ` before it.
    assert_eq!(format!("{error:?}"), format!("\n{expected}"));
    assert_eq!(error.diagnostics(), Some(expected.as_str()));
    assert!(
        !run.out_dir.exists(),
        "nothing is written when a file has errors"
    );
}

#[test]
fn endpoints_are_checked_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(dir.path(), "First.ipc", "endpoint Same {}\n");
    let second = write(dir.path(), "Second.ipc", "endpoint Same {}\n");
    let run = run(&mut Config::new(), dir.path(), &[first, second]);
    let error = run.result.unwrap_err();
    assert!(error.diagnostics().is_some(), "{error}");
}

#[test]
fn code_generation_errors_name_the_file() {
    // Checked files always generate; what is left for codegen to refuse is
    // a setting.
    let dir = tempfile::tempdir().unwrap();
    let server = write(dir.path(), "WindowServer.ipc", SERVER);
    let mut config = Config::new();
    config.courier_path("not a path");
    let run = run(&mut config, dir.path(), std::slice::from_ref(&server));
    let error = run.result.unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("error: courier_path: `not a path` is not a Rust path"),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "error: could not generate Rust from {}\n",
            server.display()
        )),
        "{text}"
    );
    assert_eq!(format!("{error:?}"), format!("\n{text}"));
    assert_eq!(error.diagnostics(), Some(text.as_str()));
}

#[test]
fn rust_name_clashes_are_check_diagnostics() {
    // The message `echo` would be the struct `Echo`, the endpoint's marker
    // type: the checks say so, before code generation.
    let dir = tempfile::tempdir().unwrap();
    let clash = write(dir.path(), "Clash.ipc", "endpoint Echo { echo() =| }\n");
    let run = run(&mut Config::new(), dir.path(), std::slice::from_ref(&clash));
    let text = run.result.unwrap_err().to_string();
    assert!(
        text.starts_with(
            "error: message `echo` has the Rust name `Echo` of the marker type of endpoint `Echo`\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("--> {}:1:17\n", clash.display())),
        "{text}"
    );
    assert!(!text.contains("could not generate"), "{text}");
}

#[test]
fn invalid_utf8_is_a_located_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Latin1.ipc");
    // `caf\xE9` is Latin-1 for `café`: not UTF-8. Line 3, column 11.
    std::fs::write(
        &path,
        b"endpoint Latin1\n{\n    // caf\xE9\n    ping() =|\n}\n",
    )
    .unwrap();
    let run = run(&mut Config::new(), dir.path(), std::slice::from_ref(&path));
    let error = run.result.unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("error: invalid UTF-8"), "{text}");
    assert!(
        text.contains(&format!("--> {}:3:11\n", path.display())),
        "{text}"
    );
    assert_eq!(error.diagnostics(), Some(text.as_str()));
    assert!(!run.out_dir.exists(), "nothing is written");
}

#[test]
fn two_files_with_one_stem_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::fs::create_dir(dir.path().join("b")).unwrap();
    let first = write(dir.path(), "a/X.ipc", "endpoint A {}\n");
    let second = write(dir.path(), "b/X.ipc", "endpoint B {}\n");
    let run = run(
        &mut Config::new(),
        dir.path(),
        &[first.clone(), second.clone()],
    );
    assert_eq!(
        run.result.unwrap_err().to_string(),
        format!(
            "`{}` and `{}` would both be written to `X.rs`; rename one, or compile them with two \
             `Config`s and different `out_dir`s",
            first.display(),
            second.display()
        )
    );
}

#[test]
fn a_missing_file_is_reported_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("Missing.ipc");
    let run = run(
        &mut Config::new(),
        dir.path(),
        std::slice::from_ref(&missing),
    );
    let error = run.result.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("cannot read `{}`: ", missing.display())),
        "{error}"
    );
}

#[test]
fn without_out_dir_outside_a_build_script_it_says_so() {
    if std::env::var_os("OUT_DIR").is_some() {
        eprintln!("skipped: OUT_DIR is set in this environment");
        return;
    }
    let mut cargo = Vec::new();
    let error = Config::new()
        .compile_with(&["x.ipc"], &mut cargo)
        .unwrap_err();
    assert!(
        error.to_string().starts_with("OUT_DIR is not set"),
        "{error}"
    );
}

#[test]
fn an_unchanged_output_is_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let server = write(dir.path(), "WindowServer.ipc", SERVER);
    let first = run(
        &mut Config::new(),
        dir.path(),
        std::slice::from_ref(&server),
    );
    first.result.unwrap();
    let target = first.out_dir.join("WindowServer.rs");
    let long_ago = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&target)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    let second = run(&mut Config::new(), dir.path(), &[server]);
    second.result.unwrap();
    assert_eq!(
        std::fs::metadata(&target).unwrap().modified().unwrap(),
        long_ago
    );
}

#[test]
fn warnings_become_cargo_warning_lines_and_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let source = "endpoint Odd { set([Shiny] i32 x) =| }\n";
    let odd = write(dir.path(), "Odd.ipc", source);
    let run = run(&mut Config::new(), dir.path(), std::slice::from_ref(&odd));
    run.result.unwrap();

    let sources = [courier_idl::SourceFile::new(
        odd.display().to_string(),
        source.to_string(),
    )];
    let rendered = courier_idl::check(&sources).render_diagnostics();
    assert!(rendered.contains("unknown attribute `Shiny`"), "{rendered}");
    let expected: String = rendered
        .lines()
        .map(|line| format!("cargo:warning={line}\n"))
        .collect();
    assert!(run.cargo.ends_with(&expected), "{}", run.cargo);
    assert!(run.out_dir.join("Odd.rs").is_file());
}

/// A user type a letter away from a built-in one still compiles (it may be
/// the user's own type), but cargo shows the suspicion before rustc fails
/// inside the generated file.
#[test]
fn a_misspelled_builtin_type_is_a_cargo_warning_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let source = "endpoint Kv\n{\n    Get(Strng key) => (Optinal value)\n}\n";
    let kv = write(dir.path(), "Kv.ipc", source);
    let run = run(&mut Config::new(), dir.path(), std::slice::from_ref(&kv));
    run.result.unwrap();
    let warnings: Vec<&str> = run
        .cargo
        .lines()
        .filter(|line| line.starts_with("cargo:warning="))
        .collect();
    assert!(
        warnings
            .iter()
            .any(|line| line.contains("did you mean `String`?")),
        "{}",
        run.cargo
    );
    assert!(
        warnings
            .iter()
            .any(|line| line.contains("did you mean `Optional`?")),
        "{}",
        run.cargo
    );
    let summary = format!("cargo:warning=warning: 2 warnings in {}\n", kv.display());
    assert!(run.cargo.ends_with(&summary), "{}", run.cargo);
    assert!(run.out_dir.join("Kv.rs").is_file());
}

/// What `fn main() -> Result<(), Box<dyn Error>>` prints for a failed build:
/// `Error: ` and the `Debug` of the error. The diagnostics' own `error: `
/// must not follow it on the same line.
#[test]
fn a_build_script_main_returning_the_error_prints_no_doubled_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "Bad.ipc",
        "endpoint Bad { f(Vector<i32, i32> v) =| }\n",
    );
    let run = run(&mut Config::new(), dir.path(), std::slice::from_ref(&bad));
    let error: Box<dyn std::error::Error> = Box::new(run.result.unwrap_err());
    let printed = format!("Error: {error:?}");
    let mut lines = printed.lines();
    assert_eq!(lines.next(), Some("Error: "), "{printed}");
    assert!(
        lines.next().is_some_and(|line| line.starts_with("error: ")),
        "{printed}"
    );
    assert!(!printed.contains("Error: error"), "{printed}");

    // An error that is no diagnostic reads as one line.
    let missing = dir.path().join("Missing.ipc");
    let run = self::run(&mut Config::new(), dir.path(), &[missing]);
    let printed = format!("Error: {:?}", run.result.unwrap_err());
    assert!(printed.starts_with("Error: cannot read `"), "{printed}");
}

const PLAYER: &str = "\
endpoint Player
{
    frame(Media::VideoSurface surface, RefPtr<Media::Track> track) =|
}
";

fn mapping_warnings(config: &mut Config) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let player = write(dir.path(), "Player.ipc", PLAYER);
    let run = run(config, dir.path(), &[player]);
    run.result.unwrap();
    assert!(run.out_dir.join("Player.rs").is_file());
    run.cargo
        .lines()
        .filter(|line| line.starts_with("cargo:warning="))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_mapping_that_matches_no_user_type_is_a_cargo_warning_with_a_suggestion() {
    let warnings = mapping_warnings(
        Config::new()
            .map_type("Media::VideoSurfce", "crate::VideoSurface")
            .map_type("Media::VideoSurfce", "crate::VideoSurface"),
    );
    assert_eq!(
        warnings,
        [
            "cargo:warning=warning: map_type(\"Media::VideoSurfce\", \"crate::VideoSurface\") \
             matched no user type of the compiled files; did you mean `Media::VideoSurface`?"
        ],
    );
}

#[test]
fn a_mapping_without_a_near_user_type_is_a_warning_without_a_suggestion() {
    let warnings = mapping_warnings(Config::new().map_type("Gfx::IntRect", "crate::Rect"));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("map_type(\"Gfx::IntRect\", \"crate::Rect\") matched no user type"),
        "{warnings:?}"
    );
    assert!(!warnings[0].contains("did you mean"), "{warnings:?}");
}

#[test]
fn mappings_of_user_types_templates_and_instances_are_used() {
    let warnings = mapping_warnings(
        Config::new()
            .map_type("::Media::VideoSurface", "crate::VideoSurface")
            .map_type("RefPtr", "std::sync::Arc")
            .map_type("RefPtr< Media::Track >", "std::sync::Arc<crate::Track>")
            .map_type("Media::Track", "crate::Track"),
    );
    assert_eq!(warnings, Vec::<String>::new());
}
