//! `courier list`: the services of the portal directory and whether they
//! answer.

use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use courier::HandshakeErrorKind;
use courier::proto::CloseReason;
use serde_json::{Value as Json, json};

use crate::driver::{DriverError, DynConnection};
use crate::error::{CliResult, Failure};

/// How long, by default, a socket may take to send its hello before it is
/// `silent` (`--timeout`): enough for a live service on a loaded machine.
pub const DEFAULT_TIMEOUT_SECS: f64 = 2.0;

/// What a socket did when tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It completed a courier handshake.
    Live,
    /// Nothing listens (`ECONNREFUSED`).
    Stale,
    /// It accepted, but sent no hello in time.
    Silent,
    /// It closed the connection or refused this client.
    Refused(String),
    /// It answered something that is not a courier hello.
    NotCourier(String),
    /// Connecting failed otherwise.
    Error(String),
}

impl Status {
    /// The word shown in the table.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::Stale => "stale",
            Status::Silent => "silent",
            Status::Refused(_) => "refused",
            Status::NotCourier(_) => "not courier",
            Status::Error(_) => "error",
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            Status::Refused(d) | Status::NotCourier(d) | Status::Error(d) => Some(d),
            _ => None,
        }
    }
}

/// One socket of the directory.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The file name: the service name.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
    /// What it did.
    pub status: Status,
    /// The listening process (live services only).
    pub pid: Option<u32>,
    /// The listening process's uid, or the socket file's owner.
    pub uid: Option<u32>,
    /// The endpoint served and the endpoint its clients handle, from the
    /// service's hello: (name, magic).
    pub endpoints: Vec<(String, u32)>,
    /// `courier monitor` sits in front of it (PID is then the monitor's).
    pub monitored: bool,
}

impl Entry {
    fn to_json(&self) -> Json {
        let endpoints: Vec<Json> = self
            .endpoints
            .iter()
            .map(|(name, magic)| json!({"name": name, "magic": magic}))
            .collect();
        let mut object = json!({
            "name": self.name,
            "path": self.path.display().to_string(),
            "status": self.status.word(),
            "pid": self.pid,
            "uid": self.uid,
            "endpoints": endpoints,
            "monitored": self.monitored,
        });
        if let (Some(detail), Json::Object(map)) = (self.status.detail(), &mut object) {
            map.insert("detail".to_owned(), json!(detail));
        }
        object
    }
}

/// Lists `portal_dir` (or this session's portal directory), giving each
/// socket `timeout_secs` seconds to say hello.
///
/// A directory that does not exist is an empty list, with a note on
/// stderr: no service has run in this session yet.
///
/// # Errors
///
/// A usage failure when the timeout is not a number of seconds, or when
/// the directory cannot be read (permissions, not a directory).
pub fn run(portal_dir: Option<&Path>, json: bool, timeout_secs: f64) -> CliResult<()> {
    let timeout = Duration::try_from_secs_f64(timeout_secs).map_err(|_| {
        Failure::usage(format!(
            "--timeout {timeout_secs} is not a number of seconds; give a positive number such as 5"
        ))
    })?;
    let dir = match portal_dir {
        Some(dir) => dir.to_owned(),
        None => courier::discovery::portal_dir().map_err(|error| {
            Failure::usage(format!("cannot find the portal directory: {error}"))
        })?,
    };
    let entries = match scan(&dir, timeout)? {
        Some(entries) => entries,
        None => {
            writeln!(
                io::stderr().lock(),
                "note: the portal directory `{}` does not exist: no courier service has run \
                 here yet (services create it when they start)",
                dir.display()
            )?;
            Vec::new()
        }
    };
    let mut stdout = io::stdout().lock();
    if json {
        let array: Vec<Json> = entries.iter().map(Entry::to_json).collect();
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&Json::Array(array)).unwrap_or_default()
        )?;
    } else if entries.is_empty() {
        writeln!(stdout, "no services in {}", dir.display())?;
    } else {
        write_table(&mut stdout, &entries)?;
    }
    stdout.flush()?;
    Ok(())
}

/// Tries every socket in `dir`, in name order, all at once (so that
/// silent sockets cost one `timeout`, not one each); `None` when `dir` does
/// not exist.
fn scan(dir: &Path, timeout: Duration) -> CliResult<Option<Vec<Entry>>> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(Failure::usage(format!(
                "cannot read the portal directory `{}`: {error}; give another with --portal-dir",
                dir.display()
            )));
        }
    };
    let mut sockets = Vec::new();
    for item in read.flatten() {
        let path = item.path();
        // symlink_metadata: a link is not a socket of this directory.
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let name = item.file_name().to_string_lossy().into_owned();
        // `.NAME.monitored` is a service's socket moved aside by `courier
        // monitor`: shown as NAME's `monitored` mark, not as a service.
        if metadata.file_type().is_socket() && !name.starts_with('.') {
            sockets.push((name, path, metadata.uid()));
        }
    }
    sockets.sort();
    let deadline = Instant::now() + timeout;
    let entries = std::thread::scope(|scope| {
        let probes: Vec<_> = sockets
            .into_iter()
            .map(|(name, path, file_uid)| {
                scope.spawn(move || {
                    let mut entry = probe(name, path, file_uid, deadline);
                    let hidden = dir.join(format!(".{}.monitored", entry.name));
                    entry.monitored = std::fs::symlink_metadata(hidden).is_ok();
                    entry
                })
            })
            .collect();
        probes
            .into_iter()
            .map(|probe| {
                probe.join().map_err(|_| {
                    Failure::from(anyhow::anyhow!(
                        "a probe of the portal directory `{}` failed unexpectedly; run \
                         `courier list` again",
                        dir.display()
                    ))
                })
            })
            .collect::<CliResult<Vec<Entry>>>()
    })?;
    Ok(Some(entries))
}

/// Connects to one socket and reads its hello, until `deadline`.
fn probe(name: String, path: PathBuf, file_uid: u32, deadline: Instant) -> Entry {
    let mut entry = Entry {
        name,
        path,
        status: Status::Live,
        pid: None,
        uid: Some(file_uid),
        endpoints: Vec::new(),
        monitored: false,
    };
    let stream = match UnixStream::connect(&entry.path) {
        Ok(stream) => stream,
        Err(error) => {
            entry.status = match error.kind() {
                io::ErrorKind::ConnectionRefused => Status::Stale,
                _ => Status::Error(error.to_string()),
            };
            return entry;
        }
    };
    let mut connection = DynConnection::over(stream);
    if let Some(credentials) = connection.credentials() {
        entry.pid = Some(credentials.pid);
        entry.uid = Some(credentials.uid);
    }
    match connection.handshake(deadline) {
        Ok(()) => {
            let core = connection.core();
            // The server's local endpoint is our peer; its peer our local.
            for info in [core.peer(), core.local()] {
                entry.endpoints.push((info.name.to_owned(), info.magic));
            }
        }
        Err(DriverError::Timeout) => entry.status = Status::Silent,
        Err(DriverError::Closed(CloseReason::Handshake(error))) => {
            entry.status = match error.kind() {
                HandshakeErrorKind::NotCourier { .. }
                | HandshakeErrorKind::Version { .. }
                | HandshakeErrorKind::Flags(_)
                | HandshakeErrorKind::InvalidName => Status::NotCourier(error.to_string()),
                _ => Status::Refused(error.to_string()),
            }
        }
        Err(error) => entry.status = Status::Error(error.to_string()),
    }
    entry
}

/// The human table: aligned columns.
fn write_table(out: &mut impl Write, entries: &[Entry]) -> io::Result<()> {
    let header = ["NAME", "STATUS", "PID", "UID", "ENDPOINTS", "PATH"];
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            let endpoints = match e.endpoints.as_slice() {
                [] => "-".to_owned(),
                [served, peer] => format!("{} ({}) / {} ({})", served.0, served.1, peer.0, peer.1),
                other => other
                    .iter()
                    .map(|(n, m)| format!("{n} ({m})"))
                    .collect::<Vec<_>>()
                    .join(" / "),
            };
            [
                e.name.clone(),
                if e.monitored {
                    format!("{} (monitored)", e.status.word())
                } else {
                    e.status.word().to_owned()
                },
                e.pid.map_or("-".to_owned(), |p| p.to_string()),
                e.uid.map_or("-".to_owned(), |u| u.to_string()),
                endpoints,
                e.path.display().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &[&str]| -> io::Result<()> {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &header)?;
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(out, &cells)?;
    }
    Ok(())
}
