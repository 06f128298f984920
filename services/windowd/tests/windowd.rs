//! windowd across processes: the `windowd` binary in a child process,
//! clients in this one.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use courier::gfx::{Color, IntRect, IntSize};
use courier::shm::{BitmapFormat, ShareableBitmap};
use courier_windowd::{WindowEvent, WindowServerConnection, save_screenshot, take_events};

const PATIENCE: Duration = Duration::from_secs(20);
const BACKGROUND: Color = Color::from_rgb(0x10, 0x20, 0x30);

/// A running `windowd` with a 200x150 screen, killed when dropped.
struct Daemon {
    child: Child,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Daemon {
    fn start() -> Daemon {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let socket = dir.path().join("window");
        let mut child = Command::new(env!("CARGO_BIN_EXE_windowd"))
            .arg("--socket")
            .arg(&socket)
            .args(["--screen", "200x150", "--background", "102030"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("windowd starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("windowd's stdout is readable");
        assert_eq!(line.trim_end(), format!("ready {}", socket.display()));
        Daemon { child, socket, dir }
    }

    fn client(&self) -> WindowServerConnection {
        courier_windowd::connect_to(&self.socket).expect("a client connects")
    }

    /// A screenshot taken by `client`, as a PNG file, decoded.
    fn screenshot(&self, client: &WindowServerConnection, name: &str) -> Png {
        let path = self.dir.path().join(name);
        save_screenshot(client, &path).expect("the screenshot is written");
        Png::read(&path)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A decoded 8-bit RGB PNG.
struct Png {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Png {
    fn read(path: &Path) -> Png {
        let file = BufReader::new(File::open(path).expect("the PNG exists"));
        let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
        let mut rgb = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut rgb).expect("one frame");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        Png {
            width: info.width,
            height: info.height,
            rgb,
        }
    }

    fn at(&self, x: u32, y: u32) -> Color {
        let i = (y * self.width + x) as usize * 3;
        Color::from_rgb(self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])
    }
}

fn solid(size: IntSize, format: BitmapFormat, color: Color) -> ShareableBitmap {
    let mut bitmap = ShareableBitmap::new(size.width as u32, size.height as u32, format).unwrap();
    for y in 0..size.height as u32 {
        for x in 0..size.width as u32 {
            bitmap.set_pixel(x, y, color).unwrap();
        }
    }
    bitmap
}

fn window(
    client: &WindowServerConnection,
    rect: IntRect,
    format: BitmapFormat,
    color: Color,
) -> i32 {
    let id = client.create_window(rect, "test".into()).unwrap();
    client
        .set_window_bitmap(id, solid(rect.size(), format, color))
        .unwrap();
    id
}

fn remote_message(result: Result<impl std::fmt::Debug, courier::Error>) -> String {
    match result {
        Err(courier::Error::Remote(error)) => error.message().to_owned(),
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[test]
fn overlapping_windows_composite_in_z_order() {
    let daemon = Daemon::start();
    let first = daemon.client();
    let second = daemon.client();
    assert_eq!(first.get_screen_size().unwrap(), IntSize::new(200, 150));
    let bottom = window(
        &first,
        IntRect::new(20, 20, 100, 80),
        BitmapFormat::Bgra8888,
        Color::RED,
    );
    let top = window(
        &second,
        IntRect::new(80, 60, 100, 80),
        BitmapFormat::Rgba8888,
        Color::BLUE,
    );

    let png = daemon.screenshot(&first, "one.png");
    assert_eq!((png.width, png.height), (200, 150));
    assert_eq!(png.at(30, 30), Color::RED, "the first window alone");
    assert_eq!(png.at(170, 130), Color::BLUE, "the second window alone");
    assert_eq!(
        png.at(90, 70),
        Color::BLUE,
        "the overlap: the top window wins"
    );
    assert_eq!(png.at(119, 79), Color::BLUE, "the overlap's far corner");
    assert_eq!(png.at(5, 5), BACKGROUND, "the background");
    assert_eq!(
        png.at(190, 145),
        BACKGROUND,
        "the background past the top window"
    );
    assert_eq!(png.at(20, 20), Color::RED, "the first window's first pixel");
    assert_eq!(png.at(19, 20), BACKGROUND, "just left of it");

    // Raising the bottom window puts it on top.
    first.raise_window(bottom).unwrap();
    let png = daemon.screenshot(&second, "two.png");
    assert_eq!(
        png.at(90, 70),
        Color::RED,
        "the raised window wins the overlap"
    );
    assert_eq!(png.at(170, 130), Color::BLUE);

    // The same screen as a bitmap.
    let screen = second.get_screenshot().unwrap();
    assert!(screen.is_sealed());
    assert_eq!((screen.width(), screen.height()), (200, 150));
    for (x, y) in [(30, 30), (90, 70), (170, 130), (5, 5)] {
        assert_eq!(screen.pixel(x, y), Some(png.at(x, y)), "({x}, {y})");
    }

    // Destroying a window uncovers what is below.
    second.destroy_window(top).unwrap();
    let png = daemon.screenshot(&second, "three.png");
    assert_eq!(png.at(170, 130), BACKGROUND);
    assert_eq!(png.at(90, 70), Color::RED);
}

#[test]
fn alpha_blends_and_windows_are_clipped_to_the_screen() {
    let daemon = Daemon::start();
    let client = daemon.client();
    // Half-transparent white over the background, partly off screen.
    window(
        &client,
        IntRect::new(-10, -10, 30, 30),
        BitmapFormat::Bgra8888,
        Color::from_rgba(255, 255, 255, 128),
    );
    // An opaque window hanging off the bottom-right corner.
    window(
        &client,
        IntRect::new(190, 140, 50, 50),
        BitmapFormat::Bgrx8888,
        Color::GREEN,
    );
    let png = daemon.screenshot(&client, "alpha.png");
    let mix = |below: u8| ((255 * 128 + u32::from(below) * 127 + 127) / 255) as u8;
    assert_eq!(
        png.at(0, 0),
        Color::from_rgb(mix(0x10), mix(0x20), mix(0x30))
    );
    assert_eq!(png.at(19, 19), png.at(0, 0));
    assert_eq!(png.at(20, 20), BACKGROUND);
    assert_eq!(png.at(199, 149), Color::GREEN);
    assert_eq!(png.at(189, 149), BACKGROUND);
}

#[test]
fn paint_events_go_to_the_owner() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let other = daemon.client();
    let id = client
        .create_window(IntRect::new(10, 10, 100, 80), "Painted".into())
        .unwrap();
    assert_eq!(
        take_events(&client).unwrap(),
        [WindowEvent::Paint {
            window_id: id,
            rect: IntRect::new(0, 0, 100, 80)
        }]
    );

    client
        .invalidate_rect(id, IntRect::new(50, 50, 100, 100))
        .unwrap();
    client
        .invalidate_rect(id, IntRect::new(500, 500, 10, 10))
        .unwrap(); // misses the window: no event
    client
        .invalidate_rect(id + 1000, IntRect::new(0, 0, 1, 1))
        .unwrap(); // ignored
    assert_eq!(
        client.get_window_rect(id).unwrap(),
        IntRect::new(10, 10, 100, 80)
    );
    assert_eq!(
        take_events(&client).unwrap(),
        [WindowEvent::Paint {
            window_id: id,
            rect: IntRect::new(50, 50, 50, 30)
        }]
    );

    client
        .set_window_rect(id, IntRect::new(0, 0, 40, 30))
        .unwrap();
    assert_eq!(
        take_events(&client).unwrap(),
        [
            WindowEvent::Resized {
                window_id: id,
                size: IntSize::new(40, 30)
            },
            WindowEvent::Paint {
                window_id: id,
                rect: IntRect::new(0, 0, 40, 30)
            },
        ]
    );
    client
        .set_window_rect(id, IntRect::new(5, 5, 40, 30))
        .unwrap(); // a move only
    assert_eq!(take_events(&client).unwrap(), []);
    assert_eq!(
        client.get_window_rect(id).unwrap(),
        IntRect::new(5, 5, 40, 30)
    );

    // The other client heard nothing.
    other.get_screen_size().unwrap();
    assert_eq!(take_events(&other).unwrap(), []);
}

#[test]
fn bad_ids_and_bad_requests_are_typed_errors() {
    let daemon = Daemon::start();
    let owner = daemon.client();
    let stranger = daemon.client();
    let id = window(
        &owner,
        IntRect::new(0, 0, 10, 10),
        BitmapFormat::Bgra8888,
        Color::RED,
    );

    assert!(remote_message(owner.get_window_rect(999)).contains("no window 999"));
    assert!(remote_message(owner.raise_window(-1)).contains("no window -1"));
    // Another client's window is not there for this one.
    assert!(remote_message(stranger.get_window_rect(id)).contains(&format!("no window {id}")));
    assert!(stranger.destroy_window(id).is_err());
    assert!(
        stranger
            .set_window_bitmap(
                id,
                solid(IntSize::new(10, 10), BitmapFormat::Bgra8888, Color::BLUE)
            )
            .is_err()
    );
    owner.destroy_window(id).unwrap();
    assert!(remote_message(owner.destroy_window(id)).contains(&format!("no window {id}")));

    let message = remote_message(owner.create_window(IntRect::new(0, 0, 0, 10), "flat".into()));
    assert!(message.contains("between 1 and"), "{message}");

    // A bitmap whose size is not the window's is refused; the window stays
    // as it was.
    let id = window(
        &owner,
        IntRect::new(0, 0, 10, 10),
        BitmapFormat::Bgra8888,
        Color::RED,
    );
    let message = remote_message(owner.set_window_bitmap(
        id,
        solid(IntSize::new(11, 10), BitmapFormat::Bgra8888, Color::BLUE),
    ));
    assert!(
        message.contains("the bitmap is 11x10 but window"),
        "{message}"
    );
    assert_eq!(daemon.screenshot(&owner, "kept.png").at(5, 5), Color::RED);

    // A file the server cannot write is an error, not a crash.
    let path = daemon.dir.path().join("read-only.png");
    std::fs::write(&path, b"").unwrap();
    let read_only = OwnedFd::from(File::open(&path).unwrap());
    let message = remote_message(owner.save_screenshot(read_only));
    assert!(
        message.contains("could not write the screenshot"),
        "{message}"
    );
    // Still serving.
    assert_eq!(
        owner.get_window_rect(id).unwrap(),
        IntRect::new(0, 0, 10, 10)
    );
}

#[test]
fn a_client_that_leaves_takes_its_windows_along() {
    let daemon = Daemon::start();
    let leaver = daemon.client();
    let stayer = daemon.client();
    window(
        &leaver,
        IntRect::new(0, 0, 50, 50),
        BitmapFormat::Bgra8888,
        Color::RED,
    );
    window(
        &stayer,
        IntRect::new(100, 100, 50, 50),
        BitmapFormat::Bgra8888,
        Color::GREEN,
    );
    assert_eq!(
        daemon.screenshot(&stayer, "before.png").at(10, 10),
        Color::RED
    );

    drop(leaver);
    // The server notices on its own time: look until the window is gone.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let screen = stayer.get_screenshot().unwrap();
        if screen.pixel(10, 10) == Some(BACKGROUND) {
            assert_eq!(
                screen.pixel(110, 110),
                Some(Color::GREEN),
                "the other's window stays"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the leaver's window is still on screen"
        );
        std::thread::sleep(Duration::from_millis(5)); // polling, not synchronising
    }
}

#[test]
fn drawing_into_a_shared_bitmap_shows_without_sending_it_again() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let id = client
        .create_window(IntRect::new(0, 0, 4, 4), "live".into())
        .unwrap();
    let mut bitmap = solid(IntSize::new(4, 4), BitmapFormat::Bgra8888, Color::RED);
    let shared = bitmap.buffer().try_clone().unwrap();
    let drawn = ShareableBitmap::from_buffer(4, 4, 16, BitmapFormat::Bgra8888, shared).unwrap();
    client.set_window_bitmap(id, drawn).unwrap();
    assert_eq!(
        client.get_screenshot().unwrap().pixel(1, 1),
        Some(Color::RED)
    );
    bitmap.set_pixel(1, 1, Color::BLUE).unwrap();
    client
        .invalidate_rect(id, IntRect::new(1, 1, 1, 1))
        .unwrap();
    assert_eq!(
        client.get_screenshot().unwrap().pixel(1, 1),
        Some(Color::BLUE)
    );
}

#[test]
fn help_describes_the_options() {
    let output = Command::new(env!("CARGO_BIN_EXE_windowd"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--portal-dir",
        "--socket",
        "--screen",
        "--background",
        "--max-windows",
    ] {
        assert!(help.contains(option), "--help lacks {option}:\n{help}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_windowd"))
        .args(["--screen", "800by600"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("WIDTHxHEIGHT"));
}

#[test]
fn listens_in_a_portal_directory_and_stops_on_sigterm() {
    let portal = tempfile::tempdir().unwrap();
    let dir = portal.path().join("portal");
    let mut child = Command::new(env!("CARGO_BIN_EXE_windowd"))
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
        format!("ready {}", dir.join("window").display())
    );
    let client = courier_windowd::connect_in(&dir).unwrap();
    assert_eq!(client.get_screen_size().unwrap(), IntSize::new(800, 600));
    drop(client);
    // Sent directly: a `kill` program is not on every machine.
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "windowd exits cleanly: {status}");
    assert!(!dir.join("window").exists(), "the socket is removed");
}
