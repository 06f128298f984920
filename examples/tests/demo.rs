//! The README's demo runs, exits with 0, and says what it did.

use std::process::Command;

fn run_demo(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the demo failed with {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

fn assert_lines(stdout: &str, expected: &[&str]) {
    for line in expected {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
}

const KEY_LINES: &[&str] = &[
    "CreateWindow(640x480 at (40, 30), \"Editor\") -> window 1",
    "CreateWindow(320x200 at (700, 30), \"Terminal\") -> window 2",
    "InvalidateRect(window 1, 100x100 at (600, 400)): queued, no reply",
    "GetWindowRect(window 1) -> 640x480 at (40, 30) (1 event queued meanwhile)",
    "Paint(window 1, 40x80 at (600, 400))",
    "250.0 KiB of pixels stayed in shared memory, the socket carried 1 fd and",
    "the pixels were not copied",
    "GetWindowRect(window 99) -> remote error: no window 99",
    "DecodeImage([File] sunset.ppm) -> 96x64 bitmap",
    "pixel (0, 0) = #ff8000ff",
    "\ndone in ",
];

#[test]
fn the_demo_runs_against_the_blocking_server() {
    let stdout = run_demo(&[]);
    assert_lines(&stdout, KEY_LINES);
    assert_lines(
        &stdout,
        &[
            "(blocking server, pid ",
            "stopped: served 2 clients on blocking connections, 0 errors",
        ],
    );
    // Every step says how long it took.
    let steps = stdout.lines().filter(|line| line.contains(" µs  ")).count();
    assert_eq!(steps, 12, "{stdout}");
}

#[test]
fn the_demo_runs_against_the_tokio_server() {
    let stdout = run_demo(&["tokio"]);
    assert_lines(&stdout, KEY_LINES);
    assert_lines(
        &stdout,
        &[
            "(tokio server, pid ",
            "stopped: served 2 clients on tokio connections, 0 errors",
        ],
    );
}

#[test]
fn a_wrong_argument_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .arg("fast")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: unknown server flavour `fast`\nusage: demo [blocking|tokio]\n"
    );
}

/// Logging to a broken stderr must not take a process down: with
/// `IPC_TRACE=1` and stderr on `/dev/full` (every write fails), both the
/// client and its server child log on every message, and the demo still
/// completes. (tracing-subscriber reports a failed write with `eprintln!`,
/// which panics; `init_tracing_from_env` drops such lines instead.)
#[test]
fn tracing_to_a_broken_stderr_does_not_panic_either_process() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("skipped: /dev/full is not available here");
        return;
    };
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env("IPC_TRACE", "1")
        .stderr(full)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the demo failed with {} when stderr is broken:\n{stdout}",
        output.status
    );
    assert_lines(&stdout, KEY_LINES);
}
