//! What sits around the messages rather than in their parameter lists: the
//! attributes before a message (`[NotRouted]`) and the routing of a routed
//! endpoint (`routed by Type name`).

use super::{attributes, resolution, spelling, templates};
use crate::ast::{Attribute, Endpoint, Message, Routing};
use crate::diagnostic::{Diagnostic, excerpt};
use crate::types;

/// The message attributes courier understands.
const KNOWN: [&str; 1] = ["NotRouted"];
const KNOWN_LIST: &str = "the known message attribute is `NotRouted`";
/// Attributes that belong before a parameter, not before a message.
const PARAMETER_ATTRIBUTES: [&str; 3] = ["UTF8", "File", "Bitmap"];

/// Checks `endpoint`'s routing and the attributes of its messages.
pub(super) fn check(endpoint: &Endpoint, found: &mut Vec<Diagnostic>) {
    if let Some(routing) = &endpoint.routing {
        templates::check(&routing.ty, found);
        resolution::check_routing_type(&routing.ty, &routing.name.name, found);
        spelling::check_routing(&routing.ty, &routing.name.name, found);
        check_routing_params(endpoint, routing, found);
        let carried = endpoint.messages.iter().any(|message| {
            message
                .params
                .iter()
                .any(|param| param.name.name == routing.name.name)
        });
        if !carried && !endpoint.messages.is_empty() {
            let name = excerpt(&routing.name.name);
            found.push(
                Diagnostic::warning(
                    routing.name.span,
                    format!(
                        "no message of endpoint `{}` has a parameter `{name}`, so none is routed",
                        excerpt(&endpoint.name.name)
                    ),
                )
                .with_hint(format!(
                    "routed messages carry the routing parameter, as in `close({} {name})`; \
                     remove `routed by ...` if the endpoint needs no routing",
                    excerpt(&routing.ty.to_string())
                )),
            );
        }
    }
    for message in &endpoint.messages {
        check_attributes(endpoint, message, found);
    }
}

/// Warns about a routed message's parameter that has the routing name but
/// not the routing type (`routed by Compositing::PageIdd page_id`, then
/// `close(Compositing::PageId page_id)`): one of the two is a slip. Types
/// are compared by meaning (`::Web::Id` is `Web::Id`, `int` is `i32`); a
/// type with an error is reported elsewhere, and a `[NotRouted]` message
/// may carry a parameter of that name as it likes.
fn check_routing_params(endpoint: &Endpoint, routing: &Routing, found: &mut Vec<Diagnostic>) {
    let Ok(routing_type) = types::resolve_type(&routing.ty) else {
        return;
    };
    let name = routing.name.name.as_str();
    for message in &endpoint.messages {
        if message.attrs.iter().any(|a| a.name.name == "NotRouted") {
            continue;
        }
        for param in message.params.iter().filter(|p| p.name.name == name) {
            let Ok(param_type) = types::resolve(param) else {
                continue;
            };
            if param_type == routing_type {
                continue;
            }
            let span = param.ty.as_ref().map_or(param.span, |ty| ty.span);
            found.push(
                Diagnostic::warning(
                    span,
                    format!(
                        "parameter `{}` of `{}` is the routing parameter but has type `{}`, \
                         not the routing type `{}`",
                        excerpt(name),
                        excerpt(&message.name.name),
                        excerpt(&param_type.to_string()),
                        excerpt(&routing_type.to_string())
                    ),
                )
                .with_related(
                    routing.ty.span,
                    format!(
                        "endpoint `{}` is routed by `{}`",
                        excerpt(&endpoint.name.name),
                        excerpt(&routing_type.to_string())
                    ),
                )
                .with_hint(
                    "correct whichever of the two types is misspelt; a message that is not routed \
                     by this parameter takes `[NotRouted]`",
                ),
            );
        }
    }
}

fn check_attributes(endpoint: &Endpoint, message: &Message, found: &mut Vec<Diagnostic>) {
    let mut seen: Vec<&str> = Vec::new();
    for attr in &message.attrs {
        let name = attr.name.name.as_str();
        if seen.contains(&name) {
            found.push(attributes::duplicate(attr));
        }
        seen.push(name);
        if !KNOWN.contains(&name) {
            found.push(unknown(attr));
            continue;
        }
        if attr.value.is_some() {
            found.push(attributes::takes_no_value(attr));
        }
        if name == "NotRouted" && endpoint.routing.is_none() {
            found.push(
                Diagnostic::warning(
                    attr.name.span,
                    format!(
                        "`[NotRouted]` on `{}` has no effect: endpoint `{}` is not routed",
                        excerpt(&message.name.name),
                        excerpt(&endpoint.name.name)
                    ),
                )
                .with_hint(
                    "route the endpoint's messages with `endpoint Name routed by Type name { ... }`, \
                     or remove `[NotRouted]`",
                ),
            );
        }
    }
}

fn unknown(attr: &Attribute) -> Diagnostic {
    let name = attr.name.name.as_str();
    let hint = if PARAMETER_ATTRIBUTES.contains(&name) {
        format!(
            "`[{name}]` is an attribute of a parameter: write it before the parameter, as in `f([{name}] ...)`"
        )
    } else if let Some(known) = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        format!("attributes are case-sensitive: did you mean `{known}`? {KNOWN_LIST}")
    } else {
        format!("{KNOWN_LIST}; courier ignores others")
    };
    Diagnostic::warning(
        attr.name.span,
        format!("unknown message attribute `{}`", excerpt(name)),
    )
    .with_hint(hint)
}
