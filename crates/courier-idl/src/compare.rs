//! Comparing two interfaces message by message.
//!
//! Two `.ipc` files describe the same interface when they declare the same
//! endpoints with the same magics (the hash of the name, or the number
//! written after `=`) and the same messages in the same order
//! (so the same ids), of the same kinds, with the same parameters: types,
//! attributes and names (the names become the generated fields). Comments,
//! spacing, `#` lines and the spelling of whitespace inside types do not
//! count. This is how a service written for courier shows that it speaks
//! the same protocol as the C++ service it replaces.

use crate::ast::{Endpoint, IpcFile, MessageKind, Param};

/// One line per message of `endpoint`, as the comparison sees it: its id,
/// name, parameters and kind, e.g.
/// `1 GetClipboardData() => ([] Core::AnonymousBuffer data, [] String mime_type)`
/// or `3 SetClipboardData([] Core::AnonymousBuffer data, [] String mime_type) =|`.
///
/// Ids count from 1 in declaration order, a request's response taking the
/// next one, as the generated code numbers them.
pub fn message_signatures(endpoint: &Endpoint) -> Vec<String> {
    let mut id = 1u32;
    endpoint
        .messages
        .iter()
        .map(|message| {
            let params = params(&message.params);
            let line = match &message.kind {
                MessageKind::Request { results } => {
                    format!(
                        "{id} {}({params}) => ({})",
                        message.name.name,
                        self::params(results)
                    )
                }
                MessageKind::OneWay => format!("{id} {}({params}) =|", message.name.name),
            };
            id += match message.kind {
                MessageKind::Request { .. } => 2,
                MessageKind::OneWay => 1,
            };
            line
        })
        .collect()
}

fn params(params: &[Param]) -> String {
    params.iter().map(param).collect::<Vec<_>>().join(", ")
}

fn param(param: &Param) -> String {
    let attrs: Vec<&str> = param.attrs.iter().map(|a| a.name.name.as_str()).collect();
    let ty = param
        .ty
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    format!("[{}] {ty} {}", attrs.join(","), param.name.name)
}

/// Where `ours` differs from `theirs`, one sentence per difference (empty
/// when they describe the same interface): a different number of
/// endpoints, an endpoint of another name (so another magic), a message
/// missing, extra, or different, quoting both signatures.
///
/// ```
/// let (ours, _) = courier_idl::parse("endpoint E { Ping(i32 n) => () }");
/// let (theirs, _) = courier_idl::parse("endpoint E\n{\n    Ping(i32 n) => ()\n}\n");
/// assert!(courier_idl::compare::differences(&ours, &theirs).is_empty());
///
/// let (other, _) = courier_idl::parse("endpoint E { Ping(u32 n) => () }");
/// assert_eq!(
///     courier_idl::compare::differences(&other, &theirs),
///     ["endpoint `E`, message 1: ours is `1 Ping([] u32 n) => ()`, theirs is `1 Ping([] i32 n) => ()`"]
/// );
/// ```
pub fn differences(ours: &IpcFile, theirs: &IpcFile) -> Vec<String> {
    let mut found = Vec::new();
    if ours.endpoints.len() != theirs.endpoints.len() {
        found.push(format!(
            "ours declares {} endpoints, theirs {}",
            ours.endpoints.len(),
            theirs.endpoints.len()
        ));
    }
    for (index, (our, their)) in ours.endpoints.iter().zip(&theirs.endpoints).enumerate() {
        if our.name.name != their.name.name {
            found.push(format!(
                "endpoint {}: ours is `{}` (magic {}), theirs `{}` (magic {})",
                index + 1,
                our.name.name,
                our.magic(),
                their.name.name,
                their.magic()
            ));
            continue;
        }
        let name = &our.name.name;
        if our.magic() != their.magic() {
            found.push(format!(
                "endpoint `{name}`: ours has the magic {}, theirs {}",
                our.magic(),
                their.magic()
            ));
        }
        let (our_lines, their_lines) = (message_signatures(our), message_signatures(their));
        for (index, pair) in our_lines.iter().zip(&their_lines).enumerate() {
            if pair.0 != pair.1 {
                found.push(format!(
                    "endpoint `{name}`, message {}: ours is `{}`, theirs is `{}`",
                    index + 1,
                    pair.0,
                    pair.1
                ));
            }
        }
        for (index, line) in our_lines.iter().enumerate().skip(their_lines.len()) {
            found.push(format!(
                "endpoint `{name}`, message {}: ours has `{line}`, theirs has no such message",
                index + 1
            ));
        }
        for (index, line) in their_lines.iter().enumerate().skip(our_lines.len()) {
            found.push(format!(
                "endpoint `{name}`, message {}: theirs has `{line}`, ours has no such message",
                index + 1
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> IpcFile {
        let (file, diagnostics) = crate::parse(text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        file
    }

    #[test]
    fn ids_count_responses() {
        let file = parse("endpoint E { A() => (u8 x) B() =| C([UTF8] String s) => () }");
        assert_eq!(
            message_signatures(&file.endpoints[0]),
            [
                "1 A() => ([] u8 x)",
                "3 B() =|",
                "4 C([UTF8] String s) => ()"
            ]
        );
    }

    #[test]
    fn comments_spacing_and_hash_lines_do_not_count() {
        let ours = parse("#include <x>\nendpoint E {\n // a comment\n A(Vector< i32 > v) =|\n}");
        let theirs = parse("endpoint E { A(Vector<i32> v) =| }");
        assert_eq!(differences(&ours, &theirs), Vec::<String>::new());
    }

    #[test]
    fn every_kind_of_difference_is_named() {
        let theirs = parse("endpoint E { A() => () B(i32 x) =| } endpoint F { }");
        let cases = [
            (
                "endpoint E { A() => () B(i32 x) =| }",
                "ours declares 1 endpoints, theirs 2",
            ),
            (
                "endpoint E { A() => () B(i32 x) =| } endpoint G { }",
                "endpoint 2: ours is `G`",
            ),
            (
                "endpoint E { A() =| B(i32 x) =| } endpoint F { }",
                "endpoint `E`, message 1: ours is `1 A() =|`, theirs is `1 A() => ()`",
            ),
            (
                "endpoint E { A() => () B(i32 y) =| } endpoint F { }",
                "message 2: ours is `3 B([] i32 y) =|`",
            ),
            (
                "endpoint E { A() => () B([UTF8] i32 x) =| } endpoint F { }",
                "ours is `3 B([UTF8] i32 x) =|`",
            ),
            (
                "endpoint E { A() => () } endpoint F { }",
                "theirs has `3 B([] i32 x) =|`, ours has no such message",
            ),
            (
                "endpoint E { A() => () B(i32 x) =| C() =| } endpoint F { }",
                "ours has `4 C() =|`, theirs has no such message",
            ),
            (
                "endpoint E = 5 { A() => () B(i32 x) =| } endpoint F { }",
                "endpoint `E`: ours has the magic 5, theirs 3368849798",
            ),
        ];
        for (ours, expected) in cases {
            let found = differences(&parse(ours), &theirs);
            // A request turned one-way also shifts the ids after it.
            assert!(
                !found.is_empty() && found[0].contains(expected),
                "{ours}: {found:?}"
            );
        }
    }
}
