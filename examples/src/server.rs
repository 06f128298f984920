//! Runs the example services in a process: a window server and an image
//! decoder, each on its own socket in one directory, over blocking
//! connections (a thread per client) or on tokio.
//!
//! The demo and the cross-process tests start it as a child process with
//! `demo serve <dir>` (see [`process`](crate::process)).

use std::io;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use courier::blocking::BlockingConnection;
use courier::tokio::MultiServer;
use courier::{Endpoint, Handler, NoMessages};

use crate::image_decoder::{ImageDecoder, ImageDecoderService};
use crate::services::{self, Windows};
use crate::window_client::WindowClient;
use crate::window_server::{WindowServer, WindowServerService};

/// Where the services listen: one socket each, in one directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePaths {
    /// The `WindowServer` socket: `<dir>/window-server`.
    pub window_server: PathBuf,
    /// The `ImageDecoder` socket: `<dir>/image-decoder`.
    pub image_decoder: PathBuf,
}

impl ServicePaths {
    /// The sockets in `dir`.
    pub fn in_dir(dir: &Path) -> ServicePaths {
        ServicePaths {
            window_server: dir.join("window-server"),
            image_decoder: dir.join("image-decoder"),
        }
    }
}

/// Which runtime serves the clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// A thread per client, each driving a `BlockingConnection`.
    Blocking,
    /// A tokio runtime and a `MultiServer` per service.
    Tokio,
}

impl Flavour {
    /// `blocking` or `tokio`, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Blocking => "blocking",
            Flavour::Tokio => "tokio",
        }
    }

    /// The flavour named `name` (`blocking` or `tokio`).
    pub fn from_name(name: &str) -> Option<Flavour> {
        match name {
            "blocking" => Some(Flavour::Blocking),
            "tokio" => Some(Flavour::Tokio),
            _ => None,
        }
    }
}

/// What a server did, once it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Connections handled to the end, both services together.
    pub clients: usize,
    /// Why connections ended badly (handshake refused, protocol errors).
    pub errors: Vec<String>,
}

/// The services over blocking connections: an accepting thread per service
/// and a thread per client.
#[derive(Debug)]
pub struct BlockingServer {
    paths: ServicePaths,
    stopping: Arc<AtomicBool>,
    acceptors: Vec<JoinHandle<Report>>,
}

impl BlockingServer {
    /// Binds both sockets and starts accepting clients. The services are
    /// reachable when this returns.
    ///
    /// # Errors
    ///
    /// When a socket cannot be bound (the path exists, the directory is
    /// missing or not writable).
    pub fn start(paths: &ServicePaths) -> io::Result<BlockingServer> {
        let stopping = Arc::new(AtomicBool::new(false));
        let window_listener = bind(&paths.window_server)?;
        let decoder_listener = bind(&paths.image_decoder)?;
        let acceptors = vec![
            spawn_acceptor::<WindowServer, WindowClient, _>(
                window_listener,
                Arc::clone(&stopping),
                |connection| WindowServerService(Windows::new(connection.clone())),
            ),
            spawn_acceptor::<ImageDecoder, NoMessages, _>(
                decoder_listener,
                Arc::clone(&stopping),
                |_| ImageDecoderService(services::PpmDecoder),
            ),
        ];
        Ok(BlockingServer {
            paths: paths.clone(),
            stopping,
            acceptors,
        })
    }

    /// Stops accepting, closes the connections still open, waits for every
    /// thread and removes the sockets.
    pub fn shutdown(self) -> Report {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake each accepting thread with a connection of our own; it sees
        // the flag and stops.
        for path in [&self.paths.window_server, &self.paths.image_decoder] {
            let _ = std::os::unix::net::UnixStream::connect(path);
        }
        let mut report = Report::default();
        for acceptor in self.acceptors {
            match acceptor.join() {
                Ok(part) => {
                    report.clients += part.clients;
                    report.errors.extend(part.errors);
                }
                Err(_) => report
                    .errors
                    .push("an accepting thread panicked".to_string()),
            }
        }
        for path in [&self.paths.window_server, &self.paths.image_decoder] {
            let _ = std::fs::remove_file(path);
        }
        report
    }
}

/// The services on tokio: a `MultiServer` per service, on a runtime of its
/// own with two worker threads.
#[derive(Debug)]
pub struct TokioServer {
    runtime: tokio::runtime::Runtime,
    window_server: MultiServer<WindowServer, WindowClient>,
    image_decoder: MultiServer<ImageDecoder, NoMessages>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), courier::Error>>>,
    ended: Arc<Mutex<Report>>,
}

impl TokioServer {
    /// Binds both sockets and starts serving. The services are reachable
    /// when this returns.
    ///
    /// # Errors
    ///
    /// When the runtime cannot start or a socket cannot be bound.
    pub fn start(paths: &ServicePaths) -> Result<TokioServer, courier::Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(courier::Error::Io)?;
        let ended = Arc::new(Mutex::new(Report::default()));
        let window_server = MultiServer::<WindowServer, WindowClient>::builder()
            .on_client_disconnected(record(&ended, WindowServer::NAME))
            .bind(&paths.window_server)?;
        let image_decoder = MultiServer::<ImageDecoder, NoMessages>::builder()
            .on_client_disconnected(record(&ended, ImageDecoder::NAME))
            .bind(&paths.image_decoder)?;
        let tasks = vec![
            runtime.spawn({
                let server = window_server.clone();
                async move {
                    server
                        .run(|client| WindowServerService(Windows::new(client)))
                        .await
                }
            }),
            runtime.spawn({
                let server = image_decoder.clone();
                async move {
                    server
                        .run(|_client| ImageDecoderService(services::PpmDecoder))
                        .await
                }
            }),
        ];
        Ok(TokioServer {
            runtime,
            window_server,
            image_decoder,
            tasks,
            ended,
        })
    }

    /// Stops accepting, closes the connections still open, waits for every
    /// task (the sockets are removed by the servers).
    pub fn shutdown(self) -> Report {
        self.window_server.shutdown();
        self.image_decoder.shutdown();
        let mut errors = Vec::new();
        for task in self.tasks {
            match self.runtime.block_on(task) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => errors.push(error.to_string()),
                Err(error) => errors.push(format!("a server task failed: {error}")),
            }
        }
        let mut report =
            std::mem::take(&mut *self.ended.lock().unwrap_or_else(PoisonError::into_inner));
        report.errors.extend(errors);
        report
    }
}

/// A disconnection hook that counts clients into `report`, with the reason
/// of those that did not leave in an orderly way.
fn record(
    report: &Arc<Mutex<Report>>,
    service: &'static str,
) -> impl Fn(courier::tokio::ClientId, &courier::proto::CloseReason) + Send + Sync + 'static {
    let report = Arc::clone(report);
    move |id, reason| {
        let mut report = report.lock().unwrap_or_else(PoisonError::into_inner);
        report.clients += 1;
        if !reason.is_orderly() {
            report
                .errors
                .push(format!("{service}: client {}: {reason}", id.get()));
        }
    }
}

fn bind(path: &Path) -> io::Result<UnixListener> {
    UnixListener::bind(path).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("could not listen at `{}`: {error}", path.display()),
        )
    })
}

/// Accepts clients of `L` until `stopping`, serving each on its own thread
/// with the handler `make_handler` builds for its connection.
/// Closes its connection when dropped (also while unwinding).
struct CloseOnDrop<L: Endpoint, P: Endpoint>(BlockingConnection<L, P>);

impl<L: Endpoint, P: Endpoint> Drop for CloseOnDrop<L, P> {
    fn drop(&mut self) {
        self.0.close();
    }
}

fn spawn_acceptor<L, P, H>(
    listener: UnixListener,
    stopping: Arc<AtomicBool>,
    make_handler: fn(&BlockingConnection<L, P>) -> H,
) -> JoinHandle<Report>
where
    L: Endpoint,
    P: Endpoint,
    H: Handler<L> + 'static,
{
    thread::spawn(move || {
        let open: Arc<Mutex<Vec<BlockingConnection<L, P>>>> = Arc::default();
        let mut clients = Vec::new();
        for stream in listener.incoming() {
            if stopping.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let open = Arc::clone(&open);
            let stopping = Arc::clone(&stopping);
            clients.push(thread::spawn(move || {
                let connection = BlockingConnection::<L, P>::accept(stream)?;
                open.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(connection.clone());
                // Shut down between the flag and the list: close it here.
                if stopping.load(Ordering::SeqCst) {
                    connection.close();
                }
                // The clone in `open` keeps the socket alive: close it when
                // this thread ends, even by a panic in the handler, so the
                // client gets `Disconnected` instead of waiting forever.
                let _close_on_exit = CloseOnDrop(connection.clone());
                connection.serve(&mut make_handler(&connection))
            }));
        }
        for connection in open.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            connection.close();
        }
        let mut report = Report::default();
        for client in clients {
            match client.join() {
                Ok(Ok(())) => report.clients += 1,
                Ok(Err(error)) => report.errors.push(format!("{}: {error}", L::NAME)),
                Err(_) => report
                    .errors
                    .push(format!("{}: a client's thread panicked", L::NAME)),
            }
        }
        report
    })
}
