//! PngSuite through the running, confined imaged: every valid image decodes
//! to the reference pixels of `json/`, every deliberately corrupt `x*` file
//! gets a `did_fail_to_decode_image` event, and the service answers the next
//! request after each.
//!
//! 8-bit images are compared exactly. imaged delivers 8-bit BGRA, so a
//! 16-bit image is reduced by rounding (`round(v / 257)`); its reference is
//! the 16-bit JSON, and each channel must equal `round(reference / 257)`
//! exactly (which is also within 1 of the high bytes that the `_to8` files
//! hold, where they exist). The depth is read from the file name (PngSuite
//! names end in it: `basn6a16`), since not every 16-bit image has a `_to8`
//! file. The test checks that this process closed every fd it opened.

mod support;

use std::path::Path;

use courier_imaged::ImageError;

fn numbers(path: &Path) -> Vec<u32> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .unwrap_or_else(|e| panic!("{}: `{n}`: {e}", path.display()))
        })
        .collect()
}

#[test]
fn pngsuite_through_the_service() {
    let Some(shared) = support::shared_dir("PngSuite") else {
        return;
    };
    let fds = support::fd_check();
    let suite = shared.join("corpus/pngsuite");
    let daemon = support::Daemon::start(&[]);
    let mut client = daemon.client();
    let mut files: Vec<_> = std::fs::read_dir(suite.join("png"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 170,
        "PngSuite has 175 images, found {}",
        files.len()
    );
    let (mut exact8, mut exact16, mut corrupt) = (0, 0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let result = client.decode(&bytes, Some("image/png"));
        if name.starts_with('x') {
            match result {
                Err(ImageError::Decode(_)) => corrupt += 1,
                Err(other) => failures.push(format!("{name}: not a decode error: {other}")),
                Ok(image) => failures.push(format!(
                    "{name}: corrupt, yet decoded to {}x{}",
                    image.first().width(),
                    image.first().height()
                )),
            }
            // The service answers the next request.
            let next = client.decode(&support::png(), None);
            assert!(next.is_ok(), "after {name}: {next:?}");
            continue;
        }
        let image = match result {
            Ok(image) => image,
            Err(error) => {
                failures.push(format!("{name}: {error}"));
                continue;
            }
        };
        let reference = numbers(&suite.join("json").join(format!("{name}.json")));
        // PngSuite names end in the bit depth: `basn6a16`.
        let sixteen_bit = name.ends_with("16");
        let got = image.first().rgba();
        if got.len() != reference.len() {
            failures.push(format!(
                "{name}: {} channel values, the reference has {}",
                got.len(),
                reference.len()
            ));
            continue;
        }
        let expected: Vec<u32> = if sixteen_bit {
            reference.iter().map(|&v| (v + 128) / 257).collect()
        } else {
            reference
        };
        let first_difference = got
            .iter()
            .zip(&expected)
            .position(|(&g, &e)| u32::from(g) != e);
        match first_difference {
            None if sixteen_bit => exact16 += 1,
            None => exact8 += 1,
            Some(at) => failures.push(format!(
                "{name}: pixel {} channel {}: got {}, expected {}",
                at / 4,
                at % 4,
                got[at],
                expected[at]
            )),
        }
    }
    eprintln!(
        "PngSuite: {exact8} 8-bit images exact, {exact16} 16-bit images exact, \
         {corrupt} corrupt files refused, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(exact8 + exact16 + corrupt, files.len());
    drop((client, daemon));
    fds.finish();
}
