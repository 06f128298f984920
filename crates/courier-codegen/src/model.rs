//! The resolved model that the emitters work from: every Rust name chosen,
//! every id counted, every type resolved, every collision reported, once.
//!
//! Later emitters (clients, server traits) read the same model, so a name is
//! decided in one place.

use std::collections::HashMap;
use std::rc::Rc;

use courier_idl::ast::{Endpoint, IpcFile, Message, MessageKind, Param, Span};
use courier_idl::types::{self, IdlType};
use proc_macro2::{Ident, TokenStream};

use crate::error::CodegenError;
use crate::names::{self, BadName};
use crate::options::Options;
use crate::rust_types::RustTypes;

/// One endpoint, ready to emit.
pub(crate) struct EndpointModel {
    /// The name as written: `WindowServer`.
    pub(crate) written: String,
    /// The `//` comments above `endpoint`.
    pub(crate) docs: Vec<String>,
    /// `window_server`.
    pub(crate) module: Ident,
    /// `WindowServer`: the marker type implementing `Endpoint`.
    pub(crate) marker: Ident,
    /// `WindowServerMessage`: the enum of requests and one-way messages.
    pub(crate) message_enum: Ident,
    /// `WindowServerHandler`: the server trait, one method per message.
    pub(crate) handler_trait: Ident,
    /// `WindowServerService`: the wrapper implementing `courier::Handler`.
    pub(crate) service: Ident,
    /// `WindowServerClient`: the blocking client.
    pub(crate) client: Ident,
    /// `WindowServerAsyncClient`: the tokio client.
    pub(crate) async_client: Ident,
    /// `WindowServerSender`: the one-way messages on any `courier::Sender`.
    pub(crate) sender_trait: Ident,
    /// The SerenityOS magic.
    pub(crate) magic: u32,
    /// Whether the magic is written in the `.ipc` file (`endpoint E = 85`)
    /// rather than the hash of the name.
    pub(crate) explicit_magic: bool,
    /// `routed by Type name`: the routing parameter's type and name, as
    /// written.
    pub(crate) routing: Option<(String, String)>,
    /// Requests and one-way messages, in declaration order.
    pub(crate) messages: Vec<MessageModel>,
    /// The canonical text of the whole file (`courier_idl::print`), the
    /// endpoint's `DEFINITION`.
    pub(crate) definition: Rc<str>,
    /// The interface fingerprint (`courier_idl::fingerprint`), the
    /// endpoint's `FINGERPRINT`.
    pub(crate) fingerprint: u64,
}

impl EndpointModel {
    /// Every struct of the endpoint, requests and responses, in id order.
    pub(crate) fn structs(&self) -> impl Iterator<Item = &StructModel> {
        self.messages
            .iter()
            .flat_map(|m| std::iter::once(&m.request).chain(m.response.as_ref()))
    }
}

/// One message declaration: the request (or one-way message) and its response.
pub(crate) struct MessageModel {
    /// The `//` comments above the message.
    pub(crate) docs: Vec<String>,
    /// The declaration as written, normalised: `CreateWindow(Gfx::IntRect rect) => (i32 id)`.
    pub(crate) declaration: String,
    /// The method for this message on the handler trait, the clients and
    /// the sender trait: `create_window`, or `connect_message` for a message
    /// named like a helper (see [`HELPER_METHODS`]).
    pub(crate) method: Ident,
    /// The snake_case name the method would have had, when the helper rule
    /// renamed it (`connect` for `connect_message`).
    pub(crate) renamed_from: Option<String>,
    /// The request or one-way message.
    pub(crate) request: StructModel,
    /// The response of a request.
    pub(crate) response: Option<StructModel>,
}

impl MessageModel {
    /// Whether the message is one-way (no response).
    pub(crate) fn is_one_way(&self) -> bool {
        self.response.is_none()
    }
}

// The helper methods of the generated clients and what a message method
// named like one gets appended: shared with the checks of courier-idl.
pub(crate) use courier_idl::naming::{HELPER_METHODS, HELPER_SUFFIX};

/// One generated message struct.
pub(crate) struct StructModel {
    /// `Message::NAME`: the name as written (`CreateWindow`); a response
    /// appends `Response` (or `_response` to a snake_case name).
    pub(crate) name: String,
    /// The struct: `CreateWindow`, `CreateWindowResponse`.
    pub(crate) ident: Ident,
    /// The message id.
    pub(crate) id: u32,
    /// The id constant in `ids`: `CREATE_WINDOW`.
    pub(crate) id_const: Ident,
    /// The fields, in wire order.
    pub(crate) fields: Vec<FieldModel>,
}

impl StructModel {
    /// Whether every field is made only of values that are `Clone` and
    /// `PartialEq` (no fds, no shared memory, no user types), so the struct
    /// can derive both.
    pub(crate) fn is_plain(&self) -> bool {
        self.fields.iter().all(|f| f.is_plain())
    }
}

/// One field.
pub(crate) struct FieldModel {
    /// The parameter's name as written.
    pub(crate) written: String,
    /// The Rust field: `window_id`, `r#type`.
    pub(crate) ident: Ident,
    /// The parameter as written, normalised: `[UTF8] ByteString mime_type`.
    pub(crate) declaration: String,
    /// What the type means.
    pub(crate) ty: IdlType,
    /// The Rust type.
    pub(crate) rust: TokenStream,
    /// Whether the type is written `StringView`: the methods that send the
    /// message take it as `&str` (the field stays a `String`).
    pub(crate) string_view: bool,
}

impl FieldModel {
    fn is_plain(&self) -> bool {
        !self.ty.carries_fds() && !self.ty.any(&|t| matches!(t, IdlType::User { .. }))
    }
}

/// Builds the model of every endpoint of `file`.
pub(crate) fn build(file: &IpcFile, options: &Options) -> Result<Vec<EndpointModel>, CodegenError> {
    let rust_types = RustTypes::new(options)?;
    let mut modules = Names::new(String::new());
    let mut endpoints = Vec::new();
    let definition: Rc<str> = courier_idl::print(file).into();
    for endpoint in &file.endpoints {
        let model = build_endpoint(endpoint, &rust_types, Rc::clone(&definition))?;
        modules.claim(
            &model.module,
            format!("endpoint {}", endpoint.name),
            endpoint.name.span,
        )?;
        endpoints.push(model);
    }
    Ok(endpoints)
}

fn build_endpoint(
    endpoint: &Endpoint,
    rust_types: &RustTypes,
    definition: Rc<str>,
) -> Result<EndpointModel, CodegenError> {
    let written = endpoint.name.name.clone();
    let span = endpoint.name.span;
    let context = || format!("endpoint {written}");
    let module = names::value_ident(&written).map_err(|e| invalid(context(), e, span))?;
    let marker = names::type_ident(&written).map_err(|e| invalid(context(), e, span))?;
    let message_enum = names::type_ident(&format!("{written}_message"))
        .map_err(|e| invalid(context(), e, span))?;
    let suffixed = |suffix: &str| {
        names::type_ident(&format!("{written}_{suffix}")).map_err(|e| invalid(context(), e, span))
    };
    let handler_trait = suffixed("handler")?;
    let service = suffixed("service")?;
    let client = suffixed("client")?;
    let async_client = suffixed("async_client")?;
    let sender_trait = suffixed("sender")?;

    // Everything declared at the top of the endpoint's module, in one
    // namespace: a unit struct takes a value name as well as a type name.
    let mut module_names = Names::new(written.clone());
    module_names.claim_str("MAGIC", "the endpoint's MAGIC constant".to_string(), span)?;
    module_names.claim_str(
        "FINGERPRINT",
        "the endpoint's FINGERPRINT constant".to_string(),
        span,
    )?;
    module_names.claim_str("ids", "the endpoint's ids module".to_string(), span)?;
    module_names.claim(
        &marker,
        format!("the marker type of endpoint {written}"),
        span,
    )?;
    module_names.claim(
        &message_enum,
        format!("the message enum of endpoint {written}"),
        span,
    )?;
    for (ident, what) in [
        (&handler_trait, "handler trait"),
        (&service, "service wrapper"),
        (&client, "blocking client"),
        (&async_client, "async client"),
        (&sender_trait, "sender trait"),
    ] {
        module_names.claim(ident, format!("the {what} of endpoint {written}"), span)?;
    }
    let mut id_names = Names::new(written.clone());
    let mut method_names = Names::new(written.clone());

    let mut next_id: u32 = 1;
    let mut messages = Vec::new();
    for message in &endpoint.messages {
        let model = build_message(&written, message, &mut next_id, rust_types)?;
        let span = message.name.span;
        for s in std::iter::once(&model.request).chain(model.response.as_ref()) {
            module_names.claim(&s.ident, format!("message {}", s.name), span)?;
            id_names.claim(&s.id_const, format!("the id of message {}", s.name), span)?;
        }
        let what = match &model.renamed_from {
            None => format!("the method of message {}", model.request.name),
            Some(helper) => format!(
                "the method of message {} (renamed: `{helper}` is taken by the \
                 generated helpers)",
                model.request.name,
            ),
        };
        method_names.claim(&model.method, what, span)?;
        messages.push(model);
    }
    // Every type resolved above, so this only fails if the two disagree.
    let fingerprint =
        courier_idl::fingerprint::fingerprint(endpoint).map_err(|error| CodegenError::Type {
            endpoint: error.endpoint,
            message: error.message,
            param: error.param,
            reason: error.reason,
            span,
        })?;
    Ok(EndpointModel {
        written,
        docs: endpoint.docs.clone(),
        module,
        marker,
        message_enum,
        handler_trait,
        service,
        client,
        async_client,
        sender_trait,
        magic: endpoint.magic(),
        explicit_magic: endpoint.explicit_magic.is_some(),
        routing: endpoint
            .routing
            .as_ref()
            .map(|r| (r.ty.to_string(), r.name.name.clone())),
        messages,
        definition,
        fingerprint,
    })
}

fn build_message(
    endpoint: &str,
    message: &Message,
    next_id: &mut u32,
    rust_types: &RustTypes,
) -> Result<MessageModel, CodegenError> {
    let written = message.name.name.clone();
    let span = message.name.span;
    let context = || format!("message {written} of endpoint {endpoint}");
    let ident = names::type_ident(&written).map_err(|e| invalid(context(), e, span))?;
    let id_const = names::const_ident(&written).map_err(|e| invalid(context(), e, span))?;
    let id = take_id(next_id);
    let fields = build_fields(endpoint, &written, &message.params, rust_types)?;
    let request = StructModel {
        name: written.clone(),
        ident,
        id,
        id_const,
        fields,
    };

    let response = match &message.kind {
        MessageKind::OneWay => None,
        MessageKind::Request { results } => {
            let name = response_name(&written);
            let ident = names::type_ident(&format!("{written}_response"))
                .map_err(|e| invalid(context(), e, span))?;
            let id_const = names::const_ident(&format!("{written}_response"))
                .map_err(|e| invalid(context(), e, span))?;
            let fields = build_fields(endpoint, &written, results, rust_types)?;
            Some(StructModel {
                name,
                ident,
                id: take_id(next_id),
                id_const,
                fields,
            })
        }
    };
    let (method, renamed_from) = method_ident(&written).map_err(|e| invalid(context(), e, span))?;
    Ok(MessageModel {
        docs: message.docs.clone(),
        declaration: message_declaration(message),
        method,
        renamed_from,
        request,
        response,
    })
}

/// The method name of message `written`: its snake_case form, or that
/// form with [`HELPER_SUFFIX`] when it is one of [`HELPER_METHODS`] (then
/// also the name it replaces).
fn method_ident(written: &str) -> Result<(Ident, Option<String>), BadName> {
    let plain = names::value_ident(written)?;
    let plain_name = names::unraw(&plain);
    if HELPER_METHODS.contains(&plain_name.as_str()) {
        let renamed = names::value_ident(&format!("{plain_name}{HELPER_SUFFIX}"))?;
        Ok((renamed, Some(plain_name)))
    } else {
        Ok((plain, None))
    }
}

fn take_id(next_id: &mut u32) -> u32 {
    let id = *next_id;
    *next_id = next_id.saturating_add(1);
    id
}

/// `CreateWindow` -> `CreateWindowResponse`, `create_window` -> `create_window_response`.
fn response_name(written: &str) -> String {
    if written.starts_with(|c: char| c.is_lowercase()) {
        format!("{written}_response")
    } else {
        format!("{written}Response")
    }
}

fn build_fields(
    endpoint: &str,
    message: &str,
    params: &[Param],
    rust_types: &RustTypes,
) -> Result<Vec<FieldModel>, CodegenError> {
    let mut seen = Names::new(endpoint.to_string());
    let mut fields = Vec::new();
    for param in params {
        let written = param.name.name.clone();
        let ty = types::resolve(param).map_err(|reason| CodegenError::Type {
            endpoint: endpoint.to_string(),
            message: message.to_string(),
            param: written.clone(),
            reason,
            span: param.span,
        })?;
        let span = param.name.span;
        let ident = names::value_ident(&written).map_err(|e| {
            invalid(
                format!("parameter {written} of {endpoint}::{message}"),
                e,
                span,
            )
        })?;
        seen.claim(&ident, format!("parameter {written} of {message}"), span)?;
        let rust = rust_types.rust_type(&ty, param.span)?;
        let string_view = ty == IdlType::String && is_string_view(param);
        fields.push(FieldModel {
            written,
            ident,
            declaration: param_declaration(param),
            ty,
            rust,
            string_view,
        });
    }
    Ok(fields)
}

/// Whether `param`'s type is written `StringView` (or `AK::StringView`):
/// a borrowed string in C++, which the sending side takes as `&str`. Only
/// the parameter's own type counts: `Vector<StringView>` stays
/// `Vec<String>`.
fn is_string_view(param: &Param) -> bool {
    let Some(ty) = &param.ty else {
        return false;
    };
    let names: Vec<&str> = ty.segments.iter().map(|s| s.name.as_str()).collect();
    ty.args.is_empty() && matches!(names.as_slice(), ["StringView"] | ["AK", "StringView"])
}

fn param_declaration(param: &Param) -> String {
    let mut out = String::new();
    if !param.attrs.is_empty() {
        let attrs: Vec<String> = param
            .attrs
            .iter()
            .map(|a| match &a.value {
                Some(value) => format!("{}={}", a.name, value),
                None => a.name.to_string(),
            })
            .collect();
        out.push_str(&format!("[{}] ", attrs.join(", ")));
    }
    if let Some(ty) = &param.ty {
        out.push_str(&format!("{ty} "));
    }
    out.push_str(&param.name.name);
    out
}

fn message_declaration(message: &Message) -> String {
    let list = |params: &[Param]| {
        params
            .iter()
            .map(param_declaration)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &message.kind {
        MessageKind::OneWay => format!("{}({}) =|", message.name, list(&message.params)),
        MessageKind::Request { results } => {
            format!(
                "{}({}) => ({})",
                message.name,
                list(&message.params),
                list(results)
            )
        }
    }
}

fn invalid(context: String, error: BadName, span: Span) -> CodegenError {
    CodegenError::InvalidName {
        context,
        reason: error.0,
        span,
    }
}

/// A namespace of Rust names, reporting the first collision.
struct Names {
    endpoint: String,
    taken: HashMap<String, String>,
}

impl Names {
    fn new(endpoint: String) -> Names {
        Names {
            endpoint,
            taken: HashMap::new(),
        }
    }

    fn claim(&mut self, ident: &Ident, what: String, span: Span) -> Result<(), CodegenError> {
        self.claim_str(&names::unraw(ident), what, span)
    }

    fn claim_str(&mut self, name: &str, what: String, span: Span) -> Result<(), CodegenError> {
        if let Some(first) = self.taken.get(name) {
            return Err(CodegenError::NameCollision {
                endpoint: self.endpoint.clone(),
                rust_name: name.to_string(),
                first: first.clone(),
                second: what,
                span,
            });
        }
        self.taken.insert(name.to_string(), what);
        Ok(())
    }
}
