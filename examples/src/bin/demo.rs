//! courier's demo: a window server and an image decoder in a process of
//! their own, and this process as their client.
//!
//! ```text
//! cargo run -p courier-examples --bin demo            # the server on blocking connections
//! cargo run -p courier-examples --bin demo -- tokio   # the server on tokio
//! ```
//!
//! The demo re-executes itself as `demo serve <dir> <flavour>` to start the
//! server, in a private temporary directory that holds the sockets, then
//! talks to it through the clients generated from `ipc/WindowServer.ipc` and
//! `ipc/ImageDecoder.ipc`, printing each step with its result and how long it
//! took.
#![deny(unsafe_code)]

use std::error::Error;
use std::fmt::Display;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use courier::gfx::{Color, IntRect, IntSize};
use courier::shm::{BitmapFormat, ShareableBitmap};
use courier_examples::image_decoder::ImageDecoderClient;
use courier_examples::ppm;
use courier_examples::process::{ServerProcess, serve_arguments, serve_until_stdin_closes};
use courier_examples::server::Flavour;
use courier_examples::window_client::{WindowClient, WindowClientHandler, WindowClientService};
use courier_examples::window_server::WindowServerClient;

/// Prints a line of the demo's output. A closed stdout (`demo | head`) ends
/// the demo quietly, as command-line tools do; the server child notices its
/// stdin closing and shuts down on its own.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

fn main() -> ExitCode {
    // IPC_DEBUG=1 / IPC_TRACE=1 log connection life / every message to stderr.
    courier::init_tracing_from_env();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some((dir, flavour)) = serve_arguments(&args) {
        return serve(&dir, flavour);
    }
    let flavour = match args.as_slice() {
        [] => Flavour::Blocking,
        [name] => match Flavour::from_name(name) {
            Some(flavour) => flavour,
            None => return usage(&format!("unknown server flavour `{name}`")),
        },
        _ => return usage("too many arguments"),
    };
    match run(flavour) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("error: {problem}\nusage: demo [blocking|tokio]");
    ExitCode::from(2)
}

/// The child: serve until the parent closes our stdin.
fn serve(dir: &Path, flavour: Flavour) -> ExitCode {
    match serve_until_stdin_closes(dir, flavour) {
        Ok(report) => {
            say!(
                "stopped: served {} clients on {} connections, {} errors",
                report.clients,
                flavour.name(),
                report.errors.len()
            );
            for error in &report.errors {
                say!("  error: {error}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: the demo server could not start: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Collects the paint events the window server sends.
#[derive(Default)]
struct Painter {
    painted: Vec<(i32, IntRect)>,
}

impl WindowClientHandler for Painter {
    fn paint(&mut self, window_id: i32, rect: IntRect) {
        self.painted.push((window_id, rect));
    }

    fn window_resized(&mut self, _window_id: i32, _size: IntSize) {}
}

fn run(flavour: Flavour) -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    say!(
        "courier demo: a WindowServer and an ImageDecoder in a child process, this process as their client\n"
    );

    let dir = tempfile::Builder::new().prefix("courier-demo-").tempdir()?;
    let program = std::env::current_exe()?;
    let server = step("start", || {
        let server = ServerProcess::spawn(&program, dir.path(), flavour)?;
        let summary = format!(
            "`demo serve` ({} server, pid {}) in {}",
            flavour.name(),
            server.pid(),
            dir.path().display()
        );
        Ok((server, summary))
    })?;
    let paths = server.paths().clone();

    // The window server. This side handles the WindowClient events it sends.
    let windows = step("connect", || {
        let client = WindowServerClient::<WindowClient>::connect(&paths.window_server)?;
        let pid = client.connection().peer_credentials().pid;
        Ok((client, format!("to WindowServer (served by pid {pid})")))
    })?;
    let editor_rect = IntRect::new(40, 30, 640, 480);
    let editor = step("call", || {
        let id = windows.create_window(editor_rect, "Editor".to_string())?;
        Ok((
            id,
            format!(
                "CreateWindow({}, \"Editor\") -> window {id}",
                show_rect(editor_rect)
            ),
        ))
    })?;
    let terminal_rect = IntRect::new(700, 30, 320, 200);
    let terminal = step("call", || {
        let id = windows.create_window(terminal_rect, "Terminal".to_string())?;
        Ok((
            id,
            format!(
                "CreateWindow({}, \"Terminal\") -> window {id}",
                show_rect(terminal_rect)
            ),
        ))
    })?;

    let damage = IntRect::new(600, 400, 100, 100);
    step("send", || {
        windows.invalidate_rect(editor, damage)?;
        Ok((
            (),
            format!(
                "InvalidateRect(window {editor}, {}): queued, no reply",
                show_rect(damage)
            ),
        ))
    })?;
    // The server handles messages in order: its Paint event arrives before
    // the response to the next call, and waits in the queue meanwhile.
    step("call", || {
        let rect = windows.get_window_rect(editor)?;
        let queued = windows.connection().queued_messages();
        Ok((
            (),
            format!(
                "GetWindowRect(window {editor}) -> {} ({queued} event queued meanwhile)",
                show_rect(rect)
            ),
        ))
    })?;
    let mut painter = Painter::default();
    step("event", || {
        windows
            .connection()
            .dispatch(&mut WindowClientService(&mut painter))?;
        let painted: Vec<String> = painter
            .painted
            .iter()
            .map(|(id, rect)| format!("Paint(window {id}, {})", show_rect(*rect)))
            .collect();
        Ok((
            (),
            format!(
                "{}: the part of the damage inside the window",
                painted.join(", ")
            ),
        ))
    })?;

    let mut bitmap = ShareableBitmap::new(
        terminal_rect.width as u32,
        terminal_rect.height as u32,
        BitmapFormat::Bgra8888,
    )?;
    fill(&mut bitmap, Color::from_rgb(0x20, 0x24, 0x30))?;
    let pixel_bytes = bitmap.pixels().len();
    // What goes through the socket: the bitmap's header and one fd.
    let (body, fds) = courier::codec::encode_to_parts(&bitmap)?;
    let (body_bytes, fd_count) = (body.len(), fds.len());
    drop(fds);
    step("call", || {
        windows.set_window_bitmap(terminal, bitmap)?;
        Ok((
            (),
            format!(
                "SetWindowBitmap(window {terminal}, {}x{} bitmap) -> (): {} of pixels stayed in \
                 shared memory, the socket carried {fd_count} fd and {body_bytes} bytes; the \
                 pixels were not copied",
                terminal_rect.width,
                terminal_rect.height,
                show_bytes(pixel_bytes),
            ),
        ))
    })?;
    step("call", || {
        let missing = 99;
        match windows.get_window_rect(missing) {
            Err(courier::Error::Remote(error)) => Ok((
                (),
                format!(
                    "GetWindowRect(window {missing}) -> remote error: {}",
                    error.message()
                ),
            )),
            Err(other) => Err(other.into()),
            Ok(rect) => {
                Err(format!("window {missing} should not exist, got {}", show_rect(rect)).into())
            }
        }
    })?;
    drop(windows);

    // The image decoder: a file goes in, a bitmap comes out.
    let decoder = step("connect", || {
        let client: ImageDecoderClient = ImageDecoderClient::connect(&paths.image_decoder)?;
        Ok((client, "to ImageDecoder".to_string()))
    })?;
    let image_path = dir.path().join("sunset.ppm");
    let (width, height) = (96u32, 64u32);
    std::fs::write(
        &image_path,
        ppm::encode(width, height, &sunset(width, height))?,
    )?;
    step("call", || {
        let file = OwnedFd::from(std::fs::File::open(&image_path)?);
        let bitmap = decoder.decode_image(file)?;
        let corner = bitmap.pixel(0, 0).ok_or("the decoded bitmap is empty")?;
        let expected = sunset_pixel(0, 0, width, height);
        if corner != expected {
            return Err(format!("pixel (0, 0) is {corner:?}, expected {expected:?}").into());
        }
        Ok((
            (),
            format!(
                "DecodeImage([File] sunset.ppm) -> {}x{} bitmap in the decoder's shared memory, read in place: pixel (0, 0) = {corner:?}",
                bitmap.width(),
                bitmap.height()
            ),
        ))
    })?;
    drop(decoder);

    let stopped = step("stop", || {
        let stopped = server.stop()?;
        let summary = stopped.output.trim().to_string();
        Ok((stopped, summary))
    })?;
    if !stopped.status.success() {
        return Err(format!("the server process ended with {}", stopped.status).into());
    }
    say!("\ndone in {} ms", started.elapsed().as_millis());
    Ok(())
}

/// Runs `action`, then prints `verb`, what it returned to say, and how long it took.
fn step<T>(
    verb: &str,
    action: impl FnOnce() -> Result<(T, String), Box<dyn Error>>,
) -> Result<T, Box<dyn Error>> {
    let started = Instant::now();
    let result = action();
    let micros = started.elapsed().as_micros();
    match result {
        Ok((value, summary)) => {
            say!("  {verb:<7} {micros:>6} µs  {summary}");
            Ok(value)
        }
        Err(error) => {
            say!("  {verb:<7} {micros:>6} µs  failed: {error}");
            Err(error)
        }
    }
}

fn show_rect(rect: IntRect) -> String {
    format!("{}x{} at ({}, {})", rect.width, rect.height, rect.x, rect.y)
}

fn show_bytes(bytes: usize) -> impl Display {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn fill(bitmap: &mut ShareableBitmap, color: Color) -> Result<(), Box<dyn Error>> {
    let bytes = bitmap.format().write(color);
    let pixels = bitmap.pixels_mut().ok_or("the new bitmap is read-only")?;
    for pixel in pixels.chunks_exact_mut(4) {
        pixel.copy_from_slice(&bytes);
    }
    Ok(())
}

/// An orange-to-purple gradient, as RGB bytes row by row.
fn sunset(width: u32, height: u32) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            let color = sunset_pixel(x, y, width, height);
            rgb.extend_from_slice(&[color.red(), color.green(), color.blue()]);
        }
    }
    rgb
}

fn sunset_pixel(x: u32, y: u32, width: u32, height: u32) -> Color {
    let across = (x * 255 / width.max(1)) as u8;
    let down = (y * 255 / height.max(1)) as u8;
    Color::from_rgb(
        255 - down / 2,
        128u8.saturating_sub(down / 2),
        across / 2 + down / 2,
    )
}
