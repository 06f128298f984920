//! imaged's `.ipc` files declare what SerenityOS's ImageDecoder files
//! declare: the same endpoints, messages, order, kinds and parameter types,
//! so magics and message ids match the C++ system's.

mod support;

use std::path::Path;

use courier::{Endpoint, Message};
use courier_idl::ast::IpcFile;

fn parse(path: &Path) -> IpcFile {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (file, diagnostics) = courier_idl::parse(&text);
    assert!(
        diagnostics.is_empty(),
        "{}: {diagnostics:?}",
        path.display()
    );
    file
}

#[test]
fn the_interfaces_match_serenityos_message_by_message() {
    let Some(shared) = support::shared_dir("the comparison with SerenityOS's ImageDecoder") else {
        return;
    };
    let theirs_dir = shared.join("corpus/serenity-ipc/Userland/Services/ImageDecoder");
    let ours_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ipc");
    for file in ["ImageDecoderServer.ipc", "ImageDecoderClient.ipc"] {
        let theirs = parse(&theirs_dir.join(file));
        let ours = parse(&ours_dir.join(file));
        assert!(
            !theirs.endpoints.is_empty(),
            "{file}: SerenityOS's file declares nothing"
        );
        let differences = courier_idl::compare::differences(&ours, &theirs);
        assert!(
            differences.is_empty(),
            "{file}:\n{}",
            differences.join("\n")
        );
    }
}

#[test]
fn the_generated_constants_are_serenityos_values() {
    // Independent of ../shared: SerenityOS's ids count from 1 in declaration
    // order, a request's response taking the next one; the magic is the
    // Jenkins hash of the endpoint name.
    use courier_imaged::{image_decoder_client as client, image_decoder_server as server};
    assert_eq!(
        server::ImageDecoderServer::MAGIC,
        courier_idl::magic::endpoint_magic("ImageDecoderServer")
    );
    assert_eq!(
        client::ImageDecoderClient::MAGIC,
        courier_idl::magic::endpoint_magic("ImageDecoderClient")
    );
    assert_eq!(server::DecodeImage::ID, 1);
    assert_eq!(server::DecodeImageResponse::ID, 2);
    assert_eq!(server::CancelDecoding::ID, 3);
    assert_eq!(client::DidDecodeImage::ID, 1);
    assert_eq!(client::DidFailToDecodeImage::ID, 2);
}

#[test]
fn the_simple_endpoint_is_the_overview_s() {
    let Some(shared) = support::shared_dir("the overview's ImageDecoder") else {
        return;
    };
    let seed = std::fs::read_dir(shared.join("seed"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("000_"))
        })
        .expect("the overview in seed/");
    let overview = std::fs::read_to_string(seed).unwrap();
    let declaration = "DecodeImage([File] image_file) => ([Bitmap] decoded_bitmap)";
    assert!(
        overview.contains(declaration),
        "the overview no longer declares `{declaration}`"
    );
    let ours = parse(&Path::new(env!("CARGO_MANIFEST_DIR")).join("ipc/ImageDecoder.ipc"));
    let (overview, diagnostics) =
        courier_idl::parse(&format!("endpoint ImageDecoder {{ {declaration} }}"));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let differences = courier_idl::compare::differences(&ours, &overview);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
