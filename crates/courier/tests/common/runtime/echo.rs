//! What `courier-build` generates for `Echo.ipc`, written by hand so the
//! runtime tests need no build script. The codegen helper mirrors this file:
//! the first part (endpoint modules: marker, MAGIC, ids, message structs,
//! message enum, `Endpoint` impl) follows the shape courier-codegen already
//! emits; the second part (`EchoServerClient`, `EchoServerHandler`,
//! `EchoServerService`) is the client and server stub layer on top of the
//! generic runtime API (`BlockingConnection`, `Handler`, `Reply`).
//!
//! ```text
//! endpoint EchoServer
//! {
//!     echo(String text) => (String text)
//!     fail(String reason) => ()
//!     push(i32 value) =|
//!     take_pushed() => (Vector<i32> values)
//!     notify_then_reply(i32 count) => (i32 count)
//!     echo_bytes(Vector<u8> data) => (Vector<u8> data)
//!     read_file(IPC::File file) => (String contents)
//!     open_file(String contents) => (IPC::File file)
//!     block_on(IPC::File signal, IPC::File release) => ()
//! }
//!
//! endpoint EchoClient
//! {
//!     event(i32 seq) =|
//! }
//!
//! endpoint OtherServer
//! {
//!     ping() => ()
//! }
//! ```

pub mod echo_server {
    use std::os::fd::OwnedFd;

    /// The `EchoServer` endpoint, as a type.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct EchoServer;

    /// The magic of `EchoServer`.
    pub const MAGIC: u32 = 2554368841;

    crate::message!(EchoServer, 1, "echo", Echo { text: String });
    crate::message!(EchoServer, 2, "EchoResponse", EchoResponse { text: String });
    crate::message!(EchoServer, 3, "fail", Fail { reason: String });
    crate::message!(EchoServer, 4, "FailResponse", FailResponse {});
    crate::message!(EchoServer, 5, "push", Push { value: i32 });
    crate::message!(EchoServer, 6, "take_pushed", TakePushed {});
    crate::message!(EchoServer, 7, "TakePushedResponse", TakePushedResponse { values: Vec<i32> });
    crate::message!(
        EchoServer,
        8,
        "notify_then_reply",
        NotifyThenReply { count: i32 }
    );
    crate::message!(
        EchoServer,
        9,
        "NotifyThenReplyResponse",
        NotifyThenReplyResponse { count: i32 }
    );
    crate::message!(EchoServer, 10, "echo_bytes", EchoBytes { data: Vec<u8> });
    crate::message!(EchoServer, 11, "EchoBytesResponse", EchoBytesResponse { data: Vec<u8> });
    crate::message!(EchoServer, 12, "read_file", ReadFile { file: OwnedFd });
    crate::message!(
        EchoServer,
        13,
        "ReadFileResponse",
        ReadFileResponse { contents: String }
    );
    crate::message!(EchoServer, 14, "open_file", OpenFile { contents: String });
    crate::message!(
        EchoServer,
        15,
        "OpenFileResponse",
        OpenFileResponse { file: OwnedFd }
    );
    crate::message!(
        EchoServer,
        16,
        "block_on",
        BlockOn {
            signal: OwnedFd,
            release: OwnedFd
        }
    );
    crate::message!(EchoServer, 17, "BlockOnResponse", BlockOnResponse {});

    impl ::courier::Request for Echo {
        type Response = EchoResponse;
    }
    impl ::courier::Request for Fail {
        type Response = FailResponse;
    }
    impl ::courier::Request for TakePushed {
        type Response = TakePushedResponse;
    }
    impl ::courier::Request for NotifyThenReply {
        type Response = NotifyThenReplyResponse;
    }
    impl ::courier::Request for EchoBytes {
        type Response = EchoBytesResponse;
    }
    impl ::courier::Request for ReadFile {
        type Response = ReadFileResponse;
    }
    impl ::courier::Request for OpenFile {
        type Response = OpenFileResponse;
    }
    impl ::courier::Request for BlockOn {
        type Response = BlockOnResponse;
    }

    /// Any message a peer may send to `EchoServer`.
    #[derive(Debug)]
    pub enum EchoServerMessage {
        Echo(Echo),
        Fail(Fail),
        Push(Push),
        TakePushed(TakePushed),
        NotifyThenReply(NotifyThenReply),
        EchoBytes(EchoBytes),
        ReadFile(ReadFile),
        OpenFile(OpenFile),
        BlockOn(BlockOn),
    }

    impl ::courier::Endpoint for EchoServer {
        const NAME: &'static str = "EchoServer";
        const MAGIC: u32 = MAGIC;
        type Message = EchoServerMessage;

        fn decode_message(
            id: u32,
            decoder: &mut ::courier::Decoder<'_>,
        ) -> ::std::result::Result<Self::Message, ::courier::DecodeError> {
            use ::courier::Decode;
            match id {
                1 => Echo::decode(decoder).map(EchoServerMessage::Echo),
                3 => Fail::decode(decoder).map(EchoServerMessage::Fail),
                5 => Push::decode(decoder).map(EchoServerMessage::Push),
                6 => TakePushed::decode(decoder).map(EchoServerMessage::TakePushed),
                8 => NotifyThenReply::decode(decoder).map(EchoServerMessage::NotifyThenReply),
                10 => EchoBytes::decode(decoder).map(EchoServerMessage::EchoBytes),
                12 => ReadFile::decode(decoder).map(EchoServerMessage::ReadFile),
                14 => OpenFile::decode(decoder).map(EchoServerMessage::OpenFile),
                16 => BlockOn::decode(decoder).map(EchoServerMessage::BlockOn),
                _ => Err(::courier::DecodeError::new(
                    ::courier::codec::DecodeErrorKind::UnknownMessage {
                        endpoint: "EchoServer",
                        id,
                    },
                )),
            }
        }

        fn message_name(id: u32) -> ::std::option::Option<&'static str> {
            const NAMES: [&str; 17] = [
                "echo",
                "EchoResponse",
                "fail",
                "FailResponse",
                "push",
                "take_pushed",
                "TakePushedResponse",
                "notify_then_reply",
                "NotifyThenReplyResponse",
                "echo_bytes",
                "EchoBytesResponse",
                "read_file",
                "ReadFileResponse",
                "open_file",
                "OpenFileResponse",
                "block_on",
                "BlockOnResponse",
            ];
            NAMES.get((id as usize).wrapping_sub(1)).copied()
        }
    }
}

pub mod echo_client {
    /// The `EchoClient` endpoint, as a type.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct EchoClient;

    /// The magic of `EchoClient`.
    pub const MAGIC: u32 = 3028511252;

    crate::message!(EchoClient, 1, "event", Event { seq: i32 });

    /// Any message a peer may send to `EchoClient`.
    #[derive(Debug)]
    pub enum EchoClientMessage {
        Event(Event),
    }

    impl ::courier::Endpoint for EchoClient {
        const NAME: &'static str = "EchoClient";
        const MAGIC: u32 = MAGIC;
        type Message = EchoClientMessage;

        fn decode_message(
            id: u32,
            decoder: &mut ::courier::Decoder<'_>,
        ) -> ::std::result::Result<Self::Message, ::courier::DecodeError> {
            use ::courier::Decode;
            match id {
                1 => Event::decode(decoder).map(EchoClientMessage::Event),
                _ => Err(::courier::DecodeError::new(
                    ::courier::codec::DecodeErrorKind::UnknownMessage {
                        endpoint: "EchoClient",
                        id,
                    },
                )),
            }
        }

        fn message_name(id: u32) -> ::std::option::Option<&'static str> {
            (id == 1).then_some("event")
        }
    }
}

pub mod other_server {
    /// The `OtherServer` endpoint, as a type.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct OtherServer;

    /// The magic of `OtherServer`.
    pub const MAGIC: u32 = 2685890654;

    crate::message!(OtherServer, 1, "ping", Ping {});
    crate::message!(OtherServer, 2, "PingResponse", PingResponse {});

    impl ::courier::Request for Ping {
        type Response = PingResponse;
    }

    /// Any message a peer may send to `OtherServer`.
    #[derive(Debug)]
    pub enum OtherServerMessage {
        Ping(Ping),
    }

    impl ::courier::Endpoint for OtherServer {
        const NAME: &'static str = "OtherServer";
        const MAGIC: u32 = MAGIC;
        type Message = OtherServerMessage;

        fn decode_message(
            id: u32,
            decoder: &mut ::courier::Decoder<'_>,
        ) -> ::std::result::Result<Self::Message, ::courier::DecodeError> {
            use ::courier::Decode;
            match id {
                1 => Ping::decode(decoder).map(OtherServerMessage::Ping),
                _ => Err(::courier::DecodeError::new(
                    ::courier::codec::DecodeErrorKind::UnknownMessage {
                        endpoint: "OtherServer",
                        id,
                    },
                )),
            }
        }

        fn message_name(id: u32) -> ::std::option::Option<&'static str> {
            match id {
                1 => Some("ping"),
                2 => Some("PingResponse"),
                _ => None,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The stub layer: a typed blocking client and a typed server trait, bridged
// to the generic runtime API. This is what the codegen helper generates on
// top of `courier::blocking::BlockingConnection` and `courier::Handler`.
// ---------------------------------------------------------------------------

pub use echo_client::{EchoClient, EchoClientMessage};
pub use echo_server::{EchoServer, EchoServerMessage};

use std::os::fd::OwnedFd;
use std::path::Path;

use courier::blocking::BlockingConnection;
use courier::{Endpoint, HandlerError, Reply};

/// A blocking client of `EchoServer`. `L` is the endpoint this side handles
/// (the server's events); `EchoClient` when the `.ipc` file pairs them.
pub struct EchoServerClient<L: Endpoint = EchoClient> {
    connection: BlockingConnection<L, EchoServer>,
}

impl<L: Endpoint> EchoServerClient<L> {
    /// Connects to the service at `path`.
    pub fn connect(path: impl AsRef<Path>) -> Result<Self, courier::Error> {
        BlockingConnection::connect(path).map(Self::from_connection)
    }

    /// Wraps an established connection (for limits, socketpairs...).
    pub fn from_connection(connection: BlockingConnection<L, EchoServer>) -> Self {
        EchoServerClient { connection }
    }

    /// The connection: `dispatch` events, peer credentials, `close`.
    pub fn connection(&self) -> &BlockingConnection<L, EchoServer> {
        &self.connection
    }

    pub fn echo(&self, text: String) -> Result<String, courier::Error> {
        self.connection
            .call(&echo_server::Echo { text })
            .map(|response| response.text)
    }

    pub fn fail(&self, reason: String) -> Result<(), courier::Error> {
        self.connection
            .call(&echo_server::Fail { reason })
            .map(|_| ())
    }

    pub fn push(&self, value: i32) -> Result<(), courier::Error> {
        self.connection.send(&echo_server::Push { value })
    }

    pub fn take_pushed(&self) -> Result<Vec<i32>, courier::Error> {
        self.connection
            .call(&echo_server::TakePushed {})
            .map(|response| response.values)
    }

    pub fn notify_then_reply(&self, count: i32) -> Result<i32, courier::Error> {
        self.connection
            .call(&echo_server::NotifyThenReply { count })
            .map(|response| response.count)
    }

    pub fn echo_bytes(&self, data: Vec<u8>) -> Result<Vec<u8>, courier::Error> {
        self.connection
            .call(&echo_server::EchoBytes { data })
            .map(|response| response.data)
    }

    pub fn read_file(&self, file: OwnedFd) -> Result<String, courier::Error> {
        self.connection
            .call(&echo_server::ReadFile { file })
            .map(|response| response.contents)
    }

    pub fn open_file(&self, contents: String) -> Result<OwnedFd, courier::Error> {
        self.connection
            .call(&echo_server::OpenFile { contents })
            .map(|response| response.file)
    }

    pub fn block_on(&self, signal: OwnedFd, release: OwnedFd) -> Result<(), courier::Error> {
        self.connection
            .call(&echo_server::BlockOn { signal, release })
            .map(|_| ())
    }
}

/// The server side of `EchoServer`: one method per message. Requests return
/// their results or a `HandlerError` (the caller gets `Error::Remote`);
/// one-way messages return nothing.
pub trait EchoServerHandler {
    fn echo(&mut self, text: String) -> Result<String, HandlerError>;
    fn fail(&mut self, reason: String) -> Result<(), HandlerError>;
    fn push(&mut self, value: i32);
    fn take_pushed(&mut self) -> Result<Vec<i32>, HandlerError>;
    fn notify_then_reply(&mut self, count: i32) -> Result<i32, HandlerError>;
    fn echo_bytes(&mut self, data: Vec<u8>) -> Result<Vec<u8>, HandlerError>;
    fn read_file(&mut self, file: OwnedFd) -> Result<String, HandlerError>;
    fn open_file(&mut self, contents: String) -> Result<OwnedFd, HandlerError>;
    fn block_on(&mut self, signal: OwnedFd, release: OwnedFd) -> Result<(), HandlerError>;
}

/// Bridges an [`EchoServerHandler`] to `courier::Handler<EchoServer>`, for
/// `BlockingConnection::serve` (and the tokio server).
pub struct EchoServerService<T>(pub T);

impl<T: EchoServerHandler> courier::Handler<EchoServer> for EchoServerService<T> {
    fn handle(&mut self, message: EchoServerMessage) -> Reply {
        use echo_server::*;
        match message {
            EchoServerMessage::Echo(m) => {
                Reply::from_result(self.0.echo(m.text).map(|text| EchoResponse { text }))
            }
            EchoServerMessage::Fail(m) => {
                Reply::from_result(self.0.fail(m.reason).map(|()| FailResponse {}))
            }
            EchoServerMessage::Push(m) => {
                self.0.push(m.value);
                Reply::none()
            }
            EchoServerMessage::TakePushed(TakePushed {}) => Reply::from_result(
                self.0
                    .take_pushed()
                    .map(|values| TakePushedResponse { values }),
            ),
            EchoServerMessage::NotifyThenReply(m) => Reply::from_result(
                self.0
                    .notify_then_reply(m.count)
                    .map(|count| NotifyThenReplyResponse { count }),
            ),
            EchoServerMessage::EchoBytes(m) => Reply::from_result(
                self.0
                    .echo_bytes(m.data)
                    .map(|data| EchoBytesResponse { data }),
            ),
            EchoServerMessage::ReadFile(m) => Reply::from_result(
                self.0
                    .read_file(m.file)
                    .map(|contents| ReadFileResponse { contents }),
            ),
            EchoServerMessage::OpenFile(m) => Reply::from_result(
                self.0
                    .open_file(m.contents)
                    .map(|file| OpenFileResponse { file }),
            ),
            EchoServerMessage::BlockOn(m) => Reply::from_result(
                self.0
                    .block_on(m.signal, m.release)
                    .map(|()| BlockOnResponse {}),
            ),
        }
    }
}
