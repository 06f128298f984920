//! Introspection across processes: the examples' generated services run in
//! a child process (this test binary started again, serving on blocking
//! connections or on a tokio `MultiServer`); the test is a generic tool
//! that knows none of their endpoints. It connects as an any-peer client,
//! asks for the interface, checks the `.ipc` text it gets back, then calls
//! the service by magic and id and reads the raw response bytes.
//!
//! The service authors wrote no code for any of it: the protocol core
//! answers introspection, and the generated endpoints carry their text.

#[path = "support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use courier::proto::{
    Config, Connection, Event, INTROSPECT_MAGIC, IntrospectedEndpoint, Introspection, RequestId,
};
use courier::{Endpoint, Limits, NoMessages};
use courier_examples::image_decoder::ImageDecoder;
use courier_examples::process::{READY, serve_until_stdin_closes};
use courier_examples::server::{Flavour, ServicePaths};
use courier_examples::window_client::{self, WindowClient};
use courier_examples::window_server::{self, WindowServer};
use support::{ChildProcess, say, self_command};

/// `<flavour>:<dir>` makes `child_server` serve the examples in `dir`.
const CHILD_ENV: &str = "COURIER_INTROSPECTION_CHILD";
const RESULT: &str = "COURIER-RESULT: ";
/// A guard against a hang, not a synchronisation: every read that should
/// succeed does so at once.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

// ----- the child: the examples' services -----

/// With [`CHILD_ENV`], serves the examples until stdin closes and prints
/// what the server did. Without it (the normal run), checks that the
/// generated endpoints carry the printed text of their `.ipc` files.
#[test]
fn child_server() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        // Holds the fd lock: files opened here must not upset the fd
        // accounting of the tests running beside it.
        let fds = support::fd_check();
        for (definition, file) in [
            (WindowServer::DEFINITION, "WindowServer.ipc"),
            (WindowClient::DEFINITION, "WindowClient.ipc"),
            (ImageDecoder::DEFINITION, "ImageDecoder.ipc"),
        ] {
            let path = examples_dir().join("ipc").join(file);
            let text = std::fs::read_to_string(&path).expect("read the example interface");
            let (ast, diagnostics) = courier_idl::parse(&text);
            assert!(diagnostics.is_empty(), "{file}: {diagnostics:?}");
            assert_eq!(definition, courier_idl::print(&ast), "{file}");
        }
        assert_eq!(NoMessages::DEFINITION, "");
        fds.finish();
        return;
    };
    let spec = spec.into_string().expect("a UTF-8 child spec");
    let (flavour, dir) = spec.split_once(':').expect("<flavour>:<dir>");
    let flavour = Flavour::from_name(flavour).expect("blocking or tokio");
    let report = serve_until_stdin_closes(Path::new(dir), flavour).expect("serve");
    say(&format!(
        "{RESULT}{} clients, errors: {:?}",
        report.clients, report.errors
    ));
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The examples' services in a child process.
struct Services {
    child: ChildProcess,
    paths: ServicePaths,
    _dir: tempfile::TempDir,
}

impl Services {
    fn start(flavour: Flavour) -> Services {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut command = self_command("child_server");
        command
            .env(
                CHILD_ENV,
                format!("{}:{}", flavour.name(), dir.path().display()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = ChildProcess::spawn(&mut command, "server");
        child.read_until(READY);
        Services {
            child,
            paths: ServicePaths::in_dir(dir.path()),
            _dir: dir,
        }
    }

    /// Closes the child's stdin, which stops it; returns its report line.
    fn stop(mut self) -> String {
        drop(self.child.take_stdin());
        let result = self.child.read_until(RESULT);
        assert!(self.child.wait().success(), "the server failed");
        result
    }
}

// ----- the generic tool: an any-peer core over a socket -----

/// A client that knows no endpoint: the sans-IO core in any-peer mode,
/// driven over a plain socket (no fds, so no pool: `shm_threshold: None`).
struct Tool {
    stream: UnixStream,
    core: Connection,
}

impl Tool {
    fn connect(path: &Path) -> Tool {
        let stream = UnixStream::connect(path).expect("connect to the service");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let limits = Limits {
            shm_threshold: None,
            ..Limits::default()
        };
        let mut tool = Tool {
            stream,
            core: Connection::new(Config::any_peer(limits), Instant::now()),
        };
        match tool.next_event() {
            Event::HandshakeComplete => tool,
            other => panic!("the handshake failed: {other:?}"),
        }
    }

    /// Writes what the core queued, then returns its next event, reading
    /// the socket as long as there is none.
    fn next_event(&mut self) -> Event {
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            while let Some(transmit) = self.core.poll_transmit() {
                assert!(transmit.fds.is_empty());
                self.stream.write_all(&transmit.bytes).expect("write");
            }
            if let Some(event) = self.core.poll_event() {
                return event;
            }
            let n = self.stream.read(&mut buffer).expect("read the socket");
            if n == 0 {
                self.core.handle_peer_closed();
            } else {
                self.core
                    .handle_input(Instant::now(), &buffer[..n], Vec::new());
            }
        }
    }

    /// The body of the response to `request`.
    fn response(&mut self, request: RequestId) -> Vec<u8> {
        match self.next_event() {
            Event::Response {
                request_id,
                result: Ok((body, fds)),
            } if request_id == request => {
                assert!(fds.is_empty());
                body
            }
            other => panic!("expected the response to request {request}, got {other:?}"),
        }
    }

    fn introspect(&mut self) -> Introspection {
        let request = self.core.send_introspect(None).expect("send introspect");
        Introspection::decode(&self.response(request)).expect("decode the introspection")
    }

    /// Calls request `id` of the service with `body`; the response's body.
    fn call(&mut self, id: u32, body: Vec<u8>) -> Vec<u8> {
        let magic = self.core.peer().magic;
        let request = self
            .core
            .send_request(magic, id, body, Vec::new(), None)
            .expect("send the request");
        self.response(request)
    }
}

fn endpoint<E: Endpoint>() -> IntrospectedEndpoint {
    IntrospectedEndpoint {
        name: E::NAME.to_owned(),
        magic: E::MAGIC,
    }
}

/// Checks the `.ipc` text of an introspection: it parses and checks clean,
/// and declares `endpoints` (in order) with their magics.
fn assert_definition(definition: &str, endpoints: &[IntrospectedEndpoint]) {
    let checked = courier_idl::check(&[courier_idl::SourceFile::new("introspected", definition)]);
    assert_eq!(checked.render_diagnostics(), "", "{definition}");
    let declared: Vec<IntrospectedEndpoint> = checked.files[0]
        .ast
        .endpoints
        .iter()
        .map(|e| IntrospectedEndpoint {
            name: e.name.name.clone(),
            magic: e.magic(),
        })
        .collect();
    assert_eq!(declared, endpoints, "{definition}");
}

fn introspect_and_call(flavour: Flavour) {
    let fds = support::fd_check();
    let services = Services::start(flavour);

    // The window server: two files' worth of text, the server's first.
    let mut tool = Tool::connect(&services.paths.window_server);
    assert_eq!(tool.core.peer().name, "WindowServer");
    assert_eq!(tool.core.peer().magic, WindowServer::MAGIC);
    assert_eq!(tool.core.local().name, "WindowClient");
    assert_eq!(tool.core.local().magic, WindowClient::MAGIC);
    let answer = tool.introspect();
    assert_eq!(answer.version, 1);
    assert_eq!(
        answer.endpoints,
        [endpoint::<WindowServer>(), endpoint::<WindowClient>()]
    );
    assert_definition(
        &answer.definition,
        &[endpoint::<WindowServer>(), endpoint::<WindowClient>()],
    );
    assert!(
        answer
            .definition
            .contains("    CreateWindow(Gfx::IntRect rect, String title) => (i32 window_id)\n"),
        "{}",
        answer.definition
    );

    // Typed requests, by magic and id, with bodies encoded by hand.
    let mut create = 0x0a_i32.to_le_bytes().to_vec(); // x
    for value in [0x14_i32, 0x40, 0x30] {
        create.extend_from_slice(&value.to_le_bytes()); // y, width, height
    }
    create.extend_from_slice(&5u32.to_le_bytes());
    create.extend_from_slice(b"hello");
    let rect = create[..16].to_vec();
    assert_eq!(
        tool.call(window_server::ids::CREATE_WINDOW, create),
        1i32.to_le_bytes(),
        "window 1"
    );
    assert_eq!(
        tool.call(
            window_server::ids::GET_WINDOW_RECT,
            1i32.to_le_bytes().to_vec()
        ),
        rect
    );
    // A one-way message, and the event the service sends back for it,
    // under the client endpoint's magic.
    let mut invalidate = 1i32.to_le_bytes().to_vec();
    for value in [0i32, 0, 8, 8] {
        invalidate.extend_from_slice(&value.to_le_bytes());
    }
    tool.core
        .send_oneway(
            WindowServer::MAGIC,
            window_server::ids::INVALIDATE_RECT,
            invalidate.clone(),
            Vec::new(),
        )
        .unwrap();
    match tool.next_event() {
        Event::Message {
            magic,
            id,
            request_id: None,
            body,
            ..
        } => {
            assert_eq!(magic, WindowClient::MAGIC);
            assert_eq!(id, window_client::ids::PAINT);
            assert_eq!(body, invalidate, "the damage is the whole rect asked for");
        }
        other => panic!("expected a Paint event, got {other:?}"),
    }
    // Introspection after calls, on the same connection.
    assert_eq!(tool.introspect(), answer);
    drop(tool);

    // The image decoder: one file, and a peer that handles nothing.
    let mut tool = Tool::connect(&services.paths.image_decoder);
    let answer = tool.introspect();
    assert_eq!(
        answer.endpoints,
        [endpoint::<ImageDecoder>(), endpoint::<NoMessages>()]
    );
    assert_eq!(answer.definition, ImageDecoder::DEFINITION);
    assert_definition(&answer.definition, &[endpoint::<ImageDecoder>()]);
    drop(tool);

    let result = services.stop();
    assert_eq!(result, "2 clients, errors: []");
    fds.finish();
}

#[test]
fn a_blocking_server_answers_introspection_and_untyped_calls() {
    introspect_and_call(Flavour::Blocking);
}

#[test]
fn a_tokio_multiserver_answers_introspection_and_untyped_calls() {
    introspect_and_call(Flavour::Tokio);
}

#[test]
fn the_reserved_magic_is_no_endpoint_of_the_corpus_or_the_examples() {
    let fds = support::fd_check();
    assert_eq!(
        courier_idl::magic::endpoint_magic("courier:introspect"),
        INTROSPECT_MAGIC
    );
    let mut names = vec![WindowServer::NAME, WindowClient::NAME, ImageDecoder::NAME];
    let mut corpus_names = Vec::new();
    if let Some(corpus) = courier_testdata::serenity_ipc("the corpus's magics") {
        for path in courier_testdata::ipc_files(&corpus) {
            let text = std::fs::read_to_string(&path).expect("read");
            let (ast, _) = courier_idl::parse(&text);
            corpus_names.extend(ast.endpoints.into_iter().map(|e| e.name.name));
        }
        assert!(corpus_names.len() >= 36, "{} endpoints", corpus_names.len());
    }
    names.extend(corpus_names.iter().map(String::as_str));
    for name in names {
        assert_ne!(
            courier_idl::magic::endpoint_magic(name),
            INTROSPECT_MAGIC,
            "{name}"
        );
    }
    fds.finish();
}
