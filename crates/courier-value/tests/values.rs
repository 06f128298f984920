//! Property tests over values of the primitive and container types: random
//! types with random values survive encode -> decode and print -> parse, and
//! random generated messages survive generated -> dynamic -> generated.

use std::collections::HashMap;

use courier::codec::{Decoder, encode_to_parts};
use courier::gfx::{Color, IntPoint, IntRect};
use courier::{ByteString, Encoder, Endpoint, Variant2, Variant6};
use courier_examples::kitchen::{self, Kitchen, KitchenMessage};
use courier_value::{
    GfxType, IdlType, InterfaceSchema, MessageKind, MessageSchema, ParamSchema, Value,
    decode_message, encode_message, encode_value, parse_json,
};
use proptest::prelude::*;
use proptest::strategy::Union;

fn leaf_type() -> impl Strategy<Value = IdlType> {
    prop_oneof![
        Just(IdlType::Bool),
        Just(IdlType::I8),
        Just(IdlType::I16),
        Just(IdlType::I32),
        Just(IdlType::I64),
        Just(IdlType::U8),
        Just(IdlType::U16),
        Just(IdlType::U32),
        Just(IdlType::U64),
        Just(IdlType::F32),
        Just(IdlType::F64),
        Just(IdlType::String),
        Just(IdlType::ByteString),
        Just(IdlType::Bytes),
        Just(IdlType::Gfx(GfxType::IntRect)),
        Just(IdlType::Gfx(GfxType::Color)),
        Just(IdlType::Gfx(GfxType::FloatPoint)),
    ]
}

fn any_type() -> impl Strategy<Value = IdlType> {
    leaf_type().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| IdlType::Vector(Box::new(t))),
            inner.clone().prop_map(|t| IdlType::Optional(Box::new(t))),
            (leaf_type(), inner.clone())
                .prop_map(|(k, v)| IdlType::HashMap(Box::new(k), Box::new(v))),
            (leaf_type(), inner.clone())
                .prop_map(|(k, v)| IdlType::OrderedHashMap(Box::new(k), Box::new(v))),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(IdlType::Variant),
            (inner, 0u64..3).prop_map(|(t, n)| IdlType::Array(Box::new(t), n)),
        ]
    })
}

/// Random values of `ty`. Floats are never NaN, so that values compare
/// equal to themselves.
fn value_of(ty: &IdlType) -> BoxedStrategy<Value> {
    let float32 = any::<f32>().prop_filter("not NaN", |v| !v.is_nan());
    let float64 = any::<f64>().prop_filter("not NaN", |v| !v.is_nan());
    match ty {
        IdlType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        IdlType::I8 => any::<i8>().prop_map(Value::I8).boxed(),
        IdlType::I16 => any::<i16>().prop_map(Value::I16).boxed(),
        IdlType::I32 => any::<i32>().prop_map(Value::I32).boxed(),
        IdlType::I64 => any::<i64>().prop_map(Value::I64).boxed(),
        IdlType::U8 => any::<u8>().prop_map(Value::U8).boxed(),
        IdlType::U16 => any::<u16>().prop_map(Value::U16).boxed(),
        IdlType::U32 => any::<u32>().prop_map(Value::U32).boxed(),
        IdlType::U64 => any::<u64>().prop_map(Value::U64).boxed(),
        IdlType::F32 => float32.prop_map(Value::F32).boxed(),
        IdlType::F64 => float64.prop_map(Value::F64).boxed(),
        IdlType::String => ".{0,6}".prop_map(Value::String).boxed(),
        IdlType::ByteString => proptest::collection::vec(any::<u8>(), 0..6)
            .prop_map(Value::ByteString)
            .boxed(),
        IdlType::Bytes => proptest::collection::vec(any::<u8>(), 0..6)
            .prop_map(Value::Bytes)
            .boxed(),
        IdlType::Gfx(GfxType::IntRect) => any::<[i32; 4]>()
            .prop_map(|[x, y, w, h]| {
                Value::Gfx(courier_value::Gfx::IntRect(IntRect::new(x, y, w, h)))
            })
            .boxed(),
        IdlType::Gfx(GfxType::Color) => any::<u32>()
            .prop_map(|argb| Value::Gfx(courier_value::Gfx::Color(Color::from_argb(argb))))
            .boxed(),
        IdlType::Gfx(_) => (float32.clone(), float32)
            .prop_map(|(x, y)| {
                Value::Gfx(courier_value::Gfx::FloatPoint(
                    courier::gfx::FloatPoint::new(x, y),
                ))
            })
            .boxed(),
        IdlType::Vector(inner) => proptest::collection::vec(value_of(inner), 0..4)
            .prop_map(Value::Vector)
            .boxed(),
        IdlType::Array(inner, len) => {
            proptest::collection::vec(value_of(inner), *len as usize..=*len as usize)
                .prop_map(Value::Array)
                .boxed()
        }
        IdlType::Optional(inner) => proptest::option::of(value_of(inner))
            .prop_map(|v| Value::Optional(v.map(Box::new)))
            .boxed(),
        IdlType::HashMap(key, value) => {
            let key_ty = (**key).clone();
            proptest::collection::vec((value_of(key), value_of(value)), 0..4)
                .prop_map(move |entries| Value::Map(unique_keys(&key_ty, entries)))
                .boxed()
        }
        IdlType::OrderedHashMap(key, value) => {
            proptest::collection::vec((value_of(key), value_of(value)), 0..4)
                .prop_map(Value::Map)
                .boxed()
        }
        IdlType::Variant(alternatives) => Union::new(
            alternatives
                .iter()
                .enumerate()
                .map(|(index, alternative)| {
                    value_of(alternative)
                        .prop_map(move |value| Value::Variant {
                            index: index as u8,
                            value: Box::new(value),
                        })
                        .boxed()
                })
                .collect::<Vec<_>>(),
        )
        .boxed(),
        other => panic!("no strategy for {other}"),
    }
}

/// The entries whose keys' encodings were not seen before.
fn unique_keys(key_ty: &IdlType, entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    let mut seen = Vec::new();
    let mut kept = Vec::new();
    for (key, value) in entries {
        let mut encoder = Encoder::new();
        encode_value(key_ty, &key, &mut encoder).unwrap();
        let bytes = encoder.into_parts().0;
        if !seen.contains(&bytes) {
            seen.push(bytes);
            kept.push((key, value));
        }
    }
    kept
}

fn typed_value() -> impl Strategy<Value = (IdlType, Value)> {
    any_type().prop_flat_map(|ty| {
        let values = value_of(&ty);
        (Just(ty), values)
    })
}

fn single(ty: &IdlType) -> MessageSchema {
    MessageSchema {
        endpoint: "T".to_owned(),
        magic: 1,
        id: 1,
        name: "f".to_owned(),
        kind: MessageKind::OneWay,
        params: vec![ParamSchema {
            name: "v".to_owned(),
            ty: ty.clone(),
        }],
    }
}

fn kitchen_schema() -> &'static InterfaceSchema {
    static SCHEMA: std::sync::OnceLock<InterfaceSchema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        InterfaceSchema::from_source(
            "Kitchen.ipc",
            include_str!("../../../examples/ipc/Kitchen.ipc"),
        )
        .unwrap()
    })
}

fn collections_strategy() -> impl Strategy<Value = kitchen::Collections> {
    let groups = proptest::collection::hash_map(
        ".{0,4}",
        proptest::collection::vec(any::<i32>(), 0..3),
        0..3,
    );
    let ordered = proptest::collection::vec(
        (
            proptest::collection::vec(any::<u8>(), 0..4).prop_map(ByteString),
            any::<u32>(),
        ),
        0..3,
    );
    let either = prop_oneof![
        any::<i32>().prop_map(Variant2::V0),
        ".{0,4}".prop_map(Variant2::V1),
    ];
    let six = prop_oneof![
        any::<bool>().prop_map(Variant6::V0),
        any::<u8>().prop_map(Variant6::V1),
        ".{0,4}".prop_map(Variant6::V2),
        any::<(i32, i32)>().prop_map(|(x, y)| Variant6::V3(IntPoint::new(x, y))),
        proptest::option::of(any::<i64>()).prop_map(Variant6::V4),
        proptest::collection::vec(any::<u16>(), 0..3).prop_map(Variant6::V5),
    ];
    (
        proptest::collection::vec(any::<i32>(), 0..4),
        groups,
        ordered,
        proptest::option::of(".{0,4}"),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4)),
        either,
        six,
        any::<[u8; 4]>(),
        proptest::collection::vec(".{0,3}", 0..3),
    )
        .prop_map(
            |(numbers, groups, ordered, maybe, maybe_bytes, either, six, quad, ak)| {
                kitchen::Collections {
                    numbers,
                    groups: groups.into_iter().collect::<HashMap<_, _>>(),
                    ordered,
                    maybe,
                    maybe_bytes,
                    either,
                    six,
                    quad,
                    ak,
                }
            },
        )
}

fn numbers_strategy() -> impl Strategy<Value = kitchen::Numbers> {
    (
        any::<(bool, i8, i16, i32, i64, u8, u16)>(),
        any::<(u32, u64, i32, u32, u64)>(),
        any::<f32>().prop_filter("not NaN", |v| !v.is_nan()),
        any::<f64>().prop_filter("not NaN", |v| !v.is_nan()),
    )
        .prop_map(
            |((flag, a, b, c, d, e, f), (g, h, i, j, k), l, m)| kitchen::Numbers {
                flag,
                a,
                b,
                c,
                d,
                e,
                f,
                g,
                h,
                i,
                j,
                k,
                l,
                m,
            },
        )
}

fn through_courier_value(message: &MessageSchema, bytes: &[u8]) -> KitchenMessage {
    let decoded = decode_message(message, bytes, Vec::new()).unwrap();
    // Through JSON too, as `courier call --json` would pass it.
    let json = serde_json::Value::Array(decoded.args.iter().map(|a| a.value.to_json()).collect());
    let values = courier_value::parse_json_args(message, &json).unwrap();
    let (again, fds) = encode_message(message, &values).unwrap();
    assert_eq!(again, bytes);
    let mut decoder = Decoder::new(&again, fds);
    let generated = Kitchen::decode_message(message.id, &mut decoder).unwrap();
    decoder.finish().unwrap();
    generated
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// encode -> decode gives the value back; encoding is deterministic;
    /// JSON print -> parse gives it back too.
    #[test]
    fn random_values_round_trip((ty, value) in typed_value()) {
        let message = single(&ty);
        let (body, fds) = encode_message(&message, std::slice::from_ref(&value)).unwrap();
        prop_assert!(fds.is_empty());
        let decoded = decode_message(&message, &body, fds).unwrap();
        prop_assert_eq!(decoded.arg("v"), Some(&value), "{}", ty);
        let parsed = parse_json(&ty, &value.to_json()).unwrap();
        prop_assert_eq!(&parsed, &value, "{} as {}", ty, value.to_json());
        let (again, _) = encode_message(&message, &[parsed]).unwrap();
        prop_assert_eq!(again, body);
    }

    /// Generated `Collections` -> courier-value (and JSON) -> generated.
    #[test]
    fn generated_collections_round_trip(generated in collections_strategy()) {
        let message = kitchen_schema().message_by_name(None, "collections").unwrap();
        let (bytes, _) = encode_to_parts(&generated).unwrap();
        let KitchenMessage::Collections(back) = through_courier_value(message, &bytes) else {
            panic!("not collections")
        };
        prop_assert_eq!(back, generated);
    }

    /// Generated `Numbers` -> courier-value (and JSON) -> generated.
    #[test]
    fn generated_numbers_round_trip(generated in numbers_strategy()) {
        let message = kitchen_schema().message_by_name(None, "numbers").unwrap();
        let (bytes, _) = encode_to_parts(&generated).unwrap();
        let KitchenMessage::Numbers(back) = through_courier_value(message, &bytes) else {
            panic!("not numbers")
        };
        prop_assert_eq!(back, generated);
    }
}
