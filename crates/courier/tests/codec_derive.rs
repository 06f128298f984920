//! `#[derive(Encode, Decode)]` on user types: wire shapes, round trips,
//! generics, error paths, and the `crate` attribute.

use std::collections::HashMap;
use std::fmt::Debug;

use courier::codec::{DecodeErrorKind, decode_from_parts, encode_to_parts};
use courier::gfx::IntRect;
use courier::{Decode, Encode};
use proptest::prelude::*;

fn round_trip<T: Encode + Decode + PartialEq + Debug>(value: &T) -> Vec<u8> {
    let (bytes, fds) = encode_to_parts(value).expect("encodes");
    let back: T = decode_from_parts(&bytes, fds).expect("decodes");
    assert_eq!(&back, value);
    bytes
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Window {
    id: i32,
    title: String,
    rect: IntRect,
    tags: Vec<u16>,
    parent: Option<Box<Window>>,
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Pair(u8, String);

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Marker;

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Empty {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
enum Mode {
    Off,
    On,
    Blinking = 7,
}

#[derive(Debug, Clone, Copy, PartialEq, Encode, Decode)]
#[repr(u8)]
enum Small {
    A = 1,
    B = 200,
}

#[derive(Debug, Clone, Copy, PartialEq, Encode, Decode)]
#[repr(i16)]
enum Signed {
    Low = -300,
    High = 300,
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
enum Shape {
    Nothing,
    Circle(u32),
    Rect { width: u32, height: u32 },
    Labelled(String, Box<Shape>),
    EmptyTuple(),
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Wrapper<T, const N: usize> {
    items: [T; N],
    extra: Option<T>,
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
enum Either<L, R> {
    Left(L),
    Right(R),
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Bounded<K: std::hash::Hash + Eq, V>
where
    V: Clone,
{
    map: HashMap<K, V>,
}

/// A phantom type parameter still gets a bound, which `PhantomData` meets.
#[derive(Debug, PartialEq, Encode, Decode)]
struct Tagged<Unit> {
    value: u32,
    unit: std::marker::PhantomData<Unit>,
}

/// Encode only: borrowed fields.
#[derive(Encode)]
struct Borrowed<'a> {
    name: &'a str,
    values: &'a [u32],
}

mod renamed {
    //! The runtime reached through another path.
    pub use courier as runtime;
}

#[derive(Debug, PartialEq, Encode, Decode)]
#[courier(crate = "renamed::runtime")]
struct ThroughPath {
    value: u32,
}

#[test]
fn struct_fields_follow_each_other() {
    let window = Window {
        id: 3,
        title: "hi".into(),
        rect: IntRect::new(1, 2, 3, 4),
        tags: vec![9],
        parent: None,
    };
    let bytes = round_trip(&window);
    let mut expected = vec![3, 0, 0, 0, 2, 0, 0, 0, b'h', b'i'];
    for v in [1i32, 2, 3, 4] {
        expected.extend(v.to_le_bytes());
    }
    expected.extend([1, 0, 0, 0, 9, 0, 0]);
    assert_eq!(bytes, expected);
    let nested = Window {
        parent: Some(Box::new(window.clone())),
        ..window
    };
    round_trip(&nested);
}

#[test]
fn tuple_and_unit_structs() {
    assert_eq!(round_trip(&Pair(5, "x".into())), [5, 1, 0, 0, 0, b'x']);
    assert!(round_trip(&Marker).is_empty());
    assert!(round_trip(&Empty {}).is_empty());
}

#[test]
fn fieldless_enums_use_i32_by_default() {
    assert_eq!(round_trip(&Mode::Off), 0i32.to_le_bytes());
    assert_eq!(round_trip(&Mode::On), 1i32.to_le_bytes());
    assert_eq!(round_trip(&Mode::Blinking), 7i32.to_le_bytes());
    let error = decode_from_parts::<Mode>(&2i32.to_le_bytes(), Vec::new()).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::InvalidTag {
            tag: 2,
            type_name: "Mode"
        }
    );
    let error = decode_from_parts::<Mode>(&(-1i32).to_le_bytes(), Vec::new()).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::InvalidTag {
            tag: 0xffff_ffff,
            type_name: "Mode"
        }
    );
    assert_eq!(
        error.to_string(),
        "4294967295 is not a valid tag or value for `Mode`"
    );
}

#[test]
fn fieldless_enums_use_their_repr() {
    assert_eq!(round_trip(&Small::B), [200]);
    assert_eq!(round_trip(&Signed::Low), (-300i16).to_le_bytes());
    assert_eq!(round_trip(&Signed::High), 300i16.to_le_bytes());
    let error = decode_from_parts::<Small>(&[0], Vec::new()).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::InvalidTag {
            tag: 0,
            type_name: "Small"
        }
    );
}

#[test]
fn data_enums_use_a_u8_index() {
    assert_eq!(round_trip(&Shape::Nothing), [0]);
    assert_eq!(round_trip(&Shape::Circle(9)), [1, 9, 0, 0, 0]);
    assert_eq!(
        round_trip(&Shape::Rect {
            width: 1,
            height: 2
        }),
        [2, 1, 0, 0, 0, 2, 0, 0, 0]
    );
    round_trip(&Shape::Labelled("l".into(), Box::new(Shape::Circle(1))));
    assert_eq!(round_trip(&Shape::EmptyTuple()), [4]);
    let error = decode_from_parts::<Shape>(&[5], Vec::new()).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::InvalidTag {
            tag: 5,
            type_name: "Shape"
        }
    );
}

#[test]
fn generics_get_bounds() {
    let wrapper = Wrapper {
        items: [1u16, 2, 3],
        extra: Some(4),
    };
    assert_eq!(
        round_trip(&wrapper),
        [3, 0, 0, 0, 1, 0, 2, 0, 3, 0, 1, 4, 0]
    );
    round_trip(&Wrapper::<String, 1> {
        items: ["a".into()],
        extra: None,
    });
    round_trip(&Either::<u8, Vec<String>>::Right(vec!["r".into()]));
    let mut map = HashMap::new();
    map.insert(1u8, "one".to_owned());
    round_trip(&Bounded { map });
    let tagged = Tagged::<u8> {
        value: 5,
        unit: std::marker::PhantomData,
    };
    assert_eq!(round_trip(&tagged), [5, 0, 0, 0]);
}

#[test]
fn encode_only_types_may_borrow() {
    let (bytes, _) = encode_to_parts(&Borrowed {
        name: "ab",
        values: &[1],
    })
    .unwrap();
    assert_eq!(bytes, [2, 0, 0, 0, b'a', b'b', 1, 0, 0, 0, 1, 0, 0, 0]);
}

#[test]
fn the_crate_attribute_redirects_the_runtime() {
    assert_eq!(round_trip(&ThroughPath { value: 1 }), [1, 0, 0, 0]);
}

#[test]
fn errors_name_the_field_path() {
    // Window whose parent's title is not UTF-8.
    let inner = Window {
        id: 1,
        title: "ok".into(),
        rect: IntRect::default(),
        tags: vec![],
        parent: None,
    };
    let outer = Window {
        id: 0,
        title: String::new(),
        rect: IntRect::default(),
        tags: vec![],
        parent: Some(Box::new(inner)),
    };
    let (mut bytes, _) = encode_to_parts(&outer).unwrap();
    // The inner title's bytes "ok" are the last two of the inner title field,
    // which is followed by 16 rect bytes, 4 tag-count bytes and the 1-byte
    // parent tag.
    let at = bytes.len() - 16 - 4 - 1 - 2;
    assert_eq!(&bytes[at..at + 2], b"ok");
    bytes[at] = 0xff;
    let error = decode_from_parts::<Window>(&bytes, Vec::new()).unwrap_err();
    assert_eq!(
        error.kind(),
        &DecodeErrorKind::InvalidUtf8 { valid_up_to: 0 }
    );
    assert_eq!(error.path().collect::<Vec<_>>(), ["parent", "title"]);
    assert_eq!(
        error.to_string(),
        "in `parent.title`: string is not valid UTF-8 (bad byte at offset 0)"
    );

    // Variant fields: `Variant.field`, a lone tuple field by the variant's name.
    let error = decode_from_parts::<Shape>(&[2, 1, 0, 0, 0, 2], Vec::new()).unwrap_err();
    assert_eq!(error.path().collect::<Vec<_>>(), ["Rect.height"]);
    let error = decode_from_parts::<Shape>(&[1, 1], Vec::new()).unwrap_err();
    assert_eq!(error.path().collect::<Vec<_>>(), ["Circle"]);
    let error = decode_from_parts::<Shape>(&[3, 0, 0, 0, 0, 9], Vec::new()).unwrap_err();
    assert_eq!(error.path().collect::<Vec<_>>(), ["Labelled.1"]);
    assert!(matches!(
        error.kind(),
        DecodeErrorKind::InvalidTag {
            tag: 9,
            type_name: "Shape"
        }
    ));

    // Vec elements: `[index]`.
    let mut bytes = vec![2, 0, 0, 0];
    bytes.extend(0i32.to_le_bytes());
    bytes.extend(9i32.to_le_bytes());
    let error = decode_from_parts::<Vec<Mode>>(&bytes, Vec::new()).unwrap_err();
    assert_eq!(error.path().collect::<Vec<_>>(), ["[1]"]);
}

fn shape_strategy() -> impl Strategy<Value = Shape> {
    let leaf = prop_oneof![
        Just(Shape::Nothing),
        any::<u32>().prop_map(Shape::Circle),
        (any::<u32>(), any::<u32>()).prop_map(|(width, height)| Shape::Rect { width, height }),
        Just(Shape::EmptyTuple()),
    ];
    leaf.prop_recursive(3, 8, 1, |inner| {
        (any::<String>(), inner).prop_map(|(label, shape)| Shape::Labelled(label, Box::new(shape)))
    })
}

proptest! {
    #[test]
    fn derived_types_round_trip(
        id: i32, title: String, rect in (any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()),
        tags: Vec<u16>, shape in shape_strategy(), pair in (any::<u8>(), any::<String>()),
        items: [i64; 4], extra: Option<i64>,
    ) {
        let window = Window {
            id, title, rect: IntRect::new(rect.0, rect.1, rect.2, rect.3), tags, parent: None,
        };
        round_trip(&Window { parent: Some(Box::new(window.clone())), ..window });
        round_trip(&shape);
        round_trip(&Pair(pair.0, pair.1));
        round_trip(&Wrapper { items, extra });
        round_trip(&vec![Either::<Shape, Mode>::Left(shape), Either::Right(Mode::Blinking)]);
    }
}
