//! The generated clients, handler traits and sender traits across
//! processes: the example services run in a child process (`demo serve`,
//! blocking or tokio), and this process talks to them with the blocking and
//! the async clients, in every combination.
//!
//! Each session creates a window, invalidates it, reads its rect back,
//! receives the server's paint event, shows a bitmap in it, gets a handler
//! error as a typed remote error, and decodes an image file into a bitmap
//! whose pixels it checks; it ends with the same open fds as it began with.

// Courier's test support, for its set-based fd accounting. It names
// courier's `tokio` feature, which this crate does not have: hence the allow.
#[allow(unexpected_cfgs)]
#[path = "../../crates/courier/tests/support/mod.rs"]
mod support;

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Once;

use courier::gfx::{Color, IntRect, IntSize};
use courier::shm::{BitmapFormat, ShareableBitmap};
use courier::tokio::AsyncConnection;
use courier::{Error, NoMessages};
use courier_examples::image_decoder::{ImageDecoderAsyncClient, ImageDecoderClient};
use courier_examples::ppm;
use courier_examples::process::ServerProcess;
use courier_examples::server::{Flavour, ServicePaths};
use courier_examples::window_client::{WindowClient, WindowClientHandler, WindowClientService};
use courier_examples::window_server::{WindowServer, WindowServerAsyncClient, WindowServerClient};

/// Starts fd accounting for one test (which also runs the tests of this
/// file one at a time). The first tokio runtime of the process opens the
/// signal driver's fds for good (courier enables tokio's `signal`): open
/// them before any test's check, so that no test takes them for a leak. The
/// support module does that itself only under a `tokio` feature, which this
/// crate does not have.
fn fd_check() -> support::FdCheck {
    static RUNTIME_GLOBALS: Once = Once::new();
    RUNTIME_GLOBALS.call_once(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        drop(runtime);
    });
    support::fd_check()
}

/// The example server in a child process, serving in a fresh directory.
fn start(flavour: Flavour) -> (tempfile::TempDir, ServerProcess) {
    let dir = tempfile::tempdir().unwrap();
    let server =
        ServerProcess::spawn(Path::new(env!("CARGO_BIN_EXE_demo")), dir.path(), flavour).unwrap();
    (dir, server)
}

/// Stops the server and checks that it shut down cleanly, having served
/// `clients` connections without errors.
fn stop(server: ServerProcess, clients: usize) {
    let stopped = server.stop().unwrap();
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(
        stopped
            .output
            .starts_with(&format!("stopped: served {clients} clients on ")),
        "{stopped:?}"
    );
    assert!(stopped.output.contains(", 0 errors"), "{stopped:?}");
}

const WINDOW: IntRect = IntRect::new(100, 50, 40, 30);
/// Overlaps the window's top-left corner, in window coordinates.
const DAMAGE: IntRect = IntRect::new(-10, -5, 20, 10);
/// The part of `DAMAGE` inside the window: what the server paints.
const PAINTED: IntRect = IntRect::new(0, 0, 10, 5);

/// A 3x2 image with a different colour in each pixel.
fn test_image(dir: &Path) -> std::path::PathBuf {
    let rgb = [
        255, 0, 0, 0, 255, 0, 0, 0, 255, // red, green, blue
        1, 2, 3, 250, 251, 252, 0, 0, 0, // two greys, black
    ];
    let path = dir.join("test.ppm");
    std::fs::write(&path, ppm::encode(3, 2, &rgb).unwrap()).unwrap();
    path
}

fn check_pixels(bitmap: &ShareableBitmap) {
    assert_eq!(bitmap.size(), IntSize::new(3, 2));
    let expected = [
        [Color::RED, Color::GREEN, Color::BLUE],
        [
            Color::from_rgb(1, 2, 3),
            Color::from_rgb(250, 251, 252),
            Color::BLACK,
        ],
    ];
    for (y, row) in expected.iter().enumerate() {
        for (x, color) in row.iter().enumerate() {
            assert_eq!(bitmap.pixel(x as u32, y as u32), Some(*color), "({x}, {y})");
        }
    }
}

fn open(path: &Path) -> OwnedFd {
    OwnedFd::from(std::fs::File::open(path).unwrap())
}

fn remote_message<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Remote(error)) => error.message().to_string(),
        other => panic!("expected a remote error, got {other:?}"),
    }
}

fn window_bitmap(size: IntSize) -> ShareableBitmap {
    ShareableBitmap::new(
        size.width as u32,
        size.height as u32,
        BitmapFormat::Bgra8888,
    )
    .unwrap()
}

/// Collects paint events; the blocking client lends it to `dispatch`.
#[derive(Default)]
struct Painter {
    painted: Vec<(i32, IntRect)>,
}

impl WindowClientHandler for Painter {
    fn paint(&mut self, window_id: i32, rect: IntRect) {
        self.painted.push((window_id, rect));
    }

    fn window_resized(&mut self, window_id: i32, size: IntSize) {
        panic!("unexpected WindowResized({window_id}, {size:?})");
    }
}

fn blocking_session(paths: &ServicePaths, dir: &Path) {
    let windows = WindowServerClient::<WindowClient>::connect(&paths.window_server).unwrap();
    let window_id = windows.create_window(WINDOW, "Test".to_string()).unwrap();
    assert_eq!(window_id, 1);
    windows.invalidate_rect(window_id, DAMAGE).unwrap();
    // The server handles messages in order: the paint event came before
    // this response, and is queued.
    assert_eq!(windows.get_window_rect(window_id).unwrap(), WINDOW);
    let mut painter = Painter::default();
    let handled = windows
        .connection()
        .dispatch(&mut WindowClientService(&mut painter))
        .unwrap();
    assert_eq!(handled, 1);
    assert_eq!(painter.painted, [(window_id, PAINTED)]);

    // A bitmap of the window's size is taken, another is refused.
    windows
        .set_window_bitmap(window_id, window_bitmap(WINDOW.size()))
        .unwrap();
    let message =
        remote_message(windows.set_window_bitmap(window_id, window_bitmap(IntSize::new(2, 2))));
    assert_eq!(
        message,
        "the bitmap is 2x2 but window 1 is 40x30; send one of the window's size"
    );
    // A handler error reaches the caller typed; the connection goes on.
    let message = remote_message(windows.get_window_rect(7));
    assert!(
        message.starts_with("no window 7: this client has 1 windows"),
        "{message}"
    );
    let patient = windows.with_timeout(std::time::Duration::from_secs(30));
    assert_eq!(patient.get_window_rect(window_id).unwrap(), WINDOW);
    drop((windows, patient));

    let decoder: ImageDecoderClient = ImageDecoderClient::connect(&paths.image_decoder).unwrap();
    let bitmap = decoder.decode_image(open(&test_image(dir))).unwrap();
    check_pixels(&bitmap);
    let not_an_image = dir.join("not-an-image.txt");
    std::fs::write(&not_an_image, "hello").unwrap();
    assert_eq!(
        remote_message(decoder.decode_image(open(&not_an_image))),
        "not a binary PPM image: it does not start with `P6`"
    );
}

fn blocking_client(flavour: Flavour) {
    let fds = fd_check();
    let (dir, server) = start(flavour);
    blocking_session(server.paths(), dir.path());
    stop(server, 2);
    drop(dir);
    fds.finish();
}

#[test]
fn blocking_client_and_blocking_server() {
    blocking_client(Flavour::Blocking);
}

#[test]
fn blocking_client_and_tokio_server() {
    blocking_client(Flavour::Tokio);
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

/// Forwards paint events to the test, which awaits them.
struct Forward(tokio::sync::mpsc::UnboundedSender<(i32, IntRect)>);

impl WindowClientHandler for Forward {
    fn paint(&mut self, window_id: i32, rect: IntRect) {
        let _ = self.0.send((window_id, rect));
    }

    fn window_resized(&mut self, window_id: i32, size: IntSize) {
        panic!("unexpected WindowResized({window_id}, {size:?})");
    }
}

async fn async_session(paths: &ServicePaths, dir: &Path) {
    let (events, mut painted) = tokio::sync::mpsc::unbounded_channel();
    let connection = AsyncConnection::<WindowClient, WindowServer>::builder()
        .with_handler(WindowClientService(Forward(events)))
        .connect(&paths.window_server)
        .await
        .unwrap();
    let windows = WindowServerAsyncClient::from_connection(connection);
    // The futures of the generated methods can move to other tasks.
    let window_id = assert_send(windows.create_window(WINDOW, "Test".to_string()))
        .await
        .unwrap();
    assert_eq!(window_id, 1);
    windows.invalidate_rect(window_id, DAMAGE).await.unwrap();
    assert_eq!(painted.recv().await, Some((window_id, PAINTED)));
    assert_eq!(windows.get_window_rect(window_id).await.unwrap(), WINDOW);
    windows
        .set_window_bitmap(window_id, window_bitmap(WINDOW.size()))
        .await
        .unwrap();
    let message = remote_message(windows.get_window_rect(7).await);
    assert!(
        message.starts_with("no window 7: this client has 1 windows"),
        "{message}"
    );
    let patient = windows.with_timeout(std::time::Duration::from_secs(30));
    assert_eq!(patient.get_window_rect(window_id).await.unwrap(), WINDOW);
    let closed = windows.connection().closed();
    drop((windows, patient));
    closed.await;

    let decoder = ImageDecoderAsyncClient::<NoMessages>::connect(&paths.image_decoder)
        .await
        .unwrap();
    let bitmap = assert_send(decoder.decode_image(open(&test_image(dir))))
        .await
        .unwrap();
    check_pixels(&bitmap);
    let closed = decoder.connection().closed();
    drop(decoder);
    closed.await;
}

fn async_client(flavour: Flavour) {
    let fds = fd_check();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (dir, server) = start(flavour);
    runtime.block_on(async_session(server.paths(), dir.path()));
    drop(runtime);
    stop(server, 2);
    drop(dir);
    fds.finish();
}

#[test]
fn async_client_and_tokio_server() {
    async_client(Flavour::Tokio);
}

#[test]
fn async_client_and_blocking_server() {
    async_client(Flavour::Blocking);
}

#[test]
fn the_wrong_service_is_refused_by_name() {
    let fds = fd_check();
    let (dir, server) = start(Flavour::Blocking);
    let error =
        WindowServerClient::<WindowClient>::connect(&server.paths().image_decoder).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::Handshake(_)), "{error:?}");
    assert!(
        message.contains("WindowServer") && message.contains("ImageDecoder"),
        "{message}"
    );
    // The server saw the same mismatch, and reports it.
    let stopped = server.stop().unwrap();
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(stopped.output.contains(", 1 errors"), "{}", stopped.output);
    println!("client: {message}\nserver: {}", stopped.output);
    drop((error, dir));
    fds.finish();
}
