//! Finding a service (by name in the portal directory, or by path) and
//! learning its interface.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use courier::proto::Introspection;
use courier_value::InterfaceSchema;

use crate::driver::{DriverError, DynConnection};
use crate::error::{CliResult, Failure};

/// The socket of `service`: a path when it contains `/`, else the name in
/// this session's portal directory.
///
/// # Errors
///
/// A usage failure for an invalid name or an unusable portal setting.
pub fn socket_path(service: &str) -> CliResult<PathBuf> {
    if service.contains('/') {
        return Ok(PathBuf::from(service));
    }
    courier::discovery::service_path(service).map_err(|error| {
        Failure::usage(format!(
            "`{service}` is not a service name or a socket path: {error}"
        ))
    })
}

/// The deadline `seconds` from now (a usage failure for a negative or
/// absurd number).
pub fn deadline(seconds: f64) -> CliResult<Instant> {
    let timeout = Duration::try_from_secs_f64(seconds).map_err(|_| {
        Failure::usage(format!(
            "--timeout {seconds} is not a number of seconds; give a positive number such as 10"
        ))
    })?;
    Ok(Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365)))
}

/// Connects to `path` (the service `service`) as an any-peer client.
///
/// # Errors
///
/// A remote failure saying why, with a hint for the common cases.
pub fn connect(service: &str, path: &Path, deadline: Instant) -> CliResult<DynConnection> {
    DynConnection::connect(path, deadline).map_err(|error| connect_failure(service, path, error))
}

/// The failure for a connection to `path` that could not be made.
pub fn connect_failure(service: &str, path: &Path, error: DriverError) -> Failure {
    let hint = match &error {
        DriverError::Connect(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "; is the service running? `courier list` shows the services there are"
        }
        DriverError::Connect(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "; nothing listens there (a stale socket left by a service that stopped)"
        }
        _ => "",
    };
    Failure::remote(format!(
        "service `{service}` at `{}`: {error}{hint}",
        path.display()
    ))
}

/// Asks the service on `connection` for its interface.
///
/// # Errors
///
/// A remote failure when it does not answer.
pub fn introspect(
    service: &str,
    connection: &mut DynConnection,
    deadline: Instant,
) -> CliResult<Introspection> {
    connection.introspect(deadline).map_err(|error| {
        Failure::remote(format!(
            "service `{service}`: introspection failed: {error}"
        ))
    })
}

/// The schema of an introspection answer's definition.
///
/// # Errors
///
/// A remote failure when the service sent no definition or one that does
/// not check.
pub fn schema_of(service: &str, introspection: &Introspection) -> CliResult<InterfaceSchema> {
    if introspection.definition.trim().is_empty() {
        return Err(Failure::remote(format!(
            "service `{service}` does not know its own .ipc text (a hand-written endpoint?); \
             give the interface with --ipc FILE"
        )));
    }
    InterfaceSchema::from_source(
        &format!("{service} (introspected)"),
        &introspection.definition,
    )
    .map_err(|error| {
        Failure::remote(format!(
            "service `{service}` described itself with .ipc text that does not check: {error}"
        ))
    })
}

/// The schema of a local `.ipc` file.
///
/// # Errors
///
/// A usage failure when it cannot be read or does not check.
pub fn schema_from_file(path: &Path) -> CliResult<InterfaceSchema> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::usage(format!("cannot read `{}`: {error}", path.display())))?;
    InterfaceSchema::from_source(&path.display().to_string(), &text)
        .map_err(|error| Failure::usage(format!("`{}`: {error}", path.display())))
}
