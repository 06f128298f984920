//! clipboardd across processes: the `clipboardd` binary in a child process,
//! clients in this one.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use courier::gfx::Color;
use courier::shm::{BitmapFormat, ShareableBitmap, SharedBuffer};
use courier_clipboardd::{BITMAP_MIME_TYPE, Clipboard, ClipboardChange, ClipboardError};

/// How long a test waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running `clipboardd`, killed when dropped.
struct Daemon {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start(extra: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let socket = dir.path().join("clipboard");
        let mut child = Command::new(env!("CARGO_BIN_EXE_clipboardd"))
            .arg("--socket")
            .arg(&socket)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("clipboardd starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("clipboardd's stdout is readable");
        assert_eq!(
            line.trim_end(),
            format!("ready {}", socket.display()),
            "clipboardd's readiness line"
        );
        Daemon {
            child,
            socket,
            _dir: dir,
        }
    }

    fn client(&self) -> Clipboard {
        Clipboard::connect_to(&self.socket).expect("a client connects")
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the daemon is still running.
    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("waitpid works").is_none()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn expect_change(clipboard: &Clipboard, mime_type: &str) {
    let change = clipboard
        .next_change(PATIENCE)
        .expect("the connection is open")
        .expect("a change notification in time");
    assert_eq!(
        change,
        ClipboardChange {
            mime_type: mime_type.to_owned()
        }
    );
}

#[test]
fn text_copied_in_one_client_is_pasted_in_another() {
    let daemon = Daemon::start(&[]);
    let copier = daemon.client();
    let paster = daemon.client();
    assert_eq!(paster.get_text().unwrap(), None, "empty at first");
    assert_eq!(paster.get().unwrap().mime_type, "");

    copier.set_text("héllo, clipboard").unwrap();
    // The paster hears of it, then reads it.
    expect_change(&paster, "text/plain");
    assert_eq!(
        paster.get_text().unwrap().as_deref(),
        Some("héllo, clipboard")
    );
    let data = paster.get().unwrap();
    assert!(data.data.is_sealed(), "the service hands out sealed memory");
    assert_eq!(data.bytes(), "héllo, clipboard".as_bytes());

    // Bytes of another type are not text.
    let metadata = HashMap::from([("origin".to_owned(), "test".to_owned())]);
    copier
        .set_data(&[0, 159, 146, 150], "application/octet-stream", metadata)
        .unwrap();
    expect_change(&paster, "application/octet-stream");
    let data = paster.get().unwrap();
    assert_eq!(data.bytes(), [0, 159, 146, 150]);
    assert_eq!(data.metadata("origin"), Some("test"));
    assert_eq!(paster.get_text().unwrap(), None);
}

#[test]
fn a_bitmap_goes_through_with_serenityos_metadata() {
    let daemon = Daemon::start(&[]);
    let copier = daemon.client();
    let paster = daemon.client();
    let mut bitmap = ShareableBitmap::new(3, 2, BitmapFormat::Rgba8888).unwrap();
    for (x, y, color) in [
        (0, 0, Color::RED),
        (1, 0, Color::GREEN),
        (2, 1, Color::from_rgba(1, 2, 3, 4)),
    ] {
        bitmap.set_pixel(x, y, color).unwrap();
    }
    copier.set_bitmap(&bitmap).unwrap();
    expect_change(&paster, BITMAP_MIME_TYPE);

    let data = paster.get().unwrap();
    assert_eq!(data.metadata("width"), Some("3"));
    assert_eq!(data.metadata("height"), Some("2"));
    assert_eq!(data.metadata("pitch"), Some("12"));
    assert_eq!(data.metadata("format"), Some("3"));
    assert_eq!(data.metadata("scale"), Some("1"));

    let pasted = paster.get_bitmap().unwrap().expect("a bitmap");
    assert_eq!((pasted.width(), pasted.height()), (3, 2));
    assert_eq!(pasted.format(), BitmapFormat::Rgba8888);
    assert!(pasted.is_sealed());
    for y in 0..2 {
        for x in 0..3 {
            assert_eq!(pasted.pixel(x, y), bitmap.pixel(x, y), "pixel ({x}, {y})");
        }
    }
    // Text is not a bitmap.
    copier.set_text("not an image").unwrap();
    expect_change(&paster, "text/plain");
    assert!(paster.get_bitmap().unwrap().is_none());

    // Metadata that lie about the size are an error, not a crash.
    let lying = HashMap::from([
        ("width".to_owned(), "100".to_owned()),
        ("height".to_owned(), "100".to_owned()),
        ("pitch".to_owned(), "400".to_owned()),
        ("format".to_owned(), "2".to_owned()),
    ]);
    copier.set_data(&[0; 16], BITMAP_MIME_TYPE, lying).unwrap();
    expect_change(&paster, BITMAP_MIME_TYPE);
    assert!(matches!(
        paster.get_bitmap(),
        Err(ClipboardError::BadBitmap(_))
    ));
}

#[test]
fn every_client_is_told_of_a_change_the_setter_included() {
    let daemon = Daemon::start(&[]);
    let clients: Vec<Clipboard> = (0..4).map(|_| daemon.client()).collect();
    clients[1].set_text("one").unwrap();
    for client in &clients {
        expect_change(client, "text/plain");
    }
    clients[3]
        .set_data(b"<b>two</b>", "text/html", HashMap::new())
        .unwrap();
    for client in &clients {
        expect_change(client, "text/html");
        assert_eq!(client.try_next_change().unwrap(), None, "exactly one each");
        assert_eq!(client.get_text().unwrap().as_deref(), Some("<b>two</b>"));
    }
}

#[test]
fn data_over_the_limit_is_refused() {
    let daemon = Daemon::start(&["--max-size", "1K"]);
    let watcher = daemon.client();
    watcher.set_text("kept").unwrap();
    expect_change(&watcher, "text/plain");

    // The client's own limit refuses before sending.
    let careful = daemon.client().with_max_size(1024);
    match careful.set_data(&[7; 2048], "application/octet-stream", HashMap::new()) {
        Err(ClipboardError::TooLarge {
            len: 2048,
            max: 1024,
        }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // The service refuses what gets past a client: it disconnects it.
    let reckless = daemon.client().with_max_size(usize::MAX);
    reckless
        .set_data(&[7; 2048], "application/octet-stream", HashMap::new())
        .unwrap();
    match reckless.next_change(PATIENCE) {
        Err(ClipboardError::Ipc(courier::Error::Disconnected)) => {}
        other => panic!("expected the service to disconnect the client, got {other:?}"),
    }
    assert!(matches!(
        reckless.get(),
        Err(ClipboardError::Ipc(courier::Error::Disconnected))
    ));
    // Nothing changed for the others.
    assert_eq!(watcher.get_text().unwrap().as_deref(), Some("kept"));
    assert_eq!(watcher.try_next_change().unwrap(), None);
    // Exactly the limit is fine.
    careful
        .set_data(&[7; 1024], "application/octet-stream", HashMap::new())
        .unwrap();
    expect_change(&watcher, "application/octet-stream");
    assert_eq!(watcher.get().unwrap().bytes().len(), 1024);
}

#[test]
fn an_unsealed_buffer_is_copied_so_the_sender_cannot_change_it() {
    let daemon = Daemon::start(&[]);
    let sender = daemon.client();
    let reader = daemon.client();
    let mut buffer = SharedBuffer::from_bytes(b"original").unwrap();
    let keep = buffer.try_clone().unwrap();
    sender
        .raw()
        .set_clipboard_data(keep, "text/plain".into(), HashMap::new())
        .unwrap();
    expect_change(&reader, "text/plain");
    buffer.as_mut_slice().unwrap().copy_from_slice(b"tampered");
    let data = reader.get().unwrap();
    assert!(data.data.is_sealed());
    assert_eq!(data.bytes(), b"original");
}

#[test]
fn clients_that_leave_mid_way_do_not_disturb_the_others() {
    let mut daemon = Daemon::start(&[]);
    let watcher = daemon.client();

    // A socket that leaves in the middle of its handshake.
    let mut raw = UnixStream::connect(&daemon.socket).unwrap();
    let _ = raw.write_all(&[1, 2, 3]);
    drop(raw);

    // A client that copies and leaves at once, before its notification.
    let leaver = daemon.client();
    leaver.set_text("left behind").unwrap();
    drop(leaver);
    expect_change(&watcher, "text/plain");
    assert_eq!(watcher.get_text().unwrap().as_deref(), Some("left behind"));

    // A client closed under a clone of its generated client: the clone's
    // calls fail, typed.
    let caller = daemon.client();
    let raw_client = caller.raw().clone();
    drop(caller);
    assert!(raw_client.get_clipboard_data().is_err());

    // The service is still serving, to old and new clients.
    assert!(daemon.is_running());
    let newcomer = daemon.client();
    newcomer.set_text("still here").unwrap();
    expect_change(&watcher, "text/plain");
    assert_eq!(watcher.get_text().unwrap().as_deref(), Some("still here"));
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc is mounted")
        .count()
}

fn shared_mappings(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .expect("/proc is mounted")
        .lines()
        .filter(|line| line.contains("memfd:"))
        .count()
}

/// Waits until `read()` returns `expected`, against a deadline.
fn wait_for(what: &str, expected: usize, read: impl Fn() -> usize) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = read();
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {now}, expected {expected}"
        );
        std::thread::sleep(Duration::from_millis(5)); // polling, not synchronising
    }
}

#[test]
fn fds_and_mappings_come_back_after_clients_leave() {
    if !Path::new("/proc/self/fd").is_dir() {
        eprintln!("skipped: /proc is not mounted");
        return;
    }
    let daemon = Daemon::start(&[]);
    let probe = daemon.client();
    probe.set_text("baseline").unwrap();
    // Measured once the service has stored the content and told every
    // client (nothing is in flight then: a `get` would leave a duplicate
    // fd on its way out for a moment).
    expect_change(&probe, "text/plain");
    let pid = daemon.pid();
    let fds = open_fds(pid);
    let mappings = shared_mappings(pid);
    assert_eq!(probe.get().unwrap().bytes(), b"baseline");

    for round in 0..16 {
        let client = daemon.client();
        let mut bitmap = ShareableBitmap::new(8, 8, BitmapFormat::Bgra8888).unwrap();
        bitmap.set_pixel(round % 8, 0, Color::BLUE).unwrap();
        client.set_bitmap(&bitmap).unwrap();
        expect_change(&client, BITMAP_MIME_TYPE);
        assert!(client.get_bitmap().unwrap().is_some());
        drop(client);
    }
    // Back to one content of the same kind as at the baseline.
    probe.set_text("baseline again").unwrap();
    while probe
        .next_change(PATIENCE)
        .unwrap()
        .expect("a change")
        .mime_type
        != "text/plain"
    {}
    assert_eq!(probe.get_text().unwrap().as_deref(), Some("baseline again"));

    wait_for("open fds of clipboardd", fds, || open_fds(pid));
    wait_for("shared mappings of clipboardd", mappings, || {
        shared_mappings(pid)
    });
}

#[test]
fn help_describes_the_options() {
    let output = Command::new(env!("CARGO_BIN_EXE_clipboardd"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in ["--portal-dir", "--socket", "--max-size"] {
        assert!(help.contains(option), "--help lacks {option}:\n{help}");
    }
}

#[test]
fn listens_in_a_portal_directory() {
    let portal = tempfile::tempdir().unwrap();
    let dir = portal.path().join("portal");
    let mut child = Command::new(env!("CARGO_BIN_EXE_clipboardd"))
        .arg("--portal-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim_end(),
        format!("ready {}", dir.join("clipboard").display())
    );
    let clipboard = Clipboard::connect_in(&dir).unwrap();
    clipboard.set_text("by name").unwrap();
    expect_change(&clipboard, "text/plain");
    assert_eq!(clipboard.get_text().unwrap().as_deref(), Some("by name"));
    drop(clipboard);

    // SIGTERM: a clean stop that removes the socket. (Sent directly: a
    // `kill` program is not on every machine.)
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "clipboardd exits cleanly: {status}");
    assert!(!dir.join("clipboard").exists(), "the socket is removed");
}
