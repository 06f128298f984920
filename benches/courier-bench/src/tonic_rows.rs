//! tonic (gRPC over HTTP/2) over a Unix socket: a unary `Ping(u64) -> u64`.
//!
//! There is no `protoc` on the machine, so nothing is generated from a
//! `.proto` file: the two messages derive `prost::Message` by hand, the
//! server is a hand-written tower service routing `/bench.Bench/Ping` to
//! tonic's own `server::Grpc::unary` with its `ProstCodec` (what
//! `tonic-build` would generate), and the client calls
//! `client::Grpc::unary` on a `Channel` connected through a Unix-socket
//! connector. Both sides run on current-thread runtimes, like the other async
//! rows.

use std::convert::Infallible;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use hyper_util::rt::TokioIo;
use tonic::body::Body;
use tonic::codec::ProstCodec;
use tonic::codegen::http;
use tonic::transport::{Endpoint, Server, Uri};
use tonic::{Request, Response, Status};

use crate::report::Samples;

/// The request: `x`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct PingRequest {
    /// The number to increment.
    #[prost(uint64, tag = "1")]
    pub x: u64,
}

/// The reply: `y = x + 1`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct PingReply {
    /// `x + 1`.
    #[prost(uint64, tag = "1")]
    pub y: u64,
}

/// The gRPC method's path.
const PING_PATH: &str = "/bench.Bench/Ping";

/// Answers one HTTP/2 request: the ping method, or gRPC's "unimplemented".
async fn route(request: http::Request<Body>) -> Result<http::Response<Body>, Infallible> {
    if request.uri().path() == PING_PATH {
        let ping = tower::service_fn(|request: Request<PingRequest>| async move {
            let y = request.into_inner().x.wrapping_add(1);
            Ok::<_, Status>(Response::new(PingReply { y }))
        });
        let mut grpc = tonic::server::Grpc::new(ProstCodec::<PingReply, PingRequest>::default());
        return Ok(grpc.unary(ping, request).await);
    }
    let status = Status::unimplemented(format!(
        "no method `{}`; this server has only `{PING_PATH}`",
        request.uri().path()
    ));
    Ok(status.into_http())
}

/// Serves on a current-thread runtime, on a thread of its own, forever.
pub fn serve(path: &Path) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::UnixListener::bind(path)?
    };
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
            let service = tower::service_fn(route);
            if let Err(error) = Server::builder()
                .serve_with_incoming(service, incoming)
                .await
            {
                eprintln!("tonic server: {error}");
            }
        });
    });
    Ok(())
}

/// `n` round trips from a current-thread runtime.
pub fn round_trips(path: &Path, n: usize) -> io::Result<Samples> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let path: PathBuf = path.to_path_buf();
    runtime.block_on(async move {
        // The URI is required by the API and ignored by the connector.
        let channel = Endpoint::try_from("http://[::]:50051")
            .map_err(io::Error::other)?
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    Ok::<_, io::Error>(TokioIo::new(stream))
                }
            }))
            .await
            .map_err(|e| io::Error::other(format!("tonic could not connect: {e}")))?;
        let mut client = tonic::client::Grpc::new(channel);
        let method = http::uri::PathAndQuery::from_static(PING_PATH);
        let mut samples = Samples::with_capacity(n);
        for x in 0..n as u64 {
            let start = Instant::now();
            client
                .ready()
                .await
                .map_err(|e| io::Error::other(format!("tonic channel not ready: {e}")))?;
            let reply = client
                .unary(
                    Request::new(PingRequest { x }),
                    method.clone(),
                    ProstCodec::<PingRequest, PingReply>::default(),
                )
                .await
                .map_err(|e| io::Error::other(format!("tonic ping failed: {e}")))?;
            samples.push(start.elapsed());
            let y = reply.into_inner().y;
            if y != x + 1 {
                return Err(io::Error::other(format!(
                    "tonic ping answered {y}, expected {}",
                    x + 1
                )));
            }
        }
        Ok(samples)
    })
}
