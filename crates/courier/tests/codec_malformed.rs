//! Malformed bodies: each gives its typed error kind and the field path
//! where it happened, never a panic or a large allocation.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::os::fd::OwnedFd;

use courier::codec::{DecodeError, DecodeErrorKind, decode_from_parts, encode_to_parts};
use courier::gfx::IntRect;
use courier::{ByteString, Decode, Encode, Variant2, Variant3};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Encode, Decode)]
enum Mode {
    Off,
    On,
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Sample {
    id: u32,
    title: String,
    tags: Vec<u16>,
    maybe: Option<u64>,
    rect: IntRect,
}

/// What a case must fail with.
enum Expect {
    Kind(DecodeErrorKind),
    /// `DecodeErrorKind::Invalid` whose message contains this.
    Invalid(&'static str),
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    fds: usize,
    decode: fn(&[u8], Vec<OwnedFd>) -> Result<(), DecodeError>,
    expect: Expect,
    path: &'static [&'static str],
}

fn decode_as<T: Decode + Debug>(bytes: &[u8], fds: Vec<OwnedFd>) -> Result<(), DecodeError> {
    decode_from_parts::<T>(bytes, fds).map(|value| {
        panic!("decoded a malformed body into {value:?}");
    })
}

fn some_fds(n: usize) -> Vec<OwnedFd> {
    (0..n)
        .map(|_| OwnedFd::from(tempfile::tempfile().unwrap()))
        .collect()
}

fn le(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn cases() -> Vec<Case> {
    use DecodeErrorKind::*;
    let huge = 0xffff_ffffu32.to_le_bytes();
    vec![
        Case {
            name: "huge count in a tiny body: Vec<u32>",
            bytes: le(&[&huge, &[1, 2]]),
            fds: 0,
            decode: decode_as::<Vec<u32>>,
            expect: Expect::Kind(CountTooLarge {
                count: 0xffff_ffff,
                available: 2,
            }),
            path: &[],
        },
        Case {
            name: "huge count in a tiny body: Vec<String>",
            bytes: le(&[&huge, &[0; 8]]),
            fds: 0,
            decode: decode_as::<Vec<String>>,
            expect: Expect::Kind(CountTooLarge {
                count: 0xffff_ffff,
                available: 8,
            }),
            path: &[],
        },
        Case {
            name: "huge count in a tiny body: HashMap",
            bytes: le(&[&huge, &[0; 3]]),
            fds: 0,
            decode: decode_as::<HashMap<u8, u8>>,
            expect: Expect::Kind(CountTooLarge {
                count: 0xffff_ffff,
                available: 3,
            }),
            path: &[],
        },
        Case {
            name: "huge length in a tiny body: String",
            bytes: le(&[&huge, b"abc"]),
            fds: 0,
            decode: decode_as::<String>,
            expect: Expect::Kind(CountTooLarge {
                count: 0xffff_ffff,
                available: 3,
            }),
            path: &[],
        },
        Case {
            name: "huge length in a tiny body: ByteString",
            bytes: le(&[&huge, b"abc"]),
            fds: 0,
            decode: decode_as::<ByteString>,
            expect: Expect::Kind(CountTooLarge {
                count: 0xffff_ffff,
                available: 3,
            }),
            path: &[],
        },
        Case {
            name: "more fds claimed than sent",
            bytes: le(&[&3u32.to_le_bytes()]),
            fds: 2,
            decode: decode_as::<Vec<OwnedFd>>,
            expect: Expect::Kind(CountTooLarge {
                count: 3,
                available: 0,
            }),
            path: &[],
        },
        Case {
            name: "count fits the bytes but not the elements",
            bytes: le(&[&3u32.to_le_bytes(), &[0; 8]]),
            fds: 0,
            decode: decode_as::<Vec<u64>>,
            expect: Expect::Kind(CountTooLarge {
                count: 3,
                available: 8,
            }),
            path: &[],
        },
        Case {
            name: "bad UTF-8",
            bytes: le(&[&3u32.to_le_bytes(), &[b'a', 0xc3, 0x28]]),
            fds: 0,
            decode: decode_as::<String>,
            expect: Expect::Kind(InvalidUtf8 { valid_up_to: 1 }),
            path: &[],
        },
        Case {
            name: "bad UTF-8 deep inside",
            bytes: le(&[
                &2u32.to_le_bytes(),
                &[0],
                &[1],
                &1u32.to_le_bytes(),
                &[0xff],
            ]),
            fds: 0,
            decode: decode_as::<Vec<Option<String>>>,
            expect: Expect::Kind(InvalidUtf8 { valid_up_to: 0 }),
            path: &["[1]"],
        },
        Case {
            name: "bool 2",
            bytes: vec![2],
            fds: 0,
            decode: decode_as::<bool>,
            expect: Expect::Kind(InvalidBool(2)),
            path: &[],
        },
        Case {
            name: "bool 2 in a bulk Vec<bool>",
            bytes: le(&[&3u32.to_le_bytes(), &[1, 0, 2]]),
            fds: 0,
            decode: decode_as::<Vec<bool>>,
            expect: Expect::Kind(InvalidBool(2)),
            path: &["[2]"],
        },
        Case {
            name: "Optional tag 2",
            bytes: vec![2, 0, 0, 0, 0],
            fds: 0,
            decode: decode_as::<Option<u32>>,
            expect: Expect::Kind(InvalidBool(2)),
            path: &[],
        },
        Case {
            name: "variant index out of range",
            bytes: vec![2, 0],
            fds: 0,
            decode: decode_as::<Variant2<u8, u8>>,
            expect: Expect::Kind(InvalidTag {
                tag: 2,
                type_name: "Variant2",
            }),
            path: &[],
        },
        Case {
            name: "variant alternative malformed",
            bytes: vec![2, 1, 0, 0, 0, 0xff],
            fds: 0,
            decode: decode_as::<Variant3<u8, u8, String>>,
            expect: Expect::Kind(InvalidUtf8 { valid_up_to: 0 }),
            path: &["V2"],
        },
        Case {
            name: "enum value out of range",
            bytes: 2i32.to_le_bytes().to_vec(),
            fds: 0,
            decode: decode_as::<Mode>,
            expect: Expect::Kind(InvalidTag {
                tag: 2,
                type_name: "Mode",
            }),
            path: &[],
        },
        Case {
            name: "bitmap format out of range",
            bytes: 9u32.to_le_bytes().to_vec(),
            fds: 0,
            decode: decode_as::<courier::shm::BitmapFormat>,
            expect: Expect::Kind(InvalidTag {
                tag: 9,
                type_name: "BitmapFormat",
            }),
            path: &[],
        },
        Case {
            name: "array count != N",
            bytes: le(&[&2u32.to_le_bytes(), &[1, 2]]),
            fds: 0,
            decode: decode_as::<[u8; 3]>,
            expect: Expect::Kind(WrongArrayLength {
                expected: 3,
                found: 2,
            }),
            path: &[],
        },
        Case {
            name: "array count != N, huge",
            bytes: huge.to_vec(),
            fds: 0,
            decode: decode_as::<[String; 1]>,
            expect: Expect::Kind(WrongArrayLength {
                expected: 1,
                found: 0xffff_ffff,
            }),
            path: &[],
        },
        Case {
            name: "trailing bytes",
            bytes: vec![1, 0, 0, 0, 9, 9],
            fds: 0,
            decode: decode_as::<u32>,
            expect: Expect::Kind(TrailingBytes(2)),
            path: &[],
        },
        Case {
            name: "missing fd",
            bytes: vec![7],
            fds: 0,
            decode: decode_as::<(u8, OwnedFd)>,
            expect: Expect::Kind(MissingFd),
            path: &["1"],
        },
        Case {
            name: "unclaimed fds",
            bytes: vec![7],
            fds: 2,
            decode: decode_as::<u8>,
            expect: Expect::Kind(UnclaimedFds(2)),
            path: &[],
        },
        Case {
            name: "duplicate map key",
            bytes: le(&[&2u32.to_le_bytes(), &[1, 10], &[1, 20]]),
            fds: 0,
            decode: decode_as::<HashMap<u8, u8>>,
            expect: Expect::Invalid("has this key twice"),
            path: &["[1]"],
        },
        Case {
            name: "duplicate BTreeMap key",
            bytes: le(&[&2u32.to_le_bytes(), &[1, 10], &[1, 20]]),
            fds: 0,
            decode: decode_as::<BTreeMap<u8, u8>>,
            expect: Expect::Invalid("has this key twice"),
            path: &["[1]"],
        },
        Case {
            name: "map value malformed",
            bytes: le(&[&1u32.to_le_bytes(), &[1], &[5]]),
            fds: 0,
            decode: decode_as::<HashMap<u8, bool>>,
            expect: Expect::Kind(InvalidBool(5)),
            path: &["[0]", "value"],
        },
        Case {
            name: "elements that take no bytes",
            bytes: 1000u32.to_le_bytes().to_vec(),
            fds: 0,
            decode: decode_as::<Vec<()>>,
            expect: Expect::Kind(CountTooLarge {
                count: 1000,
                available: 0,
            }),
            path: &[],
        },
        Case {
            name: "a count of zero-sized elements that fits the bytes",
            bytes: le(&[&2u32.to_le_bytes(), &[0, 0]]),
            fds: 0,
            decode: decode_as::<Vec<()>>,
            expect: Expect::Invalid("take no bytes"),
            path: &["[0]"],
        },
        Case {
            name: "struct field",
            bytes: le(&[&1u32.to_le_bytes(), &1u32.to_le_bytes(), &[0xfe]]),
            fds: 0,
            decode: decode_as::<Sample>,
            expect: Expect::Kind(InvalidUtf8 { valid_up_to: 0 }),
            path: &["title"],
        },
    ]
}

#[test]
fn every_malformed_case_gives_its_error_and_path() {
    for case in cases() {
        let error = (case.decode)(&case.bytes, some_fds(case.fds)).expect_err(case.name);
        match &case.expect {
            Expect::Kind(kind) => assert_eq!(error.kind(), kind, "{}: {error}", case.name),
            Expect::Invalid(needle) => match error.kind() {
                DecodeErrorKind::Invalid(message) => {
                    assert!(message.contains(needle), "{}: {message}", case.name)
                }
                other => panic!("{}: expected Invalid, got {other:?}", case.name),
            },
        }
        assert_eq!(
            error.path().collect::<Vec<_>>(),
            case.path,
            "{}: {error}",
            case.name
        );
        let text = error.to_string();
        assert!(
            !text.ends_with('.'),
            "{}: messages end without a period: {text}",
            case.name
        );
    }
}

#[test]
fn paths_print_with_indices_attached() {
    let bytes = le(&[&1u32.to_le_bytes(), &[1], &[5]]);
    let error = decode_from_parts::<HashMap<u8, bool>>(&bytes, Vec::new()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "in `[0].value`: bool byte is 5, expected 0 or 1"
    );
}

/// The field path each byte of an encoded `Sample` belongs to, and whether
/// it is a length prefix or fixed-size value (cutting there leaves it short:
/// `Truncated`) or counted data (the prefix is whole and claims more than is
/// left: `CountTooLarge`).
fn sample_layout(sample: &Sample) -> Vec<(Vec<&'static str>, bool)> {
    let mut layout = Vec::new();
    let mut push = |path: &[&'static str], n: usize, counted| {
        layout.extend(std::iter::repeat_n((path.to_vec(), counted), n))
    };
    push(&["id"], 4, false);
    push(&["title"], 4, false);
    push(&["title"], sample.title.len(), true);
    push(&["tags"], 4, false);
    push(&["tags"], sample.tags.len() * 2, true);
    push(&["maybe"], 1, false);
    if sample.maybe.is_some() {
        push(&["maybe"], 8, false);
    }
    for field in ["x", "y", "width", "height"] {
        push(&["rect", field], 4, false);
    }
    layout
}

#[test]
fn truncation_at_every_position_names_the_field() {
    let sample = Sample {
        id: 7,
        title: "hello".into(),
        tags: vec![1, 2, 3],
        maybe: Some(9),
        rect: IntRect::new(1, 2, 3, 4),
    };
    let (bytes, _) = encode_to_parts(&sample).unwrap();
    let layout = sample_layout(&sample);
    assert_eq!(layout.len(), bytes.len());
    for cut in 0..bytes.len() {
        let error = decode_from_parts::<Sample>(&bytes[..cut], Vec::new()).unwrap_err();
        let (path, counted) = &layout[cut];
        assert_eq!(
            &error.path().collect::<Vec<_>>(),
            path,
            "cut at {cut}: {error}"
        );
        if *counted {
            assert!(
                matches!(error.kind(), DecodeErrorKind::CountTooLarge { .. }),
                "cut at {cut}: {error}"
            );
        } else {
            assert!(
                matches!(error.kind(), DecodeErrorKind::Truncated { .. }),
                "cut at {cut}: {error}"
            );
        }
    }
    assert_eq!(
        decode_from_parts::<Sample>(&bytes, Vec::new()).unwrap(),
        sample
    );
}

proptest! {
    /// Whatever the bytes, decoding returns: no panic, no huge allocation.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_from_parts::<Sample>(&bytes, Vec::new());
        let _ = decode_from_parts::<Vec<Option<HashMap<String, Vec<i32>>>>>(&bytes, Vec::new());
        let _ = decode_from_parts::<(Variant3<u8, Mode, ByteString>, [u16; 2])>(&bytes, Vec::new());
        let _ = decode_from_parts::<BTreeMap<u8, Vec<bool>>>(&bytes, Vec::new());
        let _ = decode_from_parts::<courier::shm::ShareableBitmap>(&bytes, Vec::new());
        let _ = decode_from_parts::<courier::shm::BitmapSequence>(&bytes, Vec::new());
    }
}
