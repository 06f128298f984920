//! Names that must make good Rust names in the generated module, beyond the
//! duplicates that `duplicates` reports.
//!
//! courier-codegen turns an endpoint `Foo` into a module `foo` holding the
//! endpoint's own items ([`ENDPOINT_ITEMS`]: the marker type `Foo`, the enum
//! `FooMessage`, the handler trait `FooHandler`, ...), the constant `MAGIC`,
//! the module `ids` and one struct per message and response (`Bar`,
//! `BarResponse`); each message also gets a method (`bar`), and each
//! parameter a field. So:
//!
//! - every name must give a Rust identifier: a name of only underscores
//!   gives none, and one whose first word starts with a digit (`_1x`) gives
//!   one that is not valid;
//! - two endpoints of one file must not give the same module;
//! - a message or its response must not be named like one of the
//!   endpoint's own items;
//! - two messages must not get the same method: a message named like a
//!   helper method of the clients ([`HELPER_METHODS`]) gets a method with
//!   [`HELPER_SUFFIX`], which another message may already have;
//! - a user type must not have `_` as a path segment.
//!
//! Nothing else can collide: messages, responses and their id constants
//! collide exactly when `duplicates` says so (the response of `m` is
//! `m_response`, whose words are those of `m` and `response`); a
//! `PascalCase` name is never `MAGIC` or `ids`; and the keywords that
//! codegen escapes with a trailing `_` (`self_`, `Self_`) cannot collide
//! with a converted name, which never ends in `_`.

use std::collections::{HashMap, HashSet};

use crate::ast::{Endpoint, Ident, IpcFile, Message, MessageKind, Param, Type, TypeArg};
use crate::diagnostic::{Diagnostic, excerpt};
use crate::naming::{pascal_case, snake_case};
use crate::types::{self, IdlType};

/// Checks the Rust names of every endpoint of `file`, its messages and its
/// parameters.
pub(super) fn check_file(file: &IpcFile, found: &mut Vec<Diagnostic>) {
    let mut modules: HashMap<String, &Ident> = HashMap::new();
    for endpoint in &file.endpoints {
        let name = &endpoint.name;
        if valid_name("endpoint", name, found) {
            let module = snake_case(&name.name);
            match modules.get(&module) {
                // The same name twice is a duplicate endpoint, reported as such.
                Some(first) if first.name != name.name => {
                    found.push(same_module(first, name, &module));
                }
                Some(_) => {}
                None => {
                    modules.insert(module, name);
                }
            }
        }
        check_endpoint(endpoint, found);
    }
}

use crate::naming::{ENDPOINT_ITEMS, HELPER_METHODS, HELPER_SUFFIX};

/// The messages of `endpoint` against its own items and against each other's
/// methods, and the names of messages and parameters.
fn check_endpoint(endpoint: &Endpoint, found: &mut Vec<Diagnostic>) {
    let endpoint_name = &endpoint.name;
    let marker = pascal_case(&endpoint_name.name);
    let items: Vec<(String, &str)> = ENDPOINT_ITEMS
        .iter()
        .map(|(suffix, what)| (format!("{marker}{suffix}"), *what))
        .collect();
    let module = snake_case(&endpoint_name.name);
    // The structs so far: one named again is a duplicate, reported as such.
    let mut structs_seen: HashSet<String> = HashSet::new();
    let mut methods: HashMap<String, &Ident> = HashMap::new();
    for message in &endpoint.messages {
        check_params(message, found);
        if !valid_name("message", &message.name, found) {
            continue;
        }
        let request = pascal_case(&message.name.name);
        let response = message.is_request().then(|| format!("{request}Response"));
        let structs = std::iter::once((request, false)).chain(response.map(|r| (r, true)));
        for (rust, is_response) in structs {
            if !structs_seen.insert(rust.clone()) {
                continue;
            }
            let Some((_, taken_by)) = items.iter().find(|(item, _)| *item == rust) else {
                continue;
            };
            let what = if is_response {
                format!("the response of message `{}`", excerpt(&message.name.name))
            } else {
                format!("message `{}`", excerpt(&message.name.name))
            };
            found.push(
                Diagnostic::error(
                    message.name.span,
                    format!(
                        "{what} has the Rust name `{}` of the {taken_by} of endpoint `{}`",
                        excerpt(&rust),
                        excerpt(&endpoint_name.name)
                    ),
                )
                .with_related(
                    endpoint_name.span,
                    format!("the {taken_by} is named after this"),
                )
                .with_hint(format!(
                    "the generated module `{}` holds the endpoint's own items (`{}`, `{}`, \
                     `{}`, ...) and a struct for each message and response; rename the message",
                    excerpt(&module),
                    excerpt(&items[0].0),
                    excerpt(&items[1].0),
                    excerpt(&items[2].0)
                )),
            );
        }
        check_method(&message.name, &mut methods, found);
    }
}

/// The method of message `name`, which must not be the method of an
/// earlier message. Messages whose `snake_case` forms are equal are
/// duplicates, reported as such; this finds `connect` and `connect_message`.
fn check_method<'a>(
    name: &'a Ident,
    methods: &mut HashMap<String, &'a Ident>,
    found: &mut Vec<Diagnostic>,
) {
    let snake = snake_case(&name.name);
    let method = if HELPER_METHODS.contains(&snake.as_str()) {
        format!("{snake}{HELPER_SUFFIX}")
    } else {
        snake.clone()
    };
    let Some(first) = methods.get(&method) else {
        methods.insert(method, name);
        return;
    };
    if snake_case(&first.name) == snake {
        return;
    }
    // One of the two is a helper's name, renamed.
    let (helper, renamed): (&Ident, String) = if method == snake {
        (first, snake_case(&first.name))
    } else {
        (name, snake.clone())
    };
    found.push(
        Diagnostic::error(
            name.span,
            format!(
                "message `{}` has the Rust method name `{}` of message `{}`",
                excerpt(&name.name),
                excerpt(&method),
                excerpt(&first.name)
            ),
        )
        .with_related(first.span, "first defined here")
        .with_hint(format!(
            "`{renamed}` is a method of the generated clients, so the method of message `{}` is \
             `{}`; rename one of the messages",
            excerpt(&helper.name),
            excerpt(&method)
        )),
    );
}

fn check_params(message: &Message, found: &mut Vec<Diagnostic>) {
    for param in &message.params {
        check_param(param, "parameter", found);
    }
    if let MessageKind::Request { results } = &message.kind {
        for param in results {
            check_param(param, "result", found);
        }
    }
}

fn check_param(param: &Param, what: &str, found: &mut Vec<Diagnostic>) {
    valid_name(what, &param.name, found);
    // A type that does not resolve is the resolution check's business.
    if let (Some(ty), Ok(_)) = (&param.ty, types::resolve(param)) {
        check_user_types(ty, found);
    }
}

/// User types become Rust paths: each segment must be an identifier, which
/// `_` is not. `ty` resolves.
fn check_user_types(ty: &Type, found: &mut Vec<Diagnostic>) {
    for arg in &ty.args {
        if let TypeArg::Type(inner) = arg {
            check_user_types(inner, found);
        }
    }
    if !ty.segments.iter().any(|s| s.name == "_") {
        return;
    }
    if let Ok(IdlType::User { path }) = types::resolve_type(ty) {
        found.push(
            Diagnostic::error(
                ty.span,
                format!(
                    "the user type `{}` has `_` as a path segment, which Rust does not allow",
                    excerpt(&path)
                ),
            )
            .with_hint("name the type and its namespaces with letters, as in `Web::Cookie`"),
        );
    }
}

/// Whether `name` gives a Rust identifier once converted to `snake_case` or
/// `PascalCase` (both have the same words), reporting it when not. `what`
/// is `endpoint`, `message`, `parameter` or `result`.
fn valid_name(what: &str, name: &Ident, found: &mut Vec<Diagnostic>) -> bool {
    let snake = snake_case(&name.name);
    let written = excerpt(&name.name);
    let (message, hint) = if snake.is_empty() {
        (
            format!("{what} name `{written}` has no letters or digits to make a Rust name of"),
            format!("give the {what} a name that has letters"),
        )
    } else if snake.starts_with(|c: char| c.is_ascii_digit()) {
        (
            format!(
                "{what} name `{written}` gives the Rust name `{}`, which starts with a digit",
                excerpt(&snake)
            ),
            format!(
                "underscores only separate words, so `{written}` starts with a digit in Rust; \
                 start the name with a letter"
            ),
        )
    } else {
        return true;
    };
    found.push(Diagnostic::error(name.span, message).with_hint(hint));
    false
}

fn same_module(first: &Ident, second: &Ident, module: &str) -> Diagnostic {
    Diagnostic::error(
        second.span,
        format!(
            "endpoint `{}` gives the Rust module `{}` of endpoint `{}`",
            excerpt(&second.name),
            excerpt(module),
            excerpt(&first.name)
        ),
    )
    .with_related(first.span, "first defined here")
    .with_hint(format!(
        "`{}` and `{}` are the same name in Rust (`{}`, `{}`); rename one of the endpoints",
        excerpt(&first.name),
        excerpt(&second.name),
        excerpt(module),
        excerpt(&pascal_case(&second.name))
    ))
}
