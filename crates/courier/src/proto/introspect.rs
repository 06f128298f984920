//! The reserved introspection request: what a connection serves, asked by a
//! tool that was not compiled with the interface.

use crate::codec::{Decode, DecodeError, Decoder, Encode, EncodeError, Encoder, decode_from_parts};

use super::EndpointInfo;
use super::hello::PROTOCOL_VERSION;

/// The endpoint magic of courier's introspection frames: the Jenkins
/// one-at-a-time hash of `courier:introspect` (3836866238, `0xE4B1EEBE`).
///
/// The name is not an identifier (it has a `:`), so no `.ipc` file can
/// declare an endpoint with it; a real endpoint could only share the magic
/// by a hash collision, which `courier check` would have to meet in the
/// same connection to matter.
pub const INTROSPECT_MAGIC: u32 = 0xE4B1_EEBE;
/// The message id of the introspection request (empty body).
pub const INTROSPECT_REQUEST: u32 = 1;
/// The message id of its response (an [`Introspection`]).
pub const INTROSPECT_RESPONSE: u32 = 2;
/// The name of the introspection message, for logs and errors.
pub(crate) const INTROSPECT_NAME: &str = "courier:introspect";

/// One endpoint of an [`Introspection`]: its name and magic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IntrospectedEndpoint {
    /// The endpoint's name, as in the `.ipc` file (`NoMessages` for a side
    /// that handles nothing).
    pub name: String,
    /// Its magic (0 for `NoMessages`).
    pub magic: u32,
}

/// The answer to the introspection request: what the answering side speaks.
///
/// Its body, in courier's codec (all integers little-endian):
///
/// | field | encoding |
/// |---|---|
/// | protocol version | `u32` |
/// | endpoints | `u32` count (always 2), then per endpoint a `String` name (`u32` length, UTF-8 bytes) and a `u32` magic: the answering side's local endpoint first, then its peer endpoint |
/// | definition | `String`: the `.ipc` text of the local endpoint ([`Endpoint::DEFINITION`](crate::Endpoint::DEFINITION)), followed, when the peer endpoint's definition is not empty and not the same text, by a blank line and that one; empty when neither has one |
///
/// # Example
///
/// ```
/// use courier::proto::{IntrospectedEndpoint, Introspection};
///
/// let answer = Introspection {
///     version: 1,
///     endpoints: vec![
///         IntrospectedEndpoint { name: "LookupServer".into(), magic: 3613307456 },
///         IntrospectedEndpoint { name: "NoMessages".into(), magic: 0 },
///     ],
///     definition: "endpoint LookupServer\n{\n}\n".into(),
/// };
/// let body = answer.encode_body().unwrap();
/// assert_eq!(&body[..8], &[1, 0, 0, 0, 2, 0, 0, 0]);
/// assert_eq!(Introspection::decode(&body).unwrap(), answer);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    /// The wire protocol version the answering side speaks.
    pub version: u32,
    /// Its endpoints: local (the one it handles) first, then peer (the one
    /// it expects the other side to handle).
    pub endpoints: Vec<IntrospectedEndpoint>,
    /// The `.ipc` text of its interface, as `courier_idl::print` renders
    /// it; empty for hand-written endpoints.
    pub definition: String,
}

impl Introspection {
    /// What a connection with endpoints `local` and `peer` answers.
    pub(crate) fn of(local: &EndpointInfo, peer: &EndpointInfo) -> Introspection {
        let mut definition = local.definition.to_owned();
        if !peer.definition.is_empty() && peer.definition != local.definition {
            if !definition.is_empty() {
                definition.push('\n');
            }
            definition.push_str(peer.definition);
        }
        let endpoint = |info: &EndpointInfo| IntrospectedEndpoint {
            name: info.name.to_owned(),
            magic: info.magic,
        };
        Introspection {
            version: u32::from(PROTOCOL_VERSION),
            endpoints: vec![endpoint(local), endpoint(peer)],
            definition,
        }
    }

    /// Decodes the body of an introspection response (the `Ok` body of the
    /// [`Event::Response`](super::Event::Response) to
    /// [`Connection::send_introspect`](super::Connection::send_introspect)).
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the body is cut short, a name or the definition
    /// is not UTF-8, or bytes are left over.
    pub fn decode(body: &[u8]) -> Result<Introspection, DecodeError> {
        decode_from_parts(body, Vec::new())
    }

    /// Encodes the response body, as [`Introspection::decode`] reads it.
    ///
    /// # Errors
    ///
    /// [`EncodeError`] when a string or the list is longer than a `u32`
    /// count can say.
    pub fn encode_body(&self) -> Result<Vec<u8>, EncodeError> {
        let mut encoder = Encoder::new();
        self.encode(&mut encoder)?;
        Ok(encoder.into_parts().0)
    }
}

impl Encode for IntrospectedEndpoint {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder.encode(&self.name)?;
        encoder.encode(&self.magic)
    }
}

impl Decode for IntrospectedEndpoint {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(IntrospectedEndpoint {
            name: decoder.decode_field("name")?,
            magic: decoder.decode_field("magic")?,
        })
    }
}

impl Encode for Introspection {
    fn encode(&self, encoder: &mut Encoder) -> Result<(), EncodeError> {
        encoder.encode(&self.version)?;
        encoder.encode(&self.endpoints)?;
        encoder.encode(&self.definition)
    }
}

impl Decode for Introspection {
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Introspection {
            version: decoder.decode_field("version")?,
            endpoints: decoder.decode_field("endpoints")?,
            definition: decoder.decode_field("definition")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &'static str, magic: u32, definition: &'static str) -> EndpointInfo {
        EndpointInfo {
            name,
            magic,
            message_name: |_| None,
            definition,
            fingerprint: 0,
        }
    }

    #[test]
    fn the_magic_is_the_hash_of_a_name_no_file_can_declare() {
        let hash = courier_idl::magic::endpoint_magic(INTROSPECT_NAME);
        assert_eq!(hash, INTROSPECT_MAGIC);
        assert_ne!(INTROSPECT_MAGIC, 0, "0 is the pool's control magic");
    }

    #[test]
    fn the_body_is_as_documented_byte_for_byte() {
        let answer = Introspection::of(&info("Ab", 7, "x\n"), &info("C", 0x0102_0304, ""));
        let body = answer.encode_body().unwrap();
        #[rustfmt::skip]
        let expected: &[u8] = &[
            1, 0, 0, 0,                 // version 1
            2, 0, 0, 0,                 // two endpoints
            2, 0, 0, 0, b'A', b'b',     // "Ab"
            7, 0, 0, 0,                 // magic 7
            1, 0, 0, 0, b'C',           // "C"
            4, 3, 2, 1,                 // magic 0x01020304
            2, 0, 0, 0, b'x', b'\n',    // the definition
        ];
        assert_eq!(body, expected);
        assert_eq!(Introspection::decode(&body).unwrap(), answer);
    }

    #[test]
    fn the_example_of_wire_format_md_is_what_a_lookup_server_answers() {
        let server = info(
            "LookupServer",
            3_613_307_456,
            "endpoint LookupServer\n{\n}\n",
        );
        let none = EndpointInfo::of::<crate::NoMessages>();
        let body = Introspection::of(&server, &none).encode_body().unwrap();
        let hex: Vec<String> = body.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex.join(" "),
            "01 00 00 00 02 00 00 00 \
             0c 00 00 00 4c 6f 6f 6b 75 70 53 65 72 76 65 72 40 b2 5e d7 \
             0a 00 00 00 4e 6f 4d 65 73 73 61 67 65 73 00 00 00 00 \
             1a 00 00 00 65 6e 64 70 6f 69 6e 74 20 4c 6f 6f 6b 75 70 53 65 72 76 65 72 0a 7b 0a 7d 0a"
        );
        assert_eq!(body.len(), 0x4c);
    }

    #[test]
    fn definitions_of_two_files_are_joined_and_one_file_is_not_repeated() {
        let same = "endpoint A\n{\n}\n\nendpoint B\n{\n}\n";
        let joined = Introspection::of(&info("A", 1, same), &info("B", 2, same));
        assert_eq!(joined.definition, same);
        let two = Introspection::of(&info("A", 1, "a\n"), &info("B", 2, "b\n"));
        assert_eq!(two.definition, "a\n\nb\n");
        let peer_only = Introspection::of(&info("A", 1, ""), &info("B", 2, "b\n"));
        assert_eq!(peer_only.definition, "b\n");
    }

    #[test]
    fn malformed_bodies_are_decode_errors() {
        let body = Introspection::of(&info("A", 1, "a"), &info("B", 2, ""))
            .encode_body()
            .unwrap();
        for cut in 0..body.len() {
            assert!(Introspection::decode(&body[..cut]).is_err(), "cut {cut}");
        }
        let mut longer = body.clone();
        longer.push(0);
        assert!(Introspection::decode(&longer).is_err());
        // A count of endpoints larger than the bytes left.
        assert!(Introspection::decode(&[1, 0, 0, 0, 255, 255, 255, 255]).is_err());
    }
}
