//! Interface fingerprints across a real socket: two hand-made endpoint
//! types, identical but for `FINGERPRINT`, on the two ends of a socketpair
//! (one thread or task each). Different fingerprints fail the handshake on
//! both sides with the typed error, in the blocking and the tokio flavour;
//! equal or unknown ones connect. Also: a generated endpoint's fingerprint
//! is courier-idl's of its `.ipc` file.

use std::convert::Infallible;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use courier::codec::DecodeErrorKind;
use courier::{
    DecodeError, Decoder, Endpoint, EndpointName, Error, HandshakeErrorKind, NoMessages,
};

/// The endpoint's name and magic, shared by every version below.
const NAME: &str = "Greeter";
const MAGIC: u32 = 0x4752_4545;

/// `Greeter` as built from one version of its `.ipc` file.
macro_rules! greeter {
    ($ty:ident, $fingerprint:expr) => {
        struct $ty;

        impl Endpoint for $ty {
            const NAME: &'static str = NAME;
            const MAGIC: u32 = MAGIC;
            const FINGERPRINT: u64 = $fingerprint;
            type Message = Infallible;

            fn decode_message(id: u32, _: &mut Decoder<'_>) -> Result<Infallible, DecodeError> {
                Err(DecodeErrorKind::UnknownMessage { endpoint: NAME, id }.into())
            }

            fn message_name(_: u32) -> Option<&'static str> {
                None
            }
        }
    };
}

greeter!(GreeterV1, 0x1111_2222_3333_4444);
greeter!(GreeterV2, 0x5555_6666_7777_8888);
greeter!(GreeterUnknown, 0);

/// Asserts `result` is the fingerprint mismatch of `Greeter` seen from
/// `side`, with `ours` and `theirs`, and that its message says what to do.
fn assert_mismatch<T>(
    result: Result<T, Error>,
    side: courier::proto::Side,
    ours: u64,
    theirs: u64,
) {
    let error = match result {
        Ok(_) => panic!("the {side:?}'s handshake succeeded"),
        Err(error) => error,
    };
    let Error::Handshake(handshake) = &error else {
        panic!("expected a handshake error, got {error:?}")
    };
    assert_eq!(
        handshake.kind(),
        &HandshakeErrorKind::FingerprintMismatch {
            side,
            endpoint: EndpointName {
                name: NAME.into(),
                magic: MAGIC,
            },
            ours,
            theirs,
        }
    );
    let text = error.to_string();
    assert!(
        text.contains("built from different versions of the .ipc file of `Greeter`")
            && text.contains(&format!("{ours:#018x}"))
            && text.contains(&format!("{theirs:#018x}"))
            && text.ends_with("rebuild both from the same .ipc file"),
        "{text}"
    );
}

/// A blocking client calling `C`, or why its handshake failed.
type BlockingClient<C> = Result<courier::blocking::BlockingConnection<NoMessages, C>, Error>;
/// A blocking server serving `S`, or why its handshake failed.
type BlockingServer<S> = Result<courier::blocking::BlockingConnection<S, NoMessages>, Error>;

/// Runs the blocking handshake: a `NoMessages` client calling `C` against
/// a server serving `S`, each on its own thread.
fn blocking<C: Endpoint, S: Endpoint>() -> (BlockingClient<C>, BlockingServer<S>) {
    let (client_end, server_end) = UnixStream::pair().expect("a socketpair");
    let server = std::thread::spawn(move || {
        courier::blocking::BlockingConnection::<S, NoMessages>::accept(server_end)
    });
    let client = courier::blocking::BlockingConnection::<NoMessages, C>::from_stream(client_end);
    (client, server.join().expect("the server thread"))
}

#[test]
fn blocking_sides_built_from_different_versions_both_fail() {
    let (client, server) = blocking::<GreeterV1, GreeterV2>();
    assert_mismatch(
        client,
        courier::proto::Side::Client,
        GreeterV1::FINGERPRINT,
        GreeterV2::FINGERPRINT,
    );
    assert_mismatch(
        server,
        courier::proto::Side::Server,
        GreeterV2::FINGERPRINT,
        GreeterV1::FINGERPRINT,
    );
}

#[test]
fn blocking_sides_of_the_same_or_an_unknown_version_connect() {
    let (client, server) = blocking::<GreeterV1, GreeterV1>();
    client.expect("same version: the client connects");
    server.expect("same version: the server accepts");
    let (client, server) = blocking::<GreeterUnknown, GreeterV2>();
    client.expect("unknown on the client: it connects");
    server.expect("unknown on the client: the server accepts");
    let (client, server) = blocking::<GreeterV1, GreeterUnknown>();
    client.expect("unknown on the server: the client connects");
    server.expect("unknown on the server: it accepts");
}

#[cfg(feature = "tokio")]
mod on_tokio {
    use super::*;
    use courier::tokio::AsyncConnection;

    fn run<F: std::future::Future>(test: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(test)
    }

    type AsyncClient<C> = Result<AsyncConnection<NoMessages, C>, Error>;
    type AsyncServer<S> = Result<AsyncConnection<S, NoMessages>, Error>;

    /// The tokio handshake: client and server as two tasks on one runtime.
    async fn handshake<C: Endpoint, S: Endpoint>() -> (AsyncClient<C>, AsyncServer<S>) {
        let (client_end, server_end) = UnixStream::pair().expect("a socketpair");
        let server = tokio::spawn(AsyncConnection::<S, NoMessages>::accept(server_end));
        let client = AsyncConnection::<NoMessages, C>::from_stream(client_end).await;
        (client, server.await.expect("the server task"))
    }

    #[test]
    fn tokio_sides_built_from_different_versions_both_fail() {
        run(async {
            let (client, server) = handshake::<GreeterV2, GreeterV1>().await;
            assert_mismatch(
                client,
                courier::proto::Side::Client,
                GreeterV2::FINGERPRINT,
                GreeterV1::FINGERPRINT,
            );
            assert_mismatch(
                server,
                courier::proto::Side::Server,
                GreeterV1::FINGERPRINT,
                GreeterV2::FINGERPRINT,
            );
        });
    }

    #[test]
    fn tokio_sides_of_the_same_or_an_unknown_version_connect() {
        run(async {
            let (client, server) = handshake::<GreeterV2, GreeterV2>().await;
            client.expect("same version: the client connects").close();
            server.expect("same version: the server accepts").close();
            let (client, server) = handshake::<GreeterUnknown, GreeterV1>().await;
            client.expect("unknown: the client connects").close();
            server.expect("unknown: the server accepts").close();
        });
    }
}

/// The `.ipc` files of the examples crate, whose generated endpoints carry
/// courier-idl's fingerprint.
fn examples_ipc(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/ipc")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn a_generated_endpoint_carries_courier_idls_fingerprint_of_its_file() {
    use courier_examples::lookup_client::LookupClient;
    use courier_examples::lookup_server::LookupServer;
    let (file, diagnostics) = courier_idl::parse(&examples_ipc("LookupServer.ipc"));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let fingerprint = |name: &str| {
        let endpoint = file
            .endpoints
            .iter()
            .find(|e| e.name.name == name)
            .unwrap_or_else(|| panic!("endpoint {name}"));
        courier_idl::fingerprint::fingerprint(endpoint).unwrap()
    };
    assert_eq!(LookupServer::FINGERPRINT, fingerprint("LookupServer"));
    assert_eq!(LookupClient::FINGERPRINT, fingerprint("LookupClient"));
    assert_ne!(LookupServer::FINGERPRINT, LookupClient::FINGERPRINT);
    assert_eq!(NoMessages::FINGERPRINT, 0);
}

/// The worked example of `docs/wire-format.md` ("Interface fingerprints"):
/// its interface, canonical text and value are what courier-idl computes.
#[test]
fn the_wire_format_document_fingerprint_example_matches_courier_idl() {
    let document = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/wire-format.md"),
    )
    .expect("read docs/wire-format.md");
    let example = document
        .split("For example, this interface:")
        .nth(1)
        .expect("docs/wire-format.md has the fingerprint example");
    let blocks: Vec<&str> = example
        .split("```")
        .skip(1)
        .step_by(2)
        .take(2)
        .map(|block| block.split_once('\n').map_or("", |(_, text)| text))
        .collect();
    let [interface, canonical] = blocks[..] else {
        panic!("the example has an interface and a canonical text: {blocks:?}")
    };
    let (file, diagnostics) = courier_idl::parse(interface);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let endpoint = &file.endpoints[0];
    assert_eq!(
        courier_idl::fingerprint::canonical_text(endpoint).unwrap(),
        canonical
    );
    let fingerprint = courier_idl::fingerprint::fingerprint(endpoint).unwrap();
    let stated = format!("and the fingerprint `{fingerprint:#018x}`.");
    assert!(
        example.contains(&stated),
        "the document should say {stated}"
    );
    assert_eq!(
        fingerprint, 0x5031_67d1_06fc_9246,
        "as the hello example uses"
    );
}
