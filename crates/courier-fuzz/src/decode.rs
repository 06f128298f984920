//! The `decode` target: every generated message and response of the example
//! interfaces, decoded from arbitrary bytes with real fds.

use std::os::fd::OwnedFd;

use courier::codec::decode_from_parts;
use courier::{Decoder, Endpoint, Message};
use courier_examples::{image_decoder, kitchen, lookup_server, window_client, window_server};

use crate::input::Input;
use crate::{alloc, fds};

/// One way to decode a body: a message type, or an endpoint's dispatch.
type Decode = fn(&[u8], Vec<OwnedFd>);

/// Decodes the body as message type `M`.
fn message<M: Message>(bytes: &[u8], fds: Vec<OwnedFd>) {
    let _ = decode_from_parts::<M>(bytes, fds);
}

/// Decodes the body through endpoint `E`'s dispatch, as a server does; the
/// id comes from the body's first byte.
fn dispatch<E: Endpoint>(bytes: &[u8], fds: Vec<OwnedFd>) {
    let (id, body) = bytes
        .split_first()
        .map_or((0, &[][..]), |(&id, body)| (id, body));
    let mut decoder = Decoder::new(body, fds);
    if E::decode_message(u32::from(id), &mut decoder).is_ok() {
        let _ = decoder.finish();
    }
}

/// Every decoder the target chooses from.
const DECODERS: &[Decode] = &[
    dispatch::<kitchen::Kitchen>,
    message::<kitchen::Numbers>,
    message::<kitchen::NumbersResponse>,
    message::<kitchen::Strings>,
    message::<kitchen::StringsResponse>,
    message::<kitchen::Collections>,
    message::<kitchen::CollectionsResponse>,
    message::<kitchen::Graphics>,
    message::<kitchen::Resources>,
    message::<kitchen::ResourcesResponse>,
    message::<kitchen::UserTypes>,
    message::<kitchen::UserTypesResponse>,
    message::<kitchen::Keywords>,
    message::<kitchen::Nothing>,
    message::<kitchen::NothingResponse>,
    message::<kitchen::Ping>,
    dispatch::<window_server::WindowServer>,
    message::<window_server::CreateWindow>,
    message::<window_server::CreateWindowResponse>,
    message::<window_server::SetWindowBitmap>,
    message::<window_server::GetWindowRectResponse>,
    dispatch::<window_client::WindowClient>,
    dispatch::<image_decoder::ImageDecoder>,
    message::<image_decoder::DecodeImageResponse>,
    dispatch::<lookup_server::LookupServer>,
    message::<lookup_server::LookupNameResponse>,
];

/// Decodes `data` as one generated message.
///
/// The input: one byte choosing the message type (or endpoint dispatch, whose
/// message id is then the first body byte), one byte for the number of fds
/// (0 to 8), one for their kind (a memory file, one sealed against
/// shrinking, or a pipe), two for the memory file's size in units of 64
/// bytes, then the body.
///
/// # Panics
///
/// When decoding panics, when any fd given to the decoder is still open
/// after the decoded value (or the error) is dropped, or when decoding
/// held more than 32 heap bytes per body byte (plus 64 KiB) at its peak:
/// nothing a peer claims may make the receiver allocate beyond what it
/// sent.
pub fn decode(data: &[u8]) {
    let mut input = Input::new(data);
    let which = usize::from(input.u8()) % DECODERS.len();
    let count = input.len(8);
    let kind = input.u8();
    let len = u64::from(input.u16()) * 64;
    let body = input.rest();
    let fds = fds::make(count, kind, len);
    let numbers = fds::numbers(&fds);
    let ((), peak) = alloc::peak_during(|| DECODERS[which](body, fds));
    fds::assert_closed(&numbers, "decoding");
    let allowed = ALLOCATION_FACTOR * body.len() + ALLOCATION_SLACK;
    assert!(
        peak <= allowed,
        "decoding {} bytes held {peak} heap bytes at its peak (allowed: {allowed})",
        body.len()
    );
}

/// Heap bytes decoding may hold per byte of body: the largest in-memory
/// form of the smallest wire form among the interfaces' types (an empty
/// `String` is 4 bytes on the wire and 24 in a `Vec`; a hash map entry
/// adds its table's slack), rounded up generously. Unbounded preallocation
/// from a peer-chosen count breaks any such factor.
const ALLOCATION_FACTOR: usize = 32;
/// Heap bytes decoding may hold whatever the body: error messages and the
/// like.
const ALLOCATION_SLACK: usize = 64 << 10;

/// A body for [`decode`]: the header bytes that choose decoder `which`,
/// `count` fds of `kind` and a memory-file size of `len_units * 64`, then
/// `body`.
pub(crate) fn decode_input(which: u8, count: u8, kind: u8, len_units: u16, body: &[u8]) -> Vec<u8> {
    let mut data = vec![which, count, kind];
    data.extend_from_slice(&len_units.to_le_bytes());
    data.extend_from_slice(body);
    data
}
