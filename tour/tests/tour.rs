//! The tour as a user runs it: the binary, a temporary `--out`, exit code
//! 0, every step named, a `screen.png` of the screen's size; and the ways
//! out that must leave nothing behind (Ctrl-C, a failure).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const TOUR: &str = env!("CARGO_BIN_EXE_tour");

/// The step titles, in order, as the tour prints them.
const TITLES: [&str; 7] = [
    "Start the services, each in its own process",
    "configd: one client writes a setting, another is notified",
    "clipboardd: copy in one client, paste in another",
    "imaged: decode a PNG and an animated GIF in a confined process",
    "windowd: two clients draw overlapping windows; a screenshot",
    "List the live services",
    "Shut everything down",
];

fn tour(dir: &Path, args: &[&str]) -> Output {
    Command::new(TOUR)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the tour runs")
}

/// The pids of the daemons, from the lines of step 1.
fn daemon_pids(stdout: &str) -> Vec<u32> {
    stdout
        .lines()
        .filter(|line| line.contains("ready, listens as"))
        .filter_map(|line| {
            let after = line.split(" pid ").nth(1)?;
            after.split_whitespace().next()?.parse().ok()
        })
        .collect()
}

/// The private directory the daemons lived in (the portal's parent).
fn private_dir(stdout: &str) -> PathBuf {
    let line = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("private portal directory: "))
        .expect("the tour names its portal directory");
    Path::new(line).parent().unwrap().to_owned()
}

fn assert_left_nothing(stdout: &str) {
    let pids = daemon_pids(stdout);
    assert_eq!(pids.len(), 4, "four daemons in:\n{stdout}");
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "daemon {pid} outlived the tour"
        );
    }
    let dir = private_dir(stdout);
    assert!(!dir.exists(), "`{}` was not removed", dir.display());
}

#[test]
fn the_tour_runs_every_step_and_writes_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    // A directory that does not exist yet: the tour creates it.
    let out = dir.path().join("pictures");
    let output = tour(dir.path(), &["--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    for (index, title) in TITLES.iter().enumerate() {
        let header = format!("[{}/{}] {title}", index + 1, TITLES.len());
        assert!(stdout.contains(&header), "no `{header}` in:\n{stdout}");
    }
    assert!(stdout.contains("all 7 steps passed"), "{stdout}");
    for shown in [
        "A is notified",
        "the paster is told: text/plain",
        "4 frames, loops forever",
        "refused with a reason",
        "imaged still serves",
        "ImageDecoderServer",
        "exit status 0",
    ] {
        assert!(stdout.contains(shown), "no `{shown}` in:\n{stdout}");
    }

    let screen = out.join("screen.png");
    assert!(stdout.contains(&screen.canonicalize().unwrap().display().to_string()));
    let picture = image::open(&screen).expect("screen.png decodes");
    assert_eq!((picture.width(), picture.height()), (480, 320));
    // Nothing else lands in the current directory.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_left_nothing(&stdout);
}

#[test]
fn quiet_prints_only_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let output = tour(dir.path(), &["--quiet"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(!stdout.contains("[1/7]"), "{stdout}");
    assert!(stdout.starts_with("\nSummary\n"), "{stdout}");
    assert!(stdout.contains("all 7 steps passed"), "{stdout}");
    // The default --out is the current directory.
    assert!(dir.path().join("screen.png").is_file());
}

/// Runs the tour until it holds before `step`, and gives the child and
/// what it printed so far.
fn hold_before(dir: &Path, step: usize) -> (std::process::Child, String) {
    let mut child = Command::new(TOUR)
        .args(["--hold-before-step", &step.to_string()])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "{printed}");
        printed.push_str(&line);
        if line.starts_with("holding before step") {
            break;
        }
    }
    (child, printed)
}

#[test]
fn ctrl_c_stops_the_daemons_and_removes_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, printed) = hold_before(dir.path(), 3);
    // SIGINT to the tour alone (a terminal would signal the daemons too):
    // the tour itself must stop them.
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    // stdin stays open (`wait` would close it, which ends the hold and
    // takes the failure path instead).
    let stdin = child.stdin.take();
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(130), "{printed}");
    assert_left_nothing(&printed);
}

#[test]
fn a_failing_step_stops_the_daemons_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, printed) = hold_before(dir.path(), 2);
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{printed}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tour: stopped before step 2: stdin closed"),
        "{stderr}"
    );
    assert_left_nothing(&printed);
}

#[test]
fn the_daemon_mode_runs_the_daemons_own_command_line() {
    for (name, option) in [
        ("configd", "--config-dir"),
        ("clipboardd", "--max-size"),
        ("imaged", "--no-sandbox"),
        ("windowd", "--screen"),
    ] {
        let output = Command::new(TOUR)
            .args(["daemon", name, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{name}: {}", output.status);
        assert!(help.contains(&format!("Usage: {name}")), "{help}");
        assert!(help.contains(option), "{help}");
    }
    let output = Command::new(TOUR)
        .args(["daemon", "windowd", "--screen", "0x0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a screen size"));
}
