//! `courier monitor SERVICE`: interposes between a service and its clients
//! and prints their traffic, live.
//!
//! How it works:
//!
//! 1. It asks the service for its interface (introspection), to decode
//!    what it will see.
//! 2. It binds its own socket beside the service's (mode 0600), moves the
//!    service's socket to `.NAME.monitored` and its own into the service's
//!    path (two renames; a client connecting in between fails to find
//!    either and should retry).
//! 3. For each client that connects, it connects to the moved socket and
//!    forwards both ways, bytes and fds (each frame's fds with its first
//!    byte, as the wire format requires), printing every hello and frame.
//!    It clears the SHM_POOL flag of both hellos, so the shared-memory pool
//!    is never active on a monitored connection: large messages travel
//!    inline and can be decoded.
//! 4. On SIGINT or SIGTERM it stops accepting, removes its socket, moves the
//!    service's back, and disconnects the clients that came through it.
//!    Clients that connected directly before it started never see it.
//!
//! While monitored, the service cannot be restarted under the same name
//! (its path answers); after a monitor crash, `courier monitor --restore`
//! moves the socket back.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener as StdListener;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use courier::PeerCredentials;
use courier::proto::{FrameHeader, HEADER_LEN, INTROSPECT_MAGIC, Introspection};
use courier::transport::{recv_with_fds, send_with_fds};
use courier_value::{InterfaceSchema, decode_message};
use serde_json::{Map, Value as Json, json};
use tokio::io::Interest;
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};

use crate::error::{CliResult, Failure};
use crate::service;
use crate::split::{Hello, Splitter, Unit};

/// Bytes asked of a socket per read.
const READ_BUFFER: usize = 256 << 10;
/// Time for the introspection before monitoring starts.
const INTROSPECT_SECONDS: f64 = 10.0;

/// Where the service's socket goes while monitored: `.NAME.monitored` in
/// the same directory.
fn hidden_path(path: &Path) -> CliResult<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("`{}` names no socket file", path.display())))?;
    Ok(path.with_file_name(format!(".{}.monitored", name.to_string_lossy())))
}

/// Monitors `service` until SIGINT or SIGTERM.
///
/// # Errors
///
/// Usage failures for a bad name or a socket already moved aside; remote
/// ones when the service does not answer; a failure to put the socket back
/// says how to do it by hand.
pub fn run(service_name: &str, json: bool) -> CliResult<()> {
    let path = service::socket_path(service_name)?;
    let hidden = hidden_path(&path)?;
    if std::fs::symlink_metadata(&hidden).is_ok() {
        return Err(Failure::usage(format!(
            "`{}` exists: another monitor runs on `{service_name}`, or one stopped without \
             cleaning up; `courier monitor --restore {service_name}` puts the socket back",
            hidden.display()
        )));
    }
    let deadline = service::deadline(INTROSPECT_SECONDS)?;
    let mut connection = service::connect(service_name, &path, deadline)?;
    let answer = service::introspect(service_name, &mut connection, deadline)?;
    drop(connection);
    let schema = match service::schema_of(service_name, &answer) {
        Ok(schema) => Some(schema),
        Err(failure) => {
            let _ = writeln!(
                std::io::stderr(),
                "warning: {:#}; messages are shown undecoded",
                failure.error()
            );
            None
        }
    };
    let ours = interpose(&path, &hidden)?;
    let printer = Printer {
        json,
        schema,
        broken: AtomicBool::new(false),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::remote(format!("cannot start the event loop: {error}")));
    match runtime {
        Ok(runtime) => {
            let result =
                runtime.block_on(serve(ours.listener, &hidden, service_name, &path, printer));
            // Put everything back first, then drop the runtime: the
            // clients that came through the monitor are disconnected.
            let restored = put_back(&path, &hidden, ours.identity);
            drop(runtime);
            result.and(restored)
        }
        Err(failure) => put_back(&path, &hidden, ours.identity).and(Err(failure)),
    }
}

/// The monitor's socket in the service's place.
struct Interposed {
    listener: StdListener,
    /// Device and inode of the monitor's socket file.
    identity: (u64, u64),
}

/// Binds the monitor's socket and swaps it with the service's.
fn interpose(path: &Path, hidden: &Path) -> CliResult<Interposed> {
    let temporary = path.with_file_name(format!(
        ".{}.monitor-{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&temporary);
    let listener = StdListener::bind(&temporary).map_err(|error| {
        Failure::usage(format!(
            "cannot listen at `{}`: {error}",
            temporary.display()
        ))
    })?;
    let cleanup = |failure: Failure| {
        let _ = std::fs::remove_file(&temporary);
        failure
    };
    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600)).map_err(
        |error| {
            cleanup(Failure::usage(format!(
                "cannot chmod `{}`: {error}",
                temporary.display()
            )))
        },
    )?;
    let metadata = std::fs::metadata(&temporary).map_err(|error| {
        cleanup(Failure::usage(format!(
            "cannot stat `{}`: {error}",
            temporary.display()
        )))
    })?;
    std::fs::rename(path, hidden).map_err(|error| {
        cleanup(Failure::usage(format!(
            "cannot move `{}` aside to `{}`: {error}",
            path.display(),
            hidden.display()
        )))
    })?;
    if let Err(error) = std::fs::rename(&temporary, path) {
        let back = std::fs::rename(hidden, path);
        return Err(cleanup(Failure::usage(format!(
            "cannot put the monitor's socket at `{}`: {error}{}",
            path.display(),
            match back {
                Ok(()) => String::new(),
                Err(e) => format!(
                    "; and the service's socket could not be moved back from `{}`: {e}",
                    hidden.display()
                ),
            }
        ))));
    }
    Ok(Interposed {
        listener,
        identity: (metadata.dev(), metadata.ino()),
    })
}

/// Removes the monitor's socket (if it is still the one it bound) and moves
/// the service's back.
fn put_back(path: &Path, hidden: &Path, ours: (u64, u64)) -> CliResult<()> {
    if let Ok(metadata) = std::fs::symlink_metadata(path) {
        if (metadata.dev(), metadata.ino()) == ours {
            let _ = std::fs::remove_file(path);
        }
    }
    std::fs::rename(hidden, path).map_err(|error| {
        Failure::remote(format!(
            "cannot move the service's socket back from `{}` to `{}`: {error}; \
             run `courier monitor --restore {}`",
            hidden.display(),
            path.display(),
            path.display()
        ))
    })
}

/// Puts a service's socket back after a monitor that did not stop cleanly.
///
/// # Errors
///
/// A usage failure when there is nothing to restore or a monitor still
/// answers at the path.
pub fn restore(service_name: &str) -> CliResult<()> {
    let path = service::socket_path(service_name)?;
    let hidden = hidden_path(&path)?;
    if std::fs::symlink_metadata(&hidden).is_err() {
        return Err(Failure::usage(format!(
            "nothing to restore: `{}` does not exist",
            hidden.display()
        )));
    }
    if let Ok(metadata) = std::fs::symlink_metadata(&path) {
        if !metadata.file_type().is_socket() {
            return Err(Failure::usage(format!(
                "`{}` is not a socket; move it away, then run --restore again",
                path.display()
            )));
        }
        if let Ok(stream) = std::os::unix::net::UnixStream::connect(&path) {
            let pid = PeerCredentials::of(&stream).map(|c| c.pid).unwrap_or(0);
            return Err(Failure::usage(format!(
                "`{}` answers (pid {pid}): a monitor still runs there; stop it with Ctrl-C instead",
                path.display()
            )));
        }
        std::fs::remove_file(&path).map_err(|error| {
            Failure::usage(format!("cannot remove `{}`: {error}", path.display()))
        })?;
    }
    std::fs::rename(&hidden, &path).map_err(|error| {
        Failure::usage(format!(
            "cannot move `{}` back to `{}`: {error}",
            hidden.display(),
            path.display()
        ))
    })?;
    let _ = writeln!(std::io::stderr(), "restored `{}`", path.display());
    Ok(())
}

/// Accepts clients until a signal (or standard output closes).
async fn serve(
    listener: StdListener,
    hidden: &Path,
    service_name: &str,
    path: &Path,
    printer: Printer,
) -> CliResult<()> {
    let signal_failure =
        |error: std::io::Error| Failure::remote(format!("cannot catch signals: {error}"));
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_failure)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_failure)?;
    listener
        .set_nonblocking(true)
        .map_err(|error| Failure::remote(format!("cannot use the listening socket: {error}")))?;
    let listener = UnixListener::from_std(listener)
        .map_err(|error| Failure::remote(format!("cannot use the listening socket: {error}")))?;
    let printer = Rc::new(printer);
    let stop = Rc::new(tokio::sync::Notify::new());
    let local = tokio::task::LocalSet::new();
    let _ = writeln!(
        std::io::stderr(),
        "monitoring {service_name} at {} (the service's socket is at {}; Ctrl-C to stop)",
        path.display(),
        hidden.display()
    );
    let hidden = hidden.to_owned();
    local
        .run_until(async {
            let mut next_id: u64 = 0;
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        next_id += 1;
                        let printer = Rc::clone(&printer);
                        let stop = Rc::clone(&stop);
                        let hidden = hidden.clone();
                        tokio::task::spawn_local(async move {
                            client(next_id, stream, &hidden, &printer).await;
                            if printer.broken.load(Ordering::SeqCst) {
                                stop.notify_one();
                            }
                        });
                    }
                    _ = interrupt.recv() => break,
                    _ = terminate.recv() => break,
                    () = stop.notified() => break,
                }
            }
        })
        .await;
    drop(listener);
    Ok(())
}

/// Which way a unit goes.
#[derive(Debug, Clone, Copy)]
enum Direction {
    ClientToService,
    ServiceToClient,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::ClientToService => "client->service",
            Direction::ServiceToClient => "service->client",
        }
    }
}

/// Serves one client: connects to the service and forwards both ways.
async fn client(id: u64, stream: UnixStream, hidden: &Path, printer: &Printer) {
    let credentials = PeerCredentials::of(&stream).ok();
    let upstream = match UnixStream::connect(hidden).await {
        Ok(upstream) => upstream,
        Err(error) => {
            printer.event(
                id,
                "refused",
                json!({"reason": format!("cannot connect to the service: {error}")}),
            );
            return;
        }
    };
    printer.event(
        id,
        "connected",
        json!({"pid": credentials.map(|c| c.pid), "uid": credentials.map(|c| c.uid)}),
    );
    let (to_service, to_client) = tokio::join!(
        pump(id, &stream, &upstream, Direction::ClientToService, printer),
        pump(id, &upstream, &stream, Direction::ServiceToClient, printer),
    );
    let mut detail = Map::new();
    for (label, result) in [("client", to_service), ("service", to_client)] {
        if let Err(error) = result {
            detail.insert(format!("{label}_error"), json!(error.to_string()));
        }
    }
    printer.event(id, "disconnected", Json::Object(detail));
}

/// Forwards `from` to `to` unit by unit, printing each, until `from` ends;
/// then shuts down the writing side of `to`.
async fn pump(
    id: u64,
    from: &UnixStream,
    to: &UnixStream,
    direction: Direction,
    printer: &Printer,
) -> std::io::Result<()> {
    let mut splitter = Splitter::new();
    let mut buffer = vec![0u8; READ_BUFFER];
    let result = async {
        loop {
            let mut fds = Vec::new();
            let received = from
                .async_io(Interest::READABLE, || recv_with_fds(from, &mut buffer, &mut fds))
                .await;
            let received = match received {
                Ok(received) => received,
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                    ) =>
                {
                    return Ok(());
                }
                Err(error) => return Err(error),
            };
            if received.bytes == 0 && fds.is_empty() {
                if splitter.pending_bytes() > 0 {
                    printer.event(
                        id,
                        "cut short",
                        json!({"direction": direction.label(), "bytes": splitter.pending_bytes()}),
                    );
                }
                return Ok(());
            }
            splitter.push(&buffer[..received.bytes], fds);
            while let Some(unit) = splitter.next_unit() {
                let (bytes, fds) = match unit {
                    Unit::Hello { hello, bytes } => {
                        printer.hello(id, direction, &hello);
                        (bytes, Vec::new())
                    }
                    Unit::Frame { header, bytes, fds } => {
                        printer.frame(id, direction, &header, &bytes[HEADER_LEN..], &fds);
                        (bytes, fds)
                    }
                    Unit::LargeFrame { header, bytes, fds } => {
                        printer.large_frame(id, direction, &header, fds.len());
                        (bytes, fds)
                    }
                    Unit::Continuation { bytes } => (bytes, Vec::new()),
                    Unit::Raw { bytes, fds } => {
                        printer.event(id, "raw", json!({"direction": direction.label(), "bytes": bytes.len(), "fds": fds.len()}));
                        (bytes, fds)
                    }
                };
                write_all(to, &bytes, fds).await?;
            }
        }
    }
    .await;
    let _ = rustix::net::shutdown(to, rustix::net::Shutdown::Write);
    result
}

/// Writes `bytes` to `to`, `fds` attached to the first byte.
async fn write_all(to: &UnixStream, bytes: &[u8], mut fds: Vec<OwnedFd>) -> std::io::Result<()> {
    let mut written = 0;
    while written < bytes.len() || !fds.is_empty() {
        let n = to
            .async_io(Interest::WRITABLE, || {
                let borrowed: Vec<_> = fds.iter().map(std::os::fd::AsFd::as_fd).collect();
                send_with_fds(to, &bytes[written..], &borrowed)
            })
            .await?;
        fds.clear();
        written += n;
        if bytes.is_empty() {
            break;
        }
    }
    Ok(())
}

/// Prints what the monitor sees, as text or JSON lines.
struct Printer {
    json: bool,
    schema: Option<InterfaceSchema>,
    /// Standard output is gone: the monitor should stop.
    broken: AtomicBool,
}

impl Printer {
    fn emit(&self, human: String, mut object: Map<String, Json>) {
        let (time, timestamp) = now();
        let mut stdout = std::io::stdout().lock();
        let result = if self.json {
            let mut line = Map::new();
            line.insert("time".to_owned(), json!(time));
            line.insert("timestamp".to_owned(), json!(timestamp));
            line.append(&mut object);
            writeln!(stdout, "{}", Json::Object(line))
        } else {
            writeln!(stdout, "{time} {human}")
        };
        if result.and_then(|()| stdout.flush()).is_err() {
            self.broken.store(true, Ordering::SeqCst);
        }
    }

    /// A client's life: `connected`, `disconnected`, `refused`, `raw`.
    fn event(&self, client: u64, event: &str, detail: Json) {
        let mut object = Map::new();
        object.insert("client".to_owned(), json!(client));
        object.insert("event".to_owned(), json!(event));
        let mut human = format!("#{client} {event}");
        if let Json::Object(detail) = detail {
            let parts: Vec<String> = detail
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    format!(
                        "{k} {}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                    )
                })
                .collect();
            if !parts.is_empty() {
                human.push_str(&format!(" ({})", parts.join(", ")));
            }
            object.extend(detail);
        }
        self.emit(human, object);
    }

    fn hello(&self, client: u64, direction: Direction, hello: &Hello) {
        let pool = hello.flags & courier::proto::HELLO_FLAG_SHM_POOL != 0;
        let any_peer = hello.flags & courier::proto::HELLO_FLAG_ANY_PEER != 0;
        let endpoints = if any_peer {
            "any peer (a generic tool)".to_owned()
        } else {
            format!(
                "handles {} ({}), expects {} ({})",
                hello.local.0, hello.local.1, hello.peer.0, hello.peer.1
            )
        };
        let human = format!(
            "#{client} {} hello: {endpoints}{}",
            direction.label(),
            if pool { ", pool offer removed" } else { "" }
        );
        let object = json!({
            "client": client,
            "event": "hello",
            "direction": direction.label(),
            "local": {"name": hello.local.0, "magic": hello.local.1},
            "peer": {"name": hello.peer.0, "magic": hello.peer.1},
            "flags": hello.flags,
            "any_peer": any_peer,
            "pool_offer_removed": pool,
        });
        if let Json::Object(object) = object {
            self.emit(human, object);
        }
    }

    fn frame(
        &self,
        client: u64,
        direction: Direction,
        header: &FrameHeader,
        payload: &[u8],
        fds: &[OwnedFd],
    ) {
        let kind = if header.is_error() {
            "error"
        } else if header.is_response() {
            "response"
        } else if header.request_id != 0 {
            "request"
        } else {
            "one-way"
        };
        let mut object = Map::new();
        object.insert("client".to_owned(), json!(client));
        object.insert("event".to_owned(), json!("message"));
        object.insert("direction".to_owned(), json!(direction.label()));
        let (endpoint, message, args, args_human) = self.describe(header, payload, fds);
        object.insert("endpoint".to_owned(), json!(endpoint));
        object.insert("magic".to_owned(), json!(header.magic));
        object.insert("message".to_owned(), json!(message));
        object.insert("id".to_owned(), json!(header.message_id));
        object.insert("kind".to_owned(), json!(kind));
        object.insert("request_id".to_owned(), json!(header.request_id));
        object.extend(args);
        object.insert("fds".to_owned(), json!(fds.len()));
        object.insert("bytes".to_owned(), json!(payload.len()));
        let request = if header.request_id != 0 {
            format!(" #{}", header.request_id)
        } else {
            String::new()
        };
        let human = format!(
            "#{client} {} {endpoint} {kind}{request} {args_human} [{} fds, {} bytes]",
            direction.label(),
            fds.len(),
            payload.len()
        );
        self.emit(human, object);
    }

    /// A frame too large to gather: its header only.
    fn large_frame(&self, client: u64, direction: Direction, header: &FrameHeader, fds: usize) {
        let name = self
            .schema
            .as_ref()
            .and_then(|s| s.message(header.magic, header.message_id))
            .map_or_else(
                || format!("message {}", header.message_id),
                |m| m.name.clone(),
            );
        let object = json!({
            "client": client,
            "event": "message",
            "direction": direction.label(),
            "magic": header.magic,
            "message": name,
            "id": header.message_id,
            "request_id": header.request_id,
            "decode_error": "too large to decode while forwarding",
            "fds": fds,
            "bytes": header.payload_len,
        });
        let human = format!(
            "#{client} {} {name} (not decoded: {} bytes, too large) [{fds} fds, {} bytes]",
            direction.label(),
            header.payload_len,
            header.payload_len
        );
        if let Json::Object(object) = object {
            self.emit(human, object);
        }
    }

    /// (endpoint, message name, JSON fields, human text) of a frame.
    fn describe(
        &self,
        header: &FrameHeader,
        payload: &[u8],
        fds: &[OwnedFd],
    ) -> (String, String, Map<String, Json>, String) {
        let mut fields = Map::new();
        if header.magic == INTROSPECT_MAGIC {
            let name = if header.is_response() {
                "introspect_response"
            } else {
                "introspect"
            };
            let mut human = format!("{name}()");
            if header.is_response() && !header.is_error() {
                if let Ok(answer) = Introspection::decode(payload) {
                    let endpoints: Vec<Json> = answer
                        .endpoints
                        .iter()
                        .map(|e| json!({"name": e.name, "magic": e.magic}))
                        .collect();
                    let names: Vec<String> = answer
                        .endpoints
                        .iter()
                        .map(|e| format!("{} ({})", e.name, e.magic))
                        .collect();
                    human = format!(
                        "{name}(endpoints: {}, definition: {} bytes)",
                        names.join(", "),
                        answer.definition.len()
                    );
                    fields.insert(
                        "args".to_owned(),
                        json!({"endpoints": endpoints, "definition_bytes": answer.definition.len()}),
                    );
                }
            }
            return (
                "courier:introspect".to_owned(),
                name.to_owned(),
                fields,
                human,
            );
        }
        let message = self
            .schema
            .as_ref()
            .and_then(|s| s.message(header.magic, header.message_id));
        let endpoint = self
            .schema
            .as_ref()
            .and_then(|s| s.endpoint_by_magic(header.magic))
            .map_or_else(|| format!("magic {}", header.magic), |e| e.name.clone());
        let name = message.map_or_else(
            || format!("message {}", header.message_id),
            |m| m.name.clone(),
        );
        if header.is_error() {
            let text = error_text(payload);
            fields.insert("error".to_owned(), json!(text));
            return (
                endpoint,
                name.clone(),
                fields,
                format!("{name}: error {text:?}"),
            );
        }
        let Some(message) = message else {
            fields.insert(
                "decode_error".to_owned(),
                json!("not in the service's interface"),
            );
            return (
                endpoint,
                name.clone(),
                fields,
                format!("{name} (not decoded: not in the interface)"),
            );
        };
        let copies: Result<Vec<OwnedFd>, _> = fds.iter().map(OwnedFd::try_clone).collect();
        let decoded = copies
            .map_err(|error| format!("cannot copy its fds to decode them: {error}"))
            .and_then(|copies| decode_message(message, payload, copies).map_err(|e| e.to_string()));
        match decoded {
            Ok(decoded) => {
                let json = decoded.to_json();
                fields.insert("args".to_owned(), json["args"].clone());
                (endpoint, name, fields, decoded.to_string())
            }
            Err(error) => {
                let human = format!("{name} (not decoded: {error})");
                fields.insert("decode_error".to_owned(), json!(error));
                (endpoint, name, fields, human)
            }
        }
    }
}

/// The text of an error response's payload (one encoded `String`).
fn error_text(payload: &[u8]) -> String {
    payload
        .get(4..)
        .map(|text| String::from_utf8_lossy(text).into_owned())
        .unwrap_or_default()
}

/// The time of day (UTC, `HH:MM:SS.mmm`) and seconds since the epoch.
fn now() -> (String, f64) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since.as_secs();
    let day = seconds % 86_400;
    let text = format!(
        "{:02}:{:02}:{:02}.{:03}",
        day / 3600,
        day % 3600 / 60,
        day % 60,
        since.subsec_millis()
    );
    (text, since.as_secs_f64())
}
