//! imaged as a separate, confined process: every format, an animation, a
//! decompression bomb, garbage, the confinement itself, the simple
//! endpoint, and the service answering after every failure. Every test
//! checks that this process closed every fd it opened (sockets, the
//! client's runtime, the daemon's pipes, files sent to it).

mod support;

use std::io::Write;

use courier_imaged::{ImageError, image_decoder};
use support::{Daemon, animated_gif, bomb_png, encode, fd_check, pattern, png};

/// Decodes `bytes` and checks the result is `expected` pixel for pixel.
fn assert_decodes_exactly(
    client: &mut courier_imaged::ImageDecoderClient,
    bytes: &[u8],
    expected: &image::RgbaImage,
) {
    let image = client.decode(bytes, None).expect("decodes");
    assert_eq!(image.frames.len(), 1);
    assert!(!image.is_animated);
    let frame = image.first();
    assert_eq!((frame.width(), frame.height()), expected.dimensions());
    assert_eq!(frame.rgba(), expected.as_raw().as_slice());
}

fn assert_works(client: &mut courier_imaged::ImageDecoderClient) {
    assert_decodes_exactly(client, &png(), &pattern(true));
}

#[test]
fn every_format_decodes_in_the_confined_process() {
    let fds = fd_check();
    let daemon = Daemon::start(&[]);
    let mut client = daemon.client();
    let opaque = pattern(false);
    // Lossless formats: exactly the pixels encoded.
    assert_decodes_exactly(&mut client, &png(), &pattern(true));
    assert_decodes_exactly(
        &mut client,
        &encode(&opaque.clone().into(), image::ImageFormat::Bmp),
        &opaque,
    );
    assert_decodes_exactly(
        &mut client,
        &encode(&pattern(true).into(), image::ImageFormat::WebP),
        &pattern(true),
    );
    // A still GIF: one frame, palette-exact for these few colours.
    let gif = encode(&opaque.clone().into(), image::ImageFormat::Gif);
    assert_decodes_exactly(&mut client, &gif, &opaque);
    // JPEG is lossy: a flat colour comes back within a few levels.
    let flat = image::RgbImage::from_pixel(16, 8, image::Rgb([200, 100, 50]));
    let jpeg = encode(&flat.into(), image::ImageFormat::Jpeg);
    let image = client.decode(&jpeg, Some("image/jpeg")).unwrap();
    let frame = image.first();
    assert_eq!((frame.width(), frame.height()), (16, 8));
    for pixel in frame.rgba().chunks_exact(4) {
        for (got, want) in pixel.iter().zip([200u8, 100, 50, 255]) {
            assert!(got.abs_diff(want) <= 3, "{pixel:?}");
        }
    }
    drop((client, daemon));
    fds.finish();
}

#[test]
fn an_animated_gif_gives_every_frame_with_its_duration() {
    let fds = fd_check();
    let daemon = Daemon::start(&[]);
    let mut client = daemon.client();
    let image = client.decode(&animated_gif(), Some("image/gif")).unwrap();
    assert!(image.is_animated);
    assert_eq!(image.frames.len(), 3);
    assert_eq!(image.durations, [100, 200, 300]);
    assert_eq!(image.loop_count, 3);
    let colors: Vec<[u8; 4]> = image
        .frames
        .iter()
        .map(|f| f.pixel(4, 3).unwrap())
        .collect();
    assert_eq!(
        colors,
        [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]]
    );
    assert!(
        image
            .frames
            .iter()
            .all(|f| (f.width(), f.height()) == (5, 4))
    );
    drop((client, daemon));
    fds.finish();
}

#[test]
fn an_animated_webp_gives_every_frame_and_its_loop_count() {
    let fds = fd_check();
    let daemon = Daemon::start(&[]);
    let mut client = daemon.client();
    let colors = [[10, 20, 30, 255], [200, 100, 0, 128]];
    let webp = support::animated_webp(&colors, &[40, 90], 7);
    let image = client.decode(&webp, None).unwrap();
    assert!(image.is_animated);
    assert_eq!(image.durations, [40, 90]);
    assert_eq!(image.loop_count, 7);
    let got: Vec<[u8; 4]> = image
        .frames
        .iter()
        .map(|f| f.pixel(2, 1).unwrap())
        .collect();
    assert_eq!(got, colors);
    drop((client, daemon));
    fds.finish();
}

#[test]
fn a_decompression_bomb_gets_an_error_event_not_an_oom_kill() {
    let fds = fd_check();
    let mut daemon = Daemon::start(&[]);
    let mut client = daemon.client();
    let error = client
        .decode(&bomb_png(100_000, 100_000), None)
        .unwrap_err();
    let ImageError::Decode(message) = &error else {
        panic!("expected a decode error, got {error}");
    };
    assert!(message.contains("100000x100000"), "{message}");
    assert!(message.contains("--max-width"), "{message}");
    // Within width and height, over the total: refused too.
    let error = client.decode(&bomb_png(16_000, 16_000), None).unwrap_err();
    assert!(error.to_string().contains("--max-pixels"), "{error}");
    assert!(daemon.is_running());
    assert_works(&mut client);
    drop((client, daemon));
    fds.finish();
}

#[test]
fn limits_are_options() {
    let fds = fd_check();
    let daemon = Daemon::start(&["--max-width", "3"]);
    let mut client = daemon.client();
    let error = client.decode(&png(), None).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("4x3 pixels, larger than the 3x16384"),
        "{error}"
    );
    drop((client, daemon));
    let gif = animated_gif();
    let daemon = Daemon::start(&["--max-frames", "2"]);
    let error = daemon.client().decode(&gif, None).unwrap_err();
    assert!(error.to_string().contains("more than 2 frames"), "{error}");
    drop(daemon);
    fds.finish();
}

#[test]
fn garbage_gets_an_error_and_the_service_answers_the_next_request() {
    let fds = fd_check();
    let mut daemon = Daemon::start(&[]);
    let mut client = daemon.client();
    let mut truncated = png();
    truncated.truncate(truncated.len() / 2);
    let mut corrupt = png();
    let middle = corrupt.len() / 2;
    corrupt[middle..middle + 8].copy_from_slice(b"garbage!");
    let cases: [(&str, &[u8], Option<&str>); 5] = [
        (
            "random bytes",
            b"\x00\x01\x02garbage that is no image\xff",
            Some("image/png"),
        ),
        ("empty", b"", None),
        ("truncated PNG", &truncated, None),
        ("corrupt PNG", &corrupt, None),
        ("a GIF header only", b"GIF89a\x10\x00\x10\x00", None),
    ];
    for (what, bytes, mime) in cases {
        let error = client.decode(bytes, mime).unwrap_err();
        assert!(matches!(error, ImageError::Decode(_)), "{what}: {error}");
        assert!(daemon.is_running(), "{what}");
        assert_works(&mut client);
    }
    drop((client, daemon));
    fds.finish();
}

#[test]
fn the_confined_process_cannot_open_files_make_sockets_or_start_processes() {
    let fds = fd_check();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "not for imaged").unwrap();
    let daemon = Daemon::start(&["--probe-confinement", secret.to_str().unwrap()]);
    let probes = &daemon.before_ready;
    assert_eq!(probes.len(), 3, "{probes:?}");
    let eperm = libc::EPERM.to_string();
    let eacces = libc::EACCES.to_string();
    let denied = |line: &str| {
        let errno = line.rsplit_once("errno=").map(|(_, e)| e.to_string());
        errno.is_some_and(|e| e == eperm || e == eacces)
    };
    assert!(
        probes[0].starts_with(&format!("probe open {}: ", secret.display())),
        "{probes:?}"
    );
    assert!(denied(&probes[0]), "{probes:?}");
    assert!(
        probes[1].starts_with("probe socket: ") && denied(&probes[1]),
        "{probes:?}"
    );
    assert!(probes[2].starts_with("probe spawn: denied"), "{probes:?}");
    // The kernel agrees: no new privileges, a seccomp filter on every thread.
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).unwrap();
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    assert!(status.contains("Seccomp:\t2"), "{status}");
    for task in std::fs::read_dir(format!("/proc/{}/task", daemon.pid())).unwrap() {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        assert!(
            status.contains("Seccomp:\t2"),
            "a thread escaped the filter: {status}"
        );
    }
    // And decoding still works, every format, events and all.
    let mut client = daemon.client();
    assert_works(&mut client);
    assert_eq!(
        client.decode(&animated_gif(), None).unwrap().frames.len(),
        3
    );
    drop((client, daemon, dir));
    fds.finish();
}

#[test]
fn without_the_sandbox_the_probe_succeeds() {
    let fds = fd_check();
    // Shows the probe can tell: the same process, unconfined, opens the file.
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "readable").unwrap();
    let daemon = Daemon::start(&[
        "--no-sandbox",
        "--probe-confinement",
        secret.to_str().unwrap(),
    ]);
    assert_eq!(
        daemon.before_ready[0],
        format!("probe open {}: allowed", secret.display())
    );
    assert_eq!(daemon.before_ready[1], "probe socket: allowed");
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).unwrap();
    assert!(status.contains("Seccomp:\t0"), "{status}");
    drop((daemon, dir));
    fds.finish();
}

#[test]
fn the_simple_endpoint_decodes_a_file_into_a_bitmap() {
    let fds = fd_check();
    let daemon = Daemon::start(&[]);
    let client =
        image_decoder::ImageDecoderClient::<courier::NoMessages>::connect(&daemon.simple_socket)
            .unwrap();
    let path = daemon.dir.path().join("pattern.png");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap();
    file.write_all(&png()).unwrap();
    // The file position is at the end: imaged reads from offset 0.
    let bitmap = client.decode_image(file.into()).unwrap();
    let expected = pattern(true);
    assert_eq!((bitmap.width(), bitmap.height()), expected.dimensions());
    assert!(bitmap.is_sealed());
    for (x, y, pixel) in expected.enumerate_pixels() {
        let color = bitmap.pixel(x, y).unwrap();
        assert_eq!(
            [color.red(), color.green(), color.blue(), color.alpha()],
            pixel.0
        );
    }
    // A bad file is the caller's error; the next one works.
    let garbage = daemon.dir.path().join("garbage.png");
    std::fs::write(&garbage, b"not a png").unwrap();
    let error = client
        .decode_image(std::fs::File::open(&garbage).unwrap().into())
        .unwrap_err();
    assert!(matches!(error, courier::Error::Remote(_)), "{error}");
    assert!(
        error.to_string().contains("unknown image format"),
        "{error}"
    );
    // The wrong endpoint is named, not a decode failure.
    let error = courier_imaged::ImageDecoderClient::connect_to(&daemon.simple_socket).unwrap_err();
    assert!(error.to_string().contains("ImageDecoderServer"), "{error}");
    let again = client
        .decode_image(std::fs::File::open(&path).unwrap().into())
        .unwrap();
    assert_eq!(again.width(), 4);
    drop((again, bitmap, client, daemon));
    fds.finish();
}

#[test]
fn many_clients_at_once() {
    let fds = fd_check();
    let daemon = Daemon::start(&["--workers", "2"]);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut client = daemon.client();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    assert_eq!(
                        client.decode(&animated_gif(), None).unwrap().frames.len(),
                        3
                    );
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    drop(daemon);
    fds.finish();
}

#[test]
fn sigterm_stops_it_cleanly() {
    let fds = fd_check();
    let daemon = Daemon::start(&[]);
    let mut client = daemon.client();
    assert_works(&mut client);
    let (status, dir) = daemon.terminate();
    assert!(status.success(), "{status}");
    assert!(matches!(
        client.decode(&png(), None),
        Err(ImageError::Ipc(_))
    ));
    // Confined, it could not remove its sockets; a new imaged replaces them.
    let daemon = Daemon::start_in(dir, &[]);
    assert_works(&mut daemon.client());
    drop((client, daemon));
    fds.finish();
}

#[test]
fn it_listens_in_a_portal_directory() {
    let fds = fd_check();
    let portal = tempfile::tempdir().unwrap();
    let dir = portal.path().join("portal");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_imaged"))
        .arg("--portal-dir")
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = child.kill();
    assert_eq!(
        line.trim_end(),
        format!(
            "ready image={} simple={} sandbox=on",
            dir.join(courier_imaged::SERVICE_NAME).display(),
            dir.join(courier_imaged::SIMPLE_SERVICE_NAME).display()
        )
    );
    let _ = child.wait();
    drop((child, portal));
    fds.finish();
}
