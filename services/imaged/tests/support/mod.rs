//! Shared by the integration tests: the `imaged` binary as a child process,
//! test images made by the `image` crate's encoders, and fd accounting
//! (courier's, from its test support).
#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

/// courier's test support, for its fd accounting. Its `cfg(feature =
/// "tokio")` names a feature of courier that this package does not have,
/// hence the `allow`; [`fd_check`] does here what that block does there.
#[path = "../../../../crates/courier/tests/support/mod.rs"]
#[allow(unexpected_cfgs)]
mod courier_support;

pub use courier_support::FdCheck;

/// Starts fd accounting for one test (see courier's `FdCheck`: at
/// [`FdCheck::finish`], every fd open must have been open at the start;
/// the tests of a binary run one at a time while one holds it).
///
/// The client runs a tokio runtime, and imaged builds tokio with `signal`:
/// the first runtime of the process opens the signal driver's socket pair,
/// which stays open for the life of the process. One runtime is built and
/// dropped before the first count, so that the first test is not taken for
/// its leaker.
pub fn fd_check() -> FdCheck {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        drop(runtime);
    });
    courier_support::fd_check()
}

/// A running `imaged`, killed when dropped.
pub struct Daemon {
    child: Child,
    pub dir: tempfile::TempDir,
    pub image_socket: PathBuf,
    pub simple_socket: PathBuf,
    /// The lines it printed before `ready` (probe results).
    pub before_ready: Vec<String>,
    stdout: BufReader<ChildStdout>,
}

impl Daemon {
    /// `imaged --socket <tempdir>/image` plus `args`, once it printed `ready`
    /// (no sleeping: the line comes when both sockets listen).
    pub fn start(args: &[&str]) -> Daemon {
        Daemon::start_in(tempfile::tempdir().unwrap(), args)
    }

    /// As [`start`](Self::start), with its socket in `dir`.
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Daemon {
        let socket = dir.path().join("image");
        let mut child = Command::new(env!("CARGO_BIN_EXE_imaged"))
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .env_remove("COURIER_PORTAL_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("imaged starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut before_ready = Vec::new();
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                let status = child.wait().unwrap();
                panic!("imaged exited ({status}) before `ready`; stderr:\n{stderr}");
            }
            let line = line.trim_end().to_string();
            if line.starts_with("ready ") {
                assert!(
                    line.contains(&format!("image={}", socket.display())),
                    "{line}"
                );
                break;
            }
            before_ready.push(line);
        }
        let mut simple = socket.clone().into_os_string();
        simple.push(".simple");
        Daemon {
            child,
            dir,
            image_socket: socket,
            simple_socket: simple.into(),
            before_ready,
            stdout,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Sends SIGTERM and waits for the exit status; gives back its
    /// directory.
    pub fn terminate(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        // Sent directly: a `kill` program is not on every machine.
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let status = self.child.wait().unwrap();
        (
            status,
            std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()),
        )
    }

    pub fn client(&self) -> courier_imaged::ImageDecoderClient {
        courier_imaged::ImageDecoderClient::connect_to(&self.image_socket)
            .expect("connects to imaged")
            .with_timeout(std::time::Duration::from_secs(120))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 4x3 RGBA image whose every pixel differs.
pub fn pattern(alpha: bool) -> image::RgbaImage {
    image::RgbaImage::from_fn(4, 3, |x, y| {
        let a = if alpha { 255 - (x * 40 + y) as u8 } else { 255 };
        image::Rgba([(x * 60) as u8, (y * 100) as u8, (x * 10 + y * 20) as u8, a])
    })
}

pub fn encode(image: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

pub fn png() -> Vec<u8> {
    encode(&pattern(true).into(), image::ImageFormat::Png)
}

/// An animated GIF: red 100 ms, green 200 ms, blue 300 ms, played 3 times.
pub fn animated_gif() -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        encoder.set_repeat(Repeat::Finite(3)).unwrap();
        for (color, ms) in [
            ([255, 0, 0, 255], 100),
            ([0, 255, 0, 255], 200),
            ([0, 0, 255, 255], 300),
        ] {
            let frame = image::Frame::from_parts(
                image::RgbaImage::from_pixel(5, 4, image::Rgba(color)),
                0,
                0,
                image::Delay::from_numer_denom_ms(ms, 1),
            );
            encoder.encode_frame(frame).unwrap();
        }
    }
    bytes
}

/// A valid PNG header declaring `width` x `height` pixels, with a tiny
/// IDAT: a decompression bomb as far as any header-trusting decoder knows.
pub fn bomb_png(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    // zlib stream of a few zero bytes (stored block), far too short.
    chunk(
        &mut png,
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0, 0, 0, 0, 1,
        ],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The shared directory (see `courier_testdata`); `None` (with a notice)
/// when absent.
pub fn shared_dir(what: &str) -> Option<PathBuf> {
    courier_testdata::shared("", what)
}

/// An animated WebP (VP8X + ANIM + ANMF around lossless frames from the
/// `image` crate's encoder, which writes still images only): `colors` as
/// 3x2 frames of `durations` ms, played `loops` times.
pub fn animated_webp(colors: &[[u8; 4]], durations: &[u32], loops: u16) -> Vec<u8> {
    let (width, height) = (3u32, 2u32);
    let mut body = b"WEBP".to_vec();
    let mut vp8x = vec![0x12, 0, 0, 0]; // animation and alpha
    vp8x.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    riff_chunk(&mut body, b"VP8X", &vp8x);
    let mut anim = vec![0, 0, 0, 0];
    anim.extend_from_slice(&loops.to_le_bytes());
    riff_chunk(&mut body, b"ANIM", &anim);
    for (color, duration) in colors.iter().zip(durations) {
        let still = encode(
            &image::RgbaImage::from_pixel(width, height, image::Rgba(*color)).into(),
            image::ImageFormat::WebP,
        );
        // The still file is RIFF, size, WEBP, then its VP8L chunk.
        assert_eq!(&still[12..16], b"VP8L", "expected a lossless still");
        let mut anmf = vec![0; 6]; // x / 2, y / 2
        anmf.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        anmf.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        anmf.extend_from_slice(&duration.to_le_bytes()[..3]);
        anmf.push(0b10); // do not blend, do not dispose
        anmf.extend_from_slice(&still[12..]);
        riff_chunk(&mut body, b"ANMF", &anmf);
    }
    let mut webp = b"RIFF".to_vec();
    webp.extend_from_slice(&(body.len() as u32).to_le_bytes());
    webp.extend_from_slice(&body);
    webp
}

fn riff_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(kind);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}
