//! The endpoints of the runtime tests, as `courier-build` generates them from
//! `examples/ipc/Echo.ipc` (compiled by the `courier-examples` build script,
//! a dev-dependency): nothing here is written by hand, so every runtime test
//! that goes through these modules exercises the generated client, async
//! client, handler trait, service and sender traits.
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
#![allow(unused_imports)]

pub use courier_examples::{echo_client, echo_server, other_server};

pub use echo_client::{
    EchoClient, EchoClientHandler, EchoClientMessage, EchoClientSender, EchoClientService,
};
#[cfg(feature = "tokio")]
pub use echo_server::EchoServerAsyncClient;
pub use echo_server::{
    EchoServer, EchoServerClient, EchoServerHandler, EchoServerMessage, EchoServerSender,
    EchoServerService,
};
