//! `courier call SERVICE METHOD ARGS...`: one request (or one-way message)
//! built from command-line words, and its response printed.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use courier::proto::Event;
use courier_value::{
    InterfaceSchema, MessageKind, MessageSchema, Value, decode_message, encode_message, parse_args,
};
use serde_json::json;

use crate::driver::DynConnection;
use crate::error::{CliResult, Failure};
use crate::service;

/// What `courier call` was asked.
pub struct CallArgs {
    /// A service name or socket path.
    pub service: String,
    /// The method's name, in either spelling.
    pub method: String,
    /// The argument words.
    pub args: Vec<String>,
    /// Print JSON.
    pub json: bool,
    /// Seconds for the whole command.
    pub timeout: f64,
    /// A local `.ipc` file to use instead of introspection.
    pub ipc: Option<PathBuf>,
}

/// Runs the call.
///
/// # Errors
///
/// Usage failures (exit 2) for a bad service name, an unknown method, or
/// arguments that do not fit, all found before the call is sent; remote
/// failures (exit 1) when the service cannot be reached, times out or
/// answers with an error.
pub fn run(call: &CallArgs) -> CliResult<()> {
    let deadline = service::deadline(call.timeout)?;
    let path = service::socket_path(&call.service)?;
    let (schema, mut connection) = match &call.ipc {
        // The interface is local: check the arguments before connecting.
        Some(file) => {
            let schema = service::schema_from_file(file)?;
            prepare(&schema, None, call)?;
            let connection = service::connect(&call.service, &path, deadline)?;
            (schema, connection)
        }
        None => {
            let mut connection = service::connect(&call.service, &path, deadline)?;
            let answer = service::introspect(&call.service, &mut connection, deadline)?;
            (service::schema_of(&call.service, &answer)?, connection)
        }
    };
    let served = connection.core().peer().name.to_owned();
    let served_magic = connection.core().peer().magic;
    let (message, values) = prepare(&schema, Some(&served), call)?;
    if message.magic != served_magic {
        return Err(Failure::usage(format!(
            "`{}` is a message of `{}`, but service `{}` serves `{served}` (magic {served_magic})",
            message.name, message.endpoint, call.service
        )));
    }
    let (body, fds) = encode_message(message, &values).map_err(Failure::usage)?;
    match message.kind {
        MessageKind::OneWay => {
            connection
                .core()
                .send_oneway(message.magic, message.id, body, fds)
                .map_err(|error| {
                    Failure::remote(format!("cannot send `{}`: {error}", message.name))
                })?;
            connection
                .flush(deadline)
                .map_err(|error| Failure::remote(format!("service `{}`: {error}", call.service)))?;
            if call.json {
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "{}", json!({"message": message.name, "sent": true}))?;
            }
            Ok(())
        }
        MessageKind::Request { .. } => {
            request(call, &schema, message, body, fds, &mut connection, deadline)
        }
        MessageKind::Response { .. } => Err(Failure::usage(format!(
            "`{}` is a response, which services send, not a method to call",
            message.name
        ))),
    }
}

/// Finds the method (in the endpoint `served`, when known) and parses the
/// arguments for it.
fn prepare<'s>(
    schema: &'s InterfaceSchema,
    served: Option<&str>,
    call: &CallArgs,
) -> CliResult<(&'s MessageSchema, Vec<Value>)> {
    let endpoint = served.filter(|name| schema.endpoint(name).is_ok());
    let message = schema
        .message_by_name(endpoint, &call.method)
        .map_err(|error| Failure::usage(format!("service `{}`: {error}", call.service)))?;
    let words = order_words(message, &call.args)?;
    let values = parse_args(message, &words).map_err(Failure::usage)?;
    Ok((message, values))
}

/// Puts `NAME=VALUE` words in their parameter's place; the other words fill
/// the remaining parameters in order. A word is named only when what is
/// before its first `=` is a parameter's name (write `text=text=a=b` to
/// pass `text=a=b` to a parameter `text` by name).
fn order_words(message: &MessageSchema, words: &[String]) -> CliResult<Vec<String>> {
    let mut named: Vec<Option<String>> = vec![None; message.params.len()];
    let mut positional = Vec::new();
    for word in words {
        let slot = word.split_once('=').and_then(|(name, value)| {
            let index = message.params.iter().position(|p| p.name == name)?;
            Some((index, value))
        });
        match slot {
            Some((index, value)) => {
                if named[index].is_some() {
                    return Err(Failure::usage(format!(
                        "parameter `{}` of `{}` is given twice",
                        message.params[index].name, message.name
                    )));
                }
                named[index] = Some(value.to_owned());
            }
            None => positional.push(word.clone()),
        }
    }
    if named.iter().all(Option::is_none) {
        return Ok(positional);
    }
    let mut positional = positional.into_iter();
    let mut ordered = Vec::new();
    for (param, slot) in message.params.iter().zip(named) {
        match slot.or_else(|| positional.next()) {
            Some(word) => ordered.push(word),
            None => {
                return Err(Failure::usage(format!(
                    "parameter `{}` ({}) of `{}` is missing; `{}` takes {} arguments",
                    param.name,
                    param.ty,
                    message.name,
                    message.signature(),
                    message.params.len()
                )));
            }
        }
    }
    let extra: Vec<String> = positional.collect();
    if !extra.is_empty() {
        return Err(Failure::usage(format!(
            "`{}` takes {} arguments; `{}` left over",
            message.signature(),
            message.params.len(),
            extra.join(" ")
        )));
    }
    Ok(ordered)
}

/// Sends a request and prints its response.
fn request(
    call: &CallArgs,
    schema: &InterfaceSchema,
    message: &MessageSchema,
    body: Vec<u8>,
    fds: Vec<std::os::fd::OwnedFd>,
    connection: &mut DynConnection,
    deadline: Instant,
) -> CliResult<()> {
    let request = connection
        .core()
        .send_request(message.magic, message.id, body, fds, Some(deadline))
        .map_err(|error| Failure::remote(format!("cannot send `{}`: {error}", message.name)))?;
    let result = connection
        .wait_response(request, deadline, |event| print_event(schema, event))
        .map_err(|error| {
            Failure::remote(format!(
                "service `{}`: `{}` got no answer: {error}",
                call.service, message.name
            ))
        })?;
    let (body, fds) = result.map_err(|error| {
        Failure::remote(format!(
            "service `{}` answered `{}` with an error: {}",
            call.service,
            message.name,
            error.message()
        ))
    })?;
    let Some(response) = schema.response_to(message) else {
        return Err(Failure::remote(format!(
            "`{}` has no response in the interface",
            message.name
        )));
    };
    let decoded = decode_message(response, &body, fds).map_err(|error| {
        Failure::remote(format!(
            "service `{}` sent a response that does not decode: {error}",
            call.service
        ))
    })?;
    let mut stdout = std::io::stdout().lock();
    if call.json {
        writeln!(stdout, "{}", decoded.to_json())?;
    } else {
        for arg in &decoded.args {
            writeln!(stdout, "{} = {}", arg.name, arg.value)?;
        }
    }
    stdout.flush()?;
    Ok(())
}

/// Prints a message the service sent while the call waited (an event) on
/// standard error.
fn print_event(schema: &InterfaceSchema, event: Event) {
    let Event::Message {
        magic,
        id,
        body,
        fds,
        ..
    } = event
    else {
        return;
    };
    let text = match schema.message(magic, id) {
        Some(message) => match decode_message(message, &body, fds) {
            Ok(decoded) => decoded.to_string(),
            Err(error) => format!(
                "{} ({} bytes, not decoded: {error})",
                message.name,
                body.len()
            ),
        },
        None => format!("message {id} of magic {magic} ({} bytes)", body.len()),
    };
    let _ = writeln!(std::io::stderr(), "event: {text}");
}
