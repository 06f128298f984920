//! [`InterfaceSchema`]: the messages of `.ipc` text, by id and by name.

use std::fmt;

use courier_idl::ast::{MessageKind as AstKind, Param};
use courier_idl::types::{IdlType, resolve};
use courier_idl::{SourceFile, check, snake_case};

/// Why an [`InterfaceSchema`] could not be built or a name not found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The `.ipc` text has errors; the diagnostics are rendered as
    /// `courier check` shows them.
    #[error("the .ipc text has errors; fix them first:\n{diagnostics}")]
    Invalid {
        /// The rendered diagnostics.
        diagnostics: String,
    },
    /// A parameter's type has no meaning (a template with the wrong number
    /// of arguments and the like).
    #[error("parameter `{param}` of message `{message}` of endpoint `{endpoint}`: {reason}")]
    Type {
        /// The endpoint's name.
        endpoint: String,
        /// The message's name.
        message: String,
        /// The parameter's name.
        param: String,
        /// What is wrong with the type.
        reason: String,
    },
    /// No endpoint of that name.
    #[error("no endpoint `{name}`; the interface has {}", list(known))]
    UnknownEndpoint {
        /// The name asked for.
        name: String,
        /// The endpoints there are.
        known: Vec<String>,
    },
    /// No message of that name in the endpoint(s) searched.
    #[error("no message `{name}` in {where_}; there are {}", list(known))]
    UnknownMessage {
        /// The name asked for.
        name: String,
        /// `endpoint `X`` or `any endpoint`.
        where_: String,
        /// The messages there are.
        known: Vec<String>,
    },
    /// Several endpoints have a message of that name.
    #[error(
        "message `{name}` is in several endpoints ({}); name the endpoint too",
        list(endpoints)
    )]
    AmbiguousMessage {
        /// The name asked for.
        name: String,
        /// The endpoints that have it.
        endpoints: Vec<String>,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// What a message is: which way it goes and what answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A request; the peer answers with the response of id `response_id`.
    Request {
        /// The id of its response (the request's id plus one).
        response_id: u32,
    },
    /// A one-way message: no response.
    OneWay,
    /// The response to the request of id `request_id`.
    Response {
        /// The id of the request it answers.
        request_id: u32,
    },
}

/// One parameter: its name as written and its type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParamSchema {
    /// The name as written in the `.ipc` file.
    pub name: String,
    /// What the type means.
    pub ty: IdlType,
}

impl fmt::Display for ParamSchema {
    /// `Gfx::IntRect rect`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.ty, self.name)
    }
}

/// One message (a request, a one-way message, or a response) of an
/// endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageSchema {
    /// The endpoint's name as written.
    pub endpoint: String,
    /// The endpoint's magic.
    pub magic: u32,
    /// The message id: from 1 in declaration order, a request `n` and its
    /// response `n + 1`.
    pub id: u32,
    /// The name as written (`create_window`, `CreateWindow`); a response's
    /// is its request's with `Response` (or `_response` for a snake_case
    /// name) appended, as generated code names it.
    pub name: String,
    /// Request, one-way or response.
    pub kind: MessageKind,
    /// The parameters (of a response: the results), in wire order.
    pub params: Vec<ParamSchema>,
}

impl MessageSchema {
    /// `create_window(Gfx::IntRect rect, String title)`, for help and errors.
    ///
    /// ```
    /// use courier_value::InterfaceSchema;
    ///
    /// let schema = InterfaceSchema::from_source("E.ipc", "endpoint E { f(i32 a, [File] b) =| }")?;
    /// let message = schema.message_by_name(None, "f")?;
    /// assert_eq!(message.signature(), "f(i32 a, IPC::File b)");
    /// # Ok::<(), courier_value::SchemaError>(())
    /// ```
    pub fn signature(&self) -> String {
        let params: Vec<String> = self.params.iter().map(ToString::to_string).collect();
        format!("{}({})", self.name, params.join(", "))
    }

    /// `` `create_window` of `WindowServer` ``, for error messages.
    pub(crate) fn describe(&self) -> String {
        format!("`{}` of `{}`", self.name, self.endpoint)
    }
}

/// One endpoint: its name, magic and messages (responses included), in id
/// order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EndpointSchema {
    /// The name as written.
    pub name: String,
    /// The magic: the Jenkins one-at-a-time hash of the name.
    pub magic: u32,
    /// Every message and response; the message of id `n` is at index
    /// `n - 1`.
    pub messages: Vec<MessageSchema>,
}

impl EndpointSchema {
    /// The message or response of id `id`.
    pub fn message(&self, id: u32) -> Option<&MessageSchema> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.messages.get(index)
    }
}

/// The endpoints and messages of `.ipc` text, for encoding and decoding
/// their messages at run time.
///
/// Built from text that passes `courier check` (warnings are fine). Messages
/// are found by endpoint magic and id (what a frame carries) or by name, in
/// the spelling of the `.ipc` file or in `snake_case`/`PascalCase`
/// (`create_window`, `CreateWindow`, `CreateWindowResponse` and
/// `create_window_response` all work).
///
/// ```
/// use courier_value::{InterfaceSchema, MessageKind};
///
/// let schema = InterfaceSchema::from_source(
///     "WindowServer.ipc",
///     "endpoint WindowServer {\n    CreateWindow(Gfx::IntRect rect, String title) => (i32 window_id)\n}\n",
/// )?;
/// let create = schema.message_by_name(Some("WindowServer"), "create_window")?;
/// assert_eq!((create.id, create.kind), (1, MessageKind::Request { response_id: 2 }));
/// let response = schema.response_to(create).unwrap();
/// assert_eq!(response.name, "CreateWindowResponse");
/// assert_eq!(schema.message(create.magic, 2), Some(response));
/// # Ok::<(), courier_value::SchemaError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InterfaceSchema {
    /// The endpoints, in the order of the files and of their declarations.
    pub endpoints: Vec<EndpointSchema>,
}

impl InterfaceSchema {
    /// The schema of one `.ipc` file; `name` is shown in diagnostics.
    ///
    /// # Errors
    ///
    /// [`SchemaError::Invalid`] when the text does not pass the checks,
    /// [`SchemaError::Type`] for a type that has no meaning.
    pub fn from_source(name: &str, text: &str) -> Result<InterfaceSchema, SchemaError> {
        InterfaceSchema::from_sources(&[SourceFile::new(name, text)])
    }

    /// The schema of several `.ipc` files checked together.
    ///
    /// # Errors
    ///
    /// As [`InterfaceSchema::from_source`].
    pub fn from_sources(files: &[SourceFile]) -> Result<InterfaceSchema, SchemaError> {
        let checked = check(files);
        if checked.has_errors() {
            return Err(SchemaError::Invalid {
                diagnostics: checked.render_diagnostics(),
            });
        }
        let mut endpoints = Vec::new();
        for file in &checked.files {
            for endpoint in &file.ast.endpoints {
                endpoints.push(build_endpoint(endpoint)?);
            }
        }
        Ok(InterfaceSchema { endpoints })
    }

    /// The endpoint of magic `magic`.
    pub fn endpoint_by_magic(&self, magic: u32) -> Option<&EndpointSchema> {
        self.endpoints.iter().find(|e| e.magic == magic)
    }

    /// The endpoint named `name` (as written, or in another case style).
    ///
    /// # Errors
    ///
    /// [`SchemaError::UnknownEndpoint`], listing the endpoints there are.
    pub fn endpoint(&self, name: &str) -> Result<&EndpointSchema, SchemaError> {
        let exact = self.endpoints.iter().find(|e| e.name == name);
        let wanted = snake_case(name);
        exact
            .or_else(|| {
                self.endpoints
                    .iter()
                    .find(|e| snake_case(&e.name) == wanted)
            })
            .ok_or_else(|| SchemaError::UnknownEndpoint {
                name: name.to_owned(),
                known: self.endpoints.iter().map(|e| e.name.clone()).collect(),
            })
    }

    /// The message or response of id `id` of the endpoint of magic `magic`:
    /// what a frame header names.
    pub fn message(&self, magic: u32, id: u32) -> Option<&MessageSchema> {
        self.endpoint_by_magic(magic)?.message(id)
    }

    /// The message named `name` (as written, or in another case style), in
    /// `endpoint` when given, else in whichever endpoint has it.
    ///
    /// # Errors
    ///
    /// [`SchemaError::UnknownEndpoint`], [`SchemaError::UnknownMessage`]
    /// (listing the messages there are), or
    /// [`SchemaError::AmbiguousMessage`] when no endpoint is given and
    /// several have the name.
    pub fn message_by_name(
        &self,
        endpoint: Option<&str>,
        name: &str,
    ) -> Result<&MessageSchema, SchemaError> {
        let searched: Vec<&EndpointSchema> = match endpoint {
            Some(endpoint) => vec![self.endpoint(endpoint)?],
            None => self.endpoints.iter().collect(),
        };
        let all = || searched.iter().flat_map(|e| e.messages.iter());
        let mut found: Vec<&MessageSchema> = all().filter(|m| m.name == name).collect();
        if found.is_empty() {
            let wanted = snake_case(name);
            found = all().filter(|m| snake_case(&m.name) == wanted).collect();
        }
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(SchemaError::UnknownMessage {
                name: name.to_owned(),
                where_: match endpoint {
                    Some(_) => format!("endpoint `{}`", searched[0].name),
                    None => "any endpoint".to_owned(),
                },
                known: all().map(|m| m.name.clone()).collect(),
            }),
            several => Err(SchemaError::AmbiguousMessage {
                name: name.to_owned(),
                endpoints: several.iter().map(|m| m.endpoint.clone()).collect(),
            }),
        }
    }

    /// The response to `request`, `None` for a one-way message or a
    /// response.
    pub fn response_to(&self, request: &MessageSchema) -> Option<&MessageSchema> {
        match request.kind {
            MessageKind::Request { response_id } => self.message(request.magic, response_id),
            _ => None,
        }
    }
}

fn build_endpoint(endpoint: &courier_idl::ast::Endpoint) -> Result<EndpointSchema, SchemaError> {
    let name = endpoint.name.name.clone();
    let magic = endpoint.magic();
    let mut messages = Vec::new();
    let mut next_id: u32 = 1;
    for message in &endpoint.messages {
        let written = message.name.name.clone();
        let params = build_params(&name, &written, &message.params)?;
        let id = next_id;
        match &message.kind {
            AstKind::OneWay => {
                next_id = next_id.saturating_add(1);
                messages.push(MessageSchema {
                    endpoint: name.clone(),
                    magic,
                    id,
                    name: written,
                    kind: MessageKind::OneWay,
                    params,
                });
            }
            AstKind::Request { results } => {
                let response_id = id.saturating_add(1);
                next_id = id.saturating_add(2);
                let results = build_params(&name, &written, results)?;
                let response_name = response_name(&written);
                messages.push(MessageSchema {
                    endpoint: name.clone(),
                    magic,
                    id,
                    name: written,
                    kind: MessageKind::Request { response_id },
                    params,
                });
                messages.push(MessageSchema {
                    endpoint: name.clone(),
                    magic,
                    id: response_id,
                    name: response_name,
                    kind: MessageKind::Response { request_id: id },
                    params: results,
                });
            }
        }
    }
    Ok(EndpointSchema {
        name,
        magic,
        messages,
    })
}

fn build_params(
    endpoint: &str,
    message: &str,
    params: &[Param],
) -> Result<Vec<ParamSchema>, SchemaError> {
    params
        .iter()
        .map(|param| {
            let ty = resolve(param).map_err(|reason| SchemaError::Type {
                endpoint: endpoint.to_owned(),
                message: message.to_owned(),
                param: param.name.name.clone(),
                reason,
            })?;
            Ok(ParamSchema {
                name: param.name.name.clone(),
                ty,
            })
        })
        .collect()
}

/// `CreateWindow` -> `CreateWindowResponse`, `create_window` ->
/// `create_window_response`: the names generated code gives responses.
fn response_name(written: &str) -> String {
    if written.starts_with(|c: char| c.is_lowercase()) {
        format!("{written}_response")
    } else {
        format!("{written}Response")
    }
}
