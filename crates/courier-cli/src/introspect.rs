//! `courier introspect SERVICE`: the service's interface as `.ipc` text.

use std::io::Write;

use serde_json::json;

use crate::error::CliResult;
use crate::service;

/// Prints the interface of `service`: its `.ipc` text, or with `json`
/// `{"endpoints": [{"name", "magic"}], "definition"}`.
///
/// # Errors
///
/// Usage failures for a bad name, remote ones when the service does not
/// answer.
pub fn run(service_name: &str, json: bool, timeout: f64) -> CliResult<()> {
    let deadline = service::deadline(timeout)?;
    let path = service::socket_path(service_name)?;
    let mut connection = service::connect(service_name, &path, deadline)?;
    let answer = service::introspect(service_name, &mut connection, deadline)?;
    let mut stdout = std::io::stdout().lock();
    if json {
        let endpoints: Vec<_> = answer
            .endpoints
            .iter()
            .map(|e| json!({"name": e.name, "magic": e.magic}))
            .collect();
        let value = json!({"endpoints": endpoints, "definition": answer.definition});
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        )?;
    } else if answer.definition.is_empty() {
        // Nothing to print as .ipc: say what is known, as comments.
        for endpoint in &answer.endpoints {
            writeln!(
                stdout,
                "// endpoint {} (magic {}): definition unknown",
                endpoint.name, endpoint.magic
            )?;
        }
    } else {
        stdout.write_all(answer.definition.as_bytes())?;
        if !answer.definition.ends_with('\n') {
            writeln!(stdout)?;
        }
    }
    stdout.flush()?;
    Ok(())
}
