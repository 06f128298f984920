//! Interface fingerprints: a 64-bit hash of what fixes an endpoint's wire.
//!
//! Two programs built from different versions of an `.ipc` file may agree
//! on an endpoint's name and magic and still disagree on its messages. The
//! fingerprint tells them apart at the handshake: each side sends the
//! fingerprints it was built with, and a difference fails the handshake
//! instead of the first message whose layout changed.
//!
//! # Definition
//!
//! The fingerprint is the 64-bit FNV-1a hash of the endpoint's **canonical
//! text** ([`canonical_text`]), a UTF-8 text of lines each ending in `\n`:
//!
//! - first `endpoint <magic>`, the endpoint's magic in decimal;
//! - then one line per message, in declaration order:
//!   `<id> <name>(<params>) => (<results>)` for a request,
//!   `<id> <name>(<params>) =|` for a one-way message, where `<id>` is the
//!   message id in decimal (from 1, a request taking two), `<name>` the name
//!   as written in the `.ipc` file, and `<params>` / `<results>` the
//!   parameters' resolved types in canonical spelling (as
//!   [`IdlType`](crate::types::IdlType)'s `Display` writes them), separated
//!   by `, `.
//!
//! Everything that does not change the bytes on the wire is left out:
//! comments, directives, parameter names, attributes other than those that
//! change a type (`[UTF8]`, `[File]`, `[Bitmap]`, which show through the
//! resolved type), spacing, and the spelling of a type (`int` is `i32`,
//! `AK::Vector` is `Vector`). Message names are kept: two messages of the
//! same types that trade places change the wire's meaning.
//!
//! FNV-1a 64 starts from `0xcbf29ce484222325` and, for each byte, XORs the
//! byte in and multiplies by `0x100000001b3` (wrapping). A result of `0`
//! is replaced by `1`, since `0` means "unknown" in the handshake.
//!
//! The encodings of user types (`URL::URL`) are not in the `.ipc` file and
//! so not in the fingerprint: only their names are.
//!
//! ```
//! use courier_idl::fingerprint::{canonical_text, fingerprint};
//!
//! let (file, _) = courier_idl::parse(
//!     "endpoint LookupServer {\n\
//!     \x20   // Resolves a host name.\n\
//!     \x20   lookup(String host) => (Vector<String> addresses)\n\
//!     \x20   forget([UTF8] ByteString host, int reason) =|\n\
//!     }\n",
//! );
//! let endpoint = &file.endpoints[0];
//! assert_eq!(
//!     canonical_text(endpoint)?,
//!     "endpoint 3613307456\n\
//!      1 lookup(String) => (Vector<String>)\n\
//!      3 forget(String, i32) =|\n"
//! );
//! assert_eq!(fingerprint(endpoint)?, 0x5031_67d1_06fc_9246);
//! # Ok::<(), courier_idl::fingerprint::FingerprintError>(())
//! ```

use std::fmt;
use std::fmt::Write as _;

use crate::ast::{Endpoint, MessageKind, Param};
use crate::types;

/// The FNV-1a 64 offset basis.
const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// The FNV-1a 64 prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A parameter whose type has no meaning, so the endpoint has no
/// fingerprint (the checks report the same fault as a diagnostic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FingerprintError {
    /// The endpoint's name.
    pub endpoint: String,
    /// The message's name.
    pub message: String,
    /// The parameter's name.
    pub param: String,
    /// What is wrong with its type.
    pub reason: String,
}

impl fmt::Display for FingerprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "endpoint `{}` has no fingerprint: parameter `{}` of `{}` {}; fix the type (`courier check` shows where)",
            self.endpoint, self.param, self.message, self.reason
        )
    }
}

impl std::error::Error for FingerprintError {}

/// The canonical text of `endpoint` that [`fingerprint`] hashes (see the
/// module's documentation for its definition).
///
/// # Errors
///
/// [`FingerprintError`] when a parameter's type does not resolve.
pub fn canonical_text(endpoint: &Endpoint) -> Result<String, FingerprintError> {
    let mut text = format!("endpoint {}\n", endpoint.magic());
    let mut next_id: u32 = 1;
    for message in &endpoint.messages {
        let types = |params: &[Param]| -> Result<String, FingerprintError> {
            let mut out = String::new();
            for (index, param) in params.iter().enumerate() {
                let ty = types::resolve(param).map_err(|reason| FingerprintError {
                    endpoint: endpoint.name.name.clone(),
                    message: message.name.name.clone(),
                    param: param.name.name.clone(),
                    reason,
                })?;
                if index > 0 {
                    out.push_str(", ");
                }
                // Writing to a String cannot fail.
                let _ = write!(out, "{ty}");
            }
            Ok(out)
        };
        let params = types(&message.params)?;
        let _ = write!(text, "{next_id} {}({params})", message.name.name);
        match &message.kind {
            MessageKind::Request { results } => {
                let results = types(results)?;
                let _ = writeln!(text, " => ({results})");
                next_id = next_id.saturating_add(2);
            }
            MessageKind::OneWay => {
                text.push_str(" =|\n");
                next_id = next_id.saturating_add(1);
            }
        }
    }
    Ok(text)
}

/// The fingerprint of `endpoint`: FNV-1a 64 of its [`canonical_text`],
/// never `0`.
///
/// # Errors
///
/// [`FingerprintError`] when a parameter's type does not resolve.
pub fn fingerprint(endpoint: &Endpoint) -> Result<u64, FingerprintError> {
    Ok(fingerprint_of_text(&canonical_text(endpoint)?))
}

/// FNV-1a 64 of `text`'s bytes, with `0` replaced by `1`: the fingerprint
/// of a canonical text computed by other means.
///
/// ```
/// use courier_idl::fingerprint::fingerprint_of_text;
/// assert_eq!(fingerprint_of_text(""), 0xcbf29ce484222325);
/// assert_eq!(fingerprint_of_text("a"), 0xaf63dc4c8601ec8c);
/// ```
pub fn fingerprint_of_text(text: &str) -> u64 {
    let hash = text.bytes().fold(FNV_OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    });
    hash.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(text: &str) -> Endpoint {
        let (file, diagnostics) = crate::parse(text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        file.endpoints.into_iter().next().expect("one endpoint")
    }

    fn print(text: &str) -> u64 {
        fingerprint(&endpoint(text)).expect("a fingerprint")
    }

    const BASE: &str =
        "endpoint Demo {\n    ping(i32 id) => (String name)\n    note([File] fd) =|\n}\n";

    #[test]
    fn the_value_is_pinned() {
        let demo = endpoint(BASE);
        assert_eq!(
            canonical_text(&demo).unwrap(),
            format!(
                "endpoint {}\n1 ping(i32) => (String)\n3 note(IPC::File) =|\n",
                crate::magic::endpoint_magic("Demo")
            )
        );
        assert_eq!(print(BASE), 0xa94a_75c7_90c4_287e);
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fingerprint_of_text(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint_of_text("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fingerprint_of_text("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn what_does_not_change_the_wire_does_not_change_the_fingerprint() {
        let same = [
            // Comments, spacing, parameter names.
            "// doc\nendpoint Demo\n{\n  // hi\n  ping( i32  other ) => ( String n )\n  note([File] f) =|\n}\n",
            // Spellings of the same type.
            "endpoint Demo {\n    ping(int id) => (String name)\n    note(IPC::File fd) =|\n}\n",
            // A directive before the endpoint.
            "#include <AK/String.h>\nendpoint Demo {\n    ping(i32 id) => (String name)\n    note([File] fd) =|\n}\n",
        ];
        for text in same {
            assert_eq!(print(text), print(BASE), "{text}");
        }
    }

    #[test]
    fn what_changes_the_wire_changes_the_fingerprint() {
        let different = [
            // A parameter's type.
            "endpoint Demo {\n    ping(u32 id) => (String name)\n    note([File] fd) =|\n}\n",
            // A result's type.
            "endpoint Demo {\n    ping(i32 id) => (ByteString name)\n    note([File] fd) =|\n}\n",
            // One more parameter.
            "endpoint Demo {\n    ping(i32 id, i32 more) => (String name)\n    note([File] fd) =|\n}\n",
            // Request instead of one-way.
            "endpoint Demo {\n    ping(i32 id) => (String name)\n    note([File] fd) => ()\n}\n",
            // A message's name.
            "endpoint Demo {\n    pong(i32 id) => (String name)\n    note([File] fd) =|\n}\n",
            // The order of messages (ids shift).
            "endpoint Demo {\n    note([File] fd) =|\n    ping(i32 id) => (String name)\n}\n",
            // The magic.
            "endpoint Demo = 7 {\n    ping(i32 id) => (String name)\n    note([File] fd) =|\n}\n",
            // A message more.
            "endpoint Demo {\n    ping(i32 id) => (String name)\n    note([File] fd) =|\n    x() =|\n}\n",
        ];
        for text in different {
            assert_ne!(print(text), print(BASE), "{text}");
        }
    }

    #[test]
    fn an_unresolvable_type_is_a_typed_error() {
        let bad = endpoint("endpoint Demo {\n    ping(Vector<i32, i32> id) =|\n}\n");
        let error = fingerprint(&bad).unwrap_err();
        assert_eq!(error.endpoint, "Demo");
        assert_eq!(error.message, "ping");
        assert_eq!(error.param, "id");
        assert!(
            error
                .to_string()
                .starts_with("endpoint `Demo` has no fingerprint: parameter `id` of `ping`"),
            "{error}"
        );
    }
}
