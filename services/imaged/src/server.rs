//! [`Imaged`]: both endpoints served on tokio, decoding on a
//! [`DecoderPool`]. The `imaged` binary is this plus confinement and
//! command-line options; tests run it in-process too (unconfined).

use std::path::{Path, PathBuf};

use courier::discovery::Portal;
use courier::tokio::MultiServer;
use courier::{Endpoint, NoMessages};
use tracing::{debug, info};

use crate::decode::DecodeLimits;
use crate::image_decoder::ImageDecoder;
use crate::image_decoder_client::ImageDecoderClient;
use crate::image_decoder_server::{ImageDecoderServer, ImageDecoderServerService};
use crate::pool::DecoderPool;
use crate::service::{DecoderService, SimpleDecoderService};
use crate::{SERVICE_NAME, SIMPLE_SERVICE_NAME};

/// Where imaged listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    /// As the services [`SERVICE_NAME`] and [`SIMPLE_SERVICE_NAME`] in a
    /// portal directory (`None`: this session's, from the environment),
    /// with its lock files and 0700/0600 perimeter.
    Portal(Option<PathBuf>),
    /// At these two socket paths: `ImageDecoderServer`, then the simple
    /// `ImageDecoder`.
    Sockets {
        /// The `ImageDecoderServer` socket.
        image: PathBuf,
        /// The simple `ImageDecoder` socket.
        simple: PathBuf,
    },
}

impl Listen {
    /// `--socket PATH`: the simple endpoint beside it, at `PATH.simple`.
    pub fn socket(path: impl Into<PathBuf>) -> Listen {
        let image = path.into();
        let mut simple = image.clone().into_os_string();
        simple.push(".simple");
        Listen::Sockets {
            image,
            simple: simple.into(),
        }
    }
}

/// What imaged is started with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen.
    pub listen: Listen,
    /// Bounds on each decode.
    pub limits: DecodeLimits,
    /// Decoding threads, started before confinement (at least 1).
    pub workers: usize,
    /// Tokio worker threads for the connections (at least 1).
    pub io_threads: usize,
}

impl Default for Config {
    /// This session's portal, default limits, 2 decoding threads, 1 I/O
    /// thread.
    fn default() -> Config {
        Config {
            listen: Listen::Portal(None),
            limits: DecodeLimits::default(),
            workers: 2,
            io_threads: 1,
        }
    }
}

/// Why imaged could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The tokio runtime or the decoding threads could not start.
    #[error("could not start imaged's threads: {0}")]
    Threads(std::io::Error),
    /// A socket could not be bound (in use, unsafe portal directory...).
    #[error("could not listen as {endpoint}: {source}")]
    Bind {
        /// The endpoint being bound.
        endpoint: &'static str,
        /// Why.
        #[source]
        source: courier::Error,
    },
}

/// imaged, running: both endpoints accept clients until
/// [`shutdown`](Self::shutdown).
///
/// ```no_run
/// use courier_imaged::server::{Config, Imaged, Listen};
///
/// let imaged = Imaged::start(Config { listen: Listen::socket("/tmp/imaged.sock"), ..Config::default() })?;
/// println!("decoding at {}", imaged.image_socket().display());
/// imaged.shutdown();
/// # Ok::<(), courier_imaged::server::StartError>(())
/// ```
#[derive(Debug)]
pub struct Imaged {
    runtime: tokio::runtime::Runtime,
    image: MultiServer<ImageDecoderServer, ImageDecoderClient>,
    simple: MultiServer<ImageDecoder, NoMessages>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), courier::Error>>>,
    pool: DecoderPool,
    image_socket: PathBuf,
    simple_socket: PathBuf,
}

impl Imaged {
    /// Starts the runtime and the decoding threads, binds both sockets and
    /// serves. Clients can connect when this returns.
    ///
    /// # Errors
    ///
    /// [`StartError`]: threads refused, or a socket that cannot be bound.
    pub fn start(config: Config) -> Result<Imaged, StartError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.io_threads.max(1))
            .thread_name("imaged-io")
            .enable_all()
            .build()
            .map_err(StartError::Threads)?;
        let pool = DecoderPool::new(config.workers).map_err(StartError::Threads)?;
        let (image, simple, image_socket, simple_socket) = {
            let _context = runtime.enter();
            bind(&config.listen)?
        };
        let limits = config.limits;
        let tasks = vec![
            runtime.spawn({
                let server = image.clone();
                let pool = pool.clone();
                async move {
                    server
                        .run(move |client| {
                            debug!("image client {} connected", client.id());
                            ImageDecoderServerService(DecoderService::new(
                                client,
                                pool.clone(),
                                limits,
                            ))
                        })
                        .await
                }
            }),
            runtime.spawn({
                let server = simple.clone();
                let pool = pool.clone();
                async move {
                    server
                        .run(move |_client| SimpleDecoderService::new(pool.clone(), limits))
                        .await
                }
            }),
        ];
        info!(
            "serving {} at {} and {} at {}",
            ImageDecoderServer::NAME,
            image_socket.display(),
            ImageDecoder::NAME,
            simple_socket.display()
        );
        Ok(Imaged {
            runtime,
            image,
            simple,
            tasks,
            pool,
            image_socket,
            simple_socket,
        })
    }

    /// Where `ImageDecoderServer` listens.
    pub fn image_socket(&self) -> &Path {
        &self.image_socket
    }

    /// Where the simple `ImageDecoder` listens.
    pub fn simple_socket(&self) -> &Path {
        &self.simple_socket
    }

    /// Runs `future` on imaged's runtime, such as a wait for a signal.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Stops accepting, closes every client, finishes the decodes already
    /// queued and joins every thread. Returns the servers' errors, if any.
    pub fn shutdown(self) -> Vec<courier::Error> {
        self.image.shutdown();
        self.simple.shutdown();
        let mut errors = Vec::new();
        for task in self.tasks {
            match self.runtime.block_on(task) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => errors.push(error),
                Err(error) => errors.push(courier::Error::Io(std::io::Error::other(format!(
                    "a server task failed: {error}"
                )))),
            }
        }
        self.pool.shutdown();
        errors
    }
}

type Bound = (
    MultiServer<ImageDecoderServer, ImageDecoderClient>,
    MultiServer<ImageDecoder, NoMessages>,
    PathBuf,
    PathBuf,
);

fn bind(listen: &Listen) -> Result<Bound, StartError> {
    let image_error = |source: courier::Error| StartError::Bind {
        endpoint: ImageDecoderServer::NAME,
        source,
    };
    let simple_error = |source: courier::Error| StartError::Bind {
        endpoint: ImageDecoder::NAME,
        source,
    };
    match listen {
        Listen::Sockets { image, simple } => Ok((
            MultiServer::bind(remove_stale_socket(image)).map_err(image_error)?,
            MultiServer::bind(remove_stale_socket(simple)).map_err(simple_error)?,
            image.clone(),
            simple.clone(),
        )),
        Listen::Portal(dir) => {
            let portal = match dir {
                Some(dir) => Portal::at(dir),
                None => Portal::from_env().map_err(|e| image_error(e.into()))?,
            };
            let image = portal
                .bind(SERVICE_NAME)
                .map_err(|e| image_error(e.into()))?;
            let simple = portal
                .bind(SIMPLE_SERVICE_NAME)
                .map_err(|e| simple_error(e.into()))?;
            let (image_path, simple_path) = (image.path().to_owned(), simple.path().to_owned());
            Ok((
                MultiServer::from_service(image),
                MultiServer::from_service(simple),
                image_path,
                simple_path,
            ))
        }
    }
}

/// Removes a socket file nobody listens on (left by an imaged that was
/// confined when it stopped, and so could not remove it), so a restart
/// binds again. Anything else at `path` is left for `bind` to report.
fn remove_stale_socket(path: &Path) -> &Path {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    if is_socket {
        let refused = matches!(
            std::os::unix::net::UnixStream::connect(path),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused
        );
        if refused {
            debug!("removing the stale socket {}", path.display());
            let _ = std::fs::remove_file(path);
        }
    }
    path
}
