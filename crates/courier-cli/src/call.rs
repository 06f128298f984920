//! `courier call SERVICE METHOD ARGS...`: one request (or one-way message)
//! built from command-line words, and its response printed.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use courier::proto::Event;
use courier_value::{
    IdlType, InterfaceSchema, MessageKind, MessageSchema, ParamSchema, SchemaError, Value,
    decode_message, encode_message, parse_args,
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
    /// Print the response's body in hex instead of decoding it (and send a
    /// request whose results could not be decoded).
    pub raw_response: bool,
}

/// Runs the call.
///
/// # Errors
///
/// Usage failures (exit 2) for a bad service name, an unknown method, a
/// method whose results hold a user type (unless `raw_response`), or
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
        // `prepare` refused it.
        MessageKind::Response { .. } => Err(not_callable(&schema, message)),
    }
}

/// Finds the method (in the endpoint `served`, when known), checks that
/// it can be called and its response decoded, and parses the arguments
/// for it.
fn prepare<'s>(
    schema: &'s InterfaceSchema,
    served: Option<&str>,
    call: &CallArgs,
) -> CliResult<(&'s MessageSchema, Vec<Value>)> {
    let endpoint = served.filter(|name| schema.endpoint(name).is_ok());
    let message = find_method(schema, endpoint, call)?;
    if let MessageKind::Response { .. } = message.kind {
        return Err(not_callable(schema, message));
    }
    if !call.raw_response {
        if let Some((result, user_type)) = undecodable_result(schema, message) {
            return Err(user_type_result(message, result, &user_type));
        }
    }
    let words = order_words(message, &call.args)?;
    let values = parse_args(message, &words).map_err(Failure::usage)?;
    Ok((message, values))
}

/// The message `call.method` names, in `endpoint` when known. When there is
/// none, the usage failure lists the methods that can be called.
fn find_method<'s>(
    schema: &'s InterfaceSchema,
    endpoint: Option<&str>,
    call: &CallArgs,
) -> CliResult<&'s MessageSchema> {
    let service = &call.service;
    let method = &call.method;
    match schema.message_by_name(endpoint, method) {
        Ok(message) => return Ok(message),
        Err(SchemaError::UnknownMessage { .. }) => {}
        Err(error) => return Err(Failure::usage(format!("service `{service}`: {error}"))),
    }
    let Some(endpoint) = endpoint.and_then(|name| schema.endpoint(name).ok()) else {
        // The endpoint the service serves is not known yet (`--ipc`, before
        // connecting): every endpoint of the file may be it.
        let lists: Vec<String> = schema
            .endpoints
            .iter()
            .map(|e| format!("{} (endpoint `{}`)", callable_list(&e.messages), e.name))
            .collect();
        let file = call.ipc.as_ref().map_or_else(
            || "the interface".to_owned(),
            |f| format!("`{}`", f.display()),
        );
        return Err(Failure::usage(format!(
            "{file} has no method `{method}`; its methods are {}",
            lists.join("; ")
        )));
    };
    let methods = callable_list(&endpoint.messages);
    let elsewhere = match schema.message_by_name(None, method) {
        Ok(other) if other.endpoint != endpoint.name => format!(
            " (`{}` is a message of endpoint `{}`, not of `{}`, which the service serves)",
            other.name, other.endpoint, endpoint.name
        ),
        _ => String::new(),
    };
    Err(Failure::usage(format!(
        "service `{service}` has no method `{method}`{elsewhere}; its methods are {methods}; \
         `courier introspect {service}` shows their parameters"
    )))
}

/// `` `a`, `b` `` : the requests and one-way messages of `messages` (not
/// their responses).
fn callable_list(messages: &[MessageSchema]) -> String {
    let names: Vec<String> = messages
        .iter()
        .filter(|m| !matches!(m.kind, MessageKind::Response { .. }))
        .map(|m| format!("`{}`", m.name))
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// The failure for a response named as the method.
fn not_callable(schema: &InterfaceSchema, response: &MessageSchema) -> Failure {
    let request = match response.kind {
        MessageKind::Response { request_id } => schema.message(response.magic, request_id),
        _ => None,
    };
    match request {
        Some(request) => Failure::usage(format!(
            "`{}` is the response to `{}`, which the service sends back; call `{}` instead",
            response.name, request.name, request.name
        )),
        None => Failure::usage(format!(
            "`{}` is a response, which services send, not a method to call",
            response.name
        )),
    }
}

/// The first result of `request` whose type holds a user type, and that
/// user type: a response `courier call` could not decode.
fn undecodable_result<'s>(
    schema: &'s InterfaceSchema,
    request: &MessageSchema,
) -> Option<(&'s ParamSchema, String)> {
    let response = schema.response_to(request)?;
    response
        .params
        .iter()
        .find_map(|result| first_user_type(&result.ty).map(|user| (result, user)))
}

/// The first user type in `ty` (`ty` itself, or one inside a container).
fn first_user_type(ty: &IdlType) -> Option<String> {
    let found = RefCell::new(None);
    ty.any(&|inner| match inner {
        IdlType::User { path } => {
            *found.borrow_mut() = Some(path.clone());
            true
        }
        _ => false,
    });
    found.into_inner()
}

/// The refusal of a request whose result `result` holds `user_type`.
fn user_type_result(request: &MessageSchema, result: &ParamSchema, user_type: &str) -> Failure {
    let of_type = match &result.ty {
        IdlType::User { .. } => format!("of the user type `{user_type}`"),
        ty => format!("of type `{ty}`, which holds the user type `{user_type}`"),
    };
    Failure::usage(format!(
        "`{}` of `{}` returns `{}` {of_type}, whose layout no .ipc text gives, so its response \
         could not be decoded here and nothing was sent; call it from Rust code generated for \
         the interface, where the type's Encode/Decode impls know its layout (--ipc FILE cannot \
         help), or add --raw-response to send it anyway and print the response's bytes in hex",
        request.name, request.endpoint, result.name
    ))
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
    if call.raw_response {
        return print_raw(call, response, &body, fds.len());
    }
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

/// Prints a response's body undecoded: a hex dump, or with `--json` one
/// object with the body as a hex string. Its fds (closed when dropped) are
/// only counted.
fn print_raw(call: &CallArgs, response: &MessageSchema, body: &[u8], fds: usize) -> CliResult<()> {
    let mut stdout = std::io::stdout().lock();
    if call.json {
        let value = json!({
            "endpoint": response.endpoint,
            "magic": response.magic,
            "id": response.id,
            "message": response.name,
            "bytes": body.len(),
            "fds": fds,
            "hex": hex(body),
        });
        writeln!(stdout, "{value}")?;
    } else {
        writeln!(
            stdout,
            "{}: {} bytes, {fds} fds (not decoded)",
            response.name,
            body.len()
        )?;
        stdout.write_all(hex_dump(body).as_bytes())?;
    }
    stdout.flush()?;
    Ok(())
}

/// `bytes` as lowercase hex digits, two per byte.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `bytes` in the layout of `hexdump -C`: per 16 bytes, one line of the
/// offset, the bytes in hex, and the same as ASCII (`.` for the rest).
fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (index, line) in bytes.chunks(16).enumerate() {
        let mut hex_part = String::new();
        for (column, byte) in line.iter().enumerate() {
            if column == 8 {
                hex_part.push(' ');
            }
            hex_part.push_str(&format!("{byte:02x} "));
        }
        let text: String = line
            .iter()
            .map(|&byte| {
                if byte.is_ascii_graphic() || byte == b' ' {
                    char::from(byte)
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!("{:08x}  {hex_part:<49} |{text}|\n", index * 16));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> InterfaceSchema {
        InterfaceSchema::from_source(
            "Kv.ipc",
            "endpoint Kv {\n\
                 get(String key) => (Optional<String> value)\n\
                 stats() => (u32 count, Kv::Stats stats)\n\
                 history() => (u32 count, Optional<Vector<Kv::Entry>> entries)\n\
                 forget(Kv::Entry entry) =|\n\
                 restore(Optional<Kv::Entry> entry) =|\n\
             }\n",
        )
        .unwrap()
    }

    fn undecodable(name: &str) -> Option<(String, String)> {
        let schema = schema();
        let request = schema.message_by_name(None, name).unwrap();
        undecodable_result(&schema, request).map(|(result, ty)| (result.name.clone(), ty))
    }

    #[test]
    fn results_holding_a_user_type_at_any_depth_are_found() {
        assert_eq!(undecodable("get"), None);
        assert_eq!(
            undecodable("stats"),
            Some(("stats".to_owned(), "Kv::Stats".to_owned()))
        );
        assert_eq!(
            undecodable("history"),
            Some(("entries".to_owned(), "Kv::Entry".to_owned()))
        );
        // A one-way message has no results (its parameter is refused when
        // the arguments are parsed).
        assert_eq!(undecodable("forget"), None);
    }

    #[test]
    fn the_refusal_names_the_result_its_type_and_the_way_out() {
        let schema = schema();
        let request = schema.message_by_name(None, "history").unwrap();
        let (result, user) = undecodable_result(&schema, request).unwrap();
        let text = user_type_result(request, result, &user).error().to_string();
        assert!(
            text.starts_with(
                "`history` of `Kv` returns `entries` of type `Optional<Vector<Kv::Entry>>`, \
                 which holds the user type `Kv::Entry`"
            ),
            "{text}"
        );
        assert!(text.contains("nothing was sent"), "{text}");
        assert!(text.contains("--raw-response"), "{text}");
        assert!(!text.ends_with('.'), "{text}");
    }

    #[test]
    fn a_user_type_parameter_is_refused_but_an_absent_optional_of_one_is_sent() {
        // What the README says of parameters of user types.
        let schema = schema();
        let forget = schema.message_by_name(None, "forget").unwrap();
        let error = parse_args(forget, &["{}"]).unwrap_err().to_string();
        assert!(error.contains("`Kv::Entry` is a user type"), "{error}");
        let restore = schema.message_by_name(None, "restore").unwrap();
        let values = parse_args(restore, &["null"]).unwrap();
        let (body, fds) = encode_message(restore, &values).unwrap();
        assert_eq!((body, fds.len()), (vec![0], 0));
    }

    #[test]
    fn callable_lists_leave_responses_out() {
        let schema = schema();
        assert_eq!(
            callable_list(&schema.endpoints[0].messages),
            "`get`, `stats`, `history`, `forget`, `restore`"
        );
        assert_eq!(callable_list(&[]), "none");
    }

    #[test]
    fn hex_dump_has_the_layout_of_hexdump_c() {
        let bytes: Vec<u8> = (b'A'..=b'Q').collect();
        // 60 columns before the ASCII column, whatever the line's length.
        assert_eq!(
            hex_dump(&bytes),
            format!(
                "00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|\n\
                 00000010  51 {:47}|Q|\n",
                ""
            )
        );
        assert_eq!(
            hex_dump(&[0, b' ', 0xff]),
            format!("00000000  00 20 ff {:41}|. .|\n", "")
        );
        assert_eq!(hex_dump(&[]), "");
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
