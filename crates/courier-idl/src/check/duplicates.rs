//! Names that must be unique: messages within an endpoint, parameters
//! within a list.

use std::collections::HashMap;

use crate::ast::{Endpoint, Ident, Message, Param};
use crate::diagnostic::{Diagnostic, excerpt};
use crate::naming::{pascal_case, snake_case};

/// Messages collide when their `snake_case` or their `PascalCase` forms are
/// equal: both are Rust names (method, struct) in generated code. A message
/// also must not be named like another one's response type.
pub(super) fn check_messages(endpoint: &Endpoint, found: &mut Vec<Diagnostic>) {
    let mut by_snake: HashMap<String, &Ident> = HashMap::new();
    let mut by_pascal: HashMap<String, &Ident> = HashMap::new();
    let mut unique: Vec<&Message> = Vec::new();
    for message in &endpoint.messages {
        let name = &message.name;
        let snake = snake_case(&name.name);
        let pascal = pascal_case(&name.name);
        let first = by_snake.get(&snake).or_else(|| by_pascal.get(&pascal));
        if let Some(first) = first {
            found.push(duplicate("message", first, name, &snake, &pascal));
            continue;
        }
        by_snake.insert(snake, name);
        by_pascal.insert(pascal, name);
        unique.push(message);
    }
    check_response_names(&unique, &by_pascal, found);
}

/// `foo` has a response type `FooResponse`; a message `foo_response` would
/// generate a struct of the same name.
/// `messages` are those without a duplicate name, in order.
fn check_response_names(
    messages: &[&Message],
    by_pascal: &HashMap<String, &Ident>,
    found: &mut Vec<Diagnostic>,
) {
    for message in messages.iter().filter(|m| m.is_request()) {
        let response = format!("{}Response", pascal_case(&message.name.name));
        let Some(other) = by_pascal.get(&response) else {
            continue;
        };
        let message_name = excerpt(&message.name.name);
        found.push(
            Diagnostic::error(
                other.span,
                format!(
                    "message `{}` has the Rust name of the response of `{message_name}`",
                    excerpt(&other.name)
                ),
            )
            .with_related(message.name.span, "this request's response is named the same")
            .with_hint(format!(
                "the response of `{message_name}` is the Rust struct `{}`; rename one of the messages",
                excerpt(&response)
            )),
        );
    }
}

/// Parameter names become Rust fields in `snake_case`, so they are compared
/// in that form. `what` is `parameter` or `result`.
pub(super) fn check_params(params: &[Param], what: &str, found: &mut Vec<Diagnostic>) {
    let mut by_snake: HashMap<String, &Ident> = HashMap::new();
    for param in params {
        let name = &param.name;
        let snake = snake_case(&name.name);
        if let Some(first) = by_snake.get(&snake) {
            found.push(duplicate(
                what,
                first,
                name,
                &snake,
                &pascal_case(&name.name),
            ));
            continue;
        }
        by_snake.insert(snake, name);
    }
}

/// "duplicate {what} `second`", pointing at both, with a hint that says why
/// two different spellings collide.
fn duplicate(what: &str, first: &Ident, second: &Ident, snake: &str, pascal: &str) -> Diagnostic {
    let second_name = excerpt(&second.name);
    let hint = if first.name == second.name {
        format!("{what} names must be unique; rename one of them")
    } else {
        format!(
            "`{}` and `{second_name}` are the same name in Rust (`{}`, `{}`); rename one of them",
            excerpt(&first.name),
            excerpt(snake),
            excerpt(pascal)
        )
    };
    Diagnostic::error(second.span, format!("duplicate {what} `{second_name}`"))
        .with_related(first.span, "first defined here")
        .with_hint(hint)
}
