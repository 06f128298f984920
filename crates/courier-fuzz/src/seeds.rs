//! Seed inputs for the fuzz targets, built from real messages: what
//! `fuzz/corpus/<target>/` holds (written by the ignored test
//! `write_seed_corpus`; the `.ipc` seeds are the example interfaces).

use std::time::Instant;

use courier::Message;
use courier::codec::encode_to_parts;
use courier::gfx::IntRect;
use courier::proto::{Config, Connection, EndpointInfo, FrameHeader, Side};
use courier_examples::kitchen;
use courier_examples::window_client::WindowClient;
use courier_examples::window_server::{self, WindowServer};

use crate::decode::decode_input;

/// A named seed input.
pub type Seed = (String, Vec<u8>);

/// The seeds of target `target` (one of [`crate::TARGETS`]) that are built
/// in code; the `idl` seeds are files (the example interfaces), so this
/// gives none for it.
pub fn seeds(target: &str) -> Vec<Seed> {
    match target {
        "decode" => decode_seeds(),
        "proto" => proto_seeds(),
        "roundtrip" => roundtrip_seeds(),
        _ => Vec::new(),
    }
}

fn encoded<M: Message>(message: &M) -> Vec<u8> {
    encode_to_parts(message).expect("a seed message encodes").0
}

fn decode_seeds() -> Vec<Seed> {
    let numbers = kitchen::Numbers {
        flag: true,
        a: -1,
        b: 2,
        c: -3,
        d: 4,
        e: 5,
        f: 6,
        g: 7,
        h: 8,
        i: -9,
        j: 10,
        k: 11,
        l: 1.5,
        m: -2.5,
    };
    let strings = kitchen::Strings {
        text: "text".into(),
        view: "view".into(),
        fly: "fly".into(),
        bytes: courier::ByteString::from(&[0xff, 0][..]),
        utf8: "ütf8".into(),
        old: courier::ByteString::from("old"),
        buffer: vec![1, 2, 3],
    };
    let user = kitchen::UserTypes {
        point: courier_examples::geometry::Point3 { x: 1, y: 2, z: 3 },
        shape: courier_examples::Shape::Circle { radius: 4 },
        fill: courier_examples::Fill::Solid,
        path: vec![courier_examples::geometry::Point3::default()],
        maybe_shape: None,
    };
    // `Resources` by hand: file, file, Some(file), a valid 64-byte buffer,
    // a valid 2x2 bitmap (valid, its fd, width, height, scale 1, BGRA8888),
    // an invalid bitmap, an empty sequence; 5 fds of a 64-byte memory file.
    let mut resources = Vec::new();
    resources.extend_from_slice(&[1, 1, 64, 0, 0, 0]);
    resources.extend_from_slice(&[1, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]);
    resources.extend_from_slice(&[0]);
    resources.extend_from_slice(&[0, 0, 0, 0, 0]);
    vec![
        (
            "kitchen_numbers".into(),
            decode_input(1, 0, 0, 0, &encoded(&numbers)),
        ),
        (
            "kitchen_strings".into(),
            decode_input(3, 0, 0, 0, &encoded(&strings)),
        ),
        (
            "kitchen_user_types".into(),
            decode_input(10, 0, 0, 0, &encoded(&user)),
        ),
        (
            "kitchen_resources".into(),
            decode_input(8, 5, 0, 1, &resources),
        ),
        (
            "kitchen_dispatch_numbers".into(),
            decode_input(0, 0, 0, 0, &[&[1u8][..], &encoded(&numbers)].concat()),
        ),
        (
            "window_server_create_window".into(),
            decode_input(
                17,
                0,
                0,
                0,
                &encoded(&window_server::CreateWindow {
                    rect: IntRect::new(1, 2, 3, 4),
                    title: "seed".into(),
                }),
            ),
        ),
    ]
}

/// A proto input: the mode byte, then steps. Step 0 is a raw chunk:
/// `[0, len, bytes..., fd count, fd kind, size lo, size hi]`.
fn raw_steps(mode: u8, chunks: &[&[u8]]) -> Vec<u8> {
    let mut data = vec![mode];
    for chunk in chunks {
        for piece in chunk.chunks(96) {
            data.push(0);
            data.push(piece.len() as u8);
            data.extend_from_slice(piece);
            data.extend_from_slice(&[0, 0, 0, 0]);
        }
    }
    data
}

fn proto_seeds() -> Vec<Seed> {
    let now = Instant::now();
    let config = Config::new(
        Side::Client,
        EndpointInfo::of::<WindowClient>(),
        EndpointInfo::of::<WindowServer>(),
        courier::Limits::default(),
    );
    let mut client = Connection::new(config, now);
    let hello = client.poll_transmit().expect("a client hello").bytes;
    let body = encoded(&window_server::CreateWindow {
        rect: IntRect::new(0, 0, 10, 10),
        title: "w".into(),
    });
    let request = [
        FrameHeader {
            payload_len: body.len() as u32,
            magic: <WindowServer as courier::Endpoint>::MAGIC,
            message_id: window_server::CreateWindow::ID,
            request_id: 1,
            fd_count: 0,
            flags: 0,
        }
        .to_bytes()
        .as_slice(),
        &body,
    ]
    .concat();
    vec![
        // A server: the client's hello by hand, then a request.
        (
            "server_hello_then_request".into(),
            raw_steps(4, &[&hello, &request]),
        ),
        // A server past the handshake: a request, answered, then a timeout.
        (
            "server_request_answered".into(),
            [
                raw_steps(0, &[&request]),
                vec![8, 1, 10, 0, 0, 5, 0xff, 0xff],
            ]
            .concat(),
        ),
        // A client past the handshake: a request sent, then a forged response
        // (a frame step), then time passing.
        (
            "client_request_and_response".into(),
            vec![
                1, 6, 4, 1, 0, 0, 0, 0, 1, 2, 1, 1, 0, 1, 0, 0, 0, 0, 4, 1, 2, 3, 4, 5, 10, 0,
            ],
        ),
        // A generic any-peer client: the server's hello, then an
        // introspection request and time passing.
        ("client_any_peer_introspect".into(), vec![9, 10, 2, 5, 0, 1]),
        // Small limits: a large send through the pool.
        (
            "client_pool_send".into(),
            vec![3, 7, 200, 9, 0, 0, 1, 7, 200, 9, 0, 0, 2, 5, 0, 20],
        ),
    ]
}

fn roundtrip_seeds() -> Vec<Seed> {
    (0u8..12)
        .map(|which| {
            let data: Vec<u8> = std::iter::once(which)
                .chain((1u8..=96).map(|i| i.wrapping_mul(37).wrapping_add(which)))
                .collect();
            (format!("message_{which}"), data)
        })
        .collect()
}
