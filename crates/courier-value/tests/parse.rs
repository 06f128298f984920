//! `parse_arg` and `parse_json` for every type of the table, good input and
//! bad (with the documented error text), and JSON print -> parse round trips.

use std::io::Write;

use courier_value::{IdlType, InterfaceSchema, Value, parse_arg, parse_json};
use serde_json::json;

/// The meaning of `text` written as a parameter type in an `.ipc` file.
fn ty(text: &str) -> IdlType {
    let source = format!("endpoint T {{ f({text} v) =| }}");
    let schema = InterfaceSchema::from_source("T.ipc", &source).unwrap_or_else(|e| panic!("{e}"));
    schema.endpoints[0].messages[0].params[0].ty.clone()
}

#[test]
fn words_that_fit() {
    let cases: &[(&str, &str, &str)] = &[
        ("bool", "true", "true"),
        ("bool", "false", "false"),
        ("i8", "-128", "-128"),
        ("i8", "0x7f", "127"),
        ("i16", "-0x8000", "-32768"),
        ("i32", "+5", "5"),
        ("i64", "-9223372036854775808", "-9223372036854775808"),
        ("u8", "255", "255"),
        ("u16", "0XFFFF", "65535"),
        ("u32", "4294967295", "4294967295"),
        ("u64", "18446744073709551615", "18446744073709551615"),
        ("int", "-1", "-1"),
        ("unsigned", "1", "1"),
        ("size_t", "0x10", "16"),
        ("float", "1.5", "1.5"),
        ("f32", "NaN", "NaN"),
        ("double", "-inf", "-inf"),
        ("f64", "2e-3", "0.002"),
        ("String", "héllo world", r#""héllo world""#),
        ("String", "null", r#""null""#),
        ("StringView", r#""q""#, r#""\"q\"""#),
        ("FlyString", "", r#""""#),
        ("[UTF8] ByteString", "x", r#""x""#),
        ("ByteString", "abc", r#"b"abc""#),
        ("DeprecatedString", "a\"b", r#"b"a\"b""#),
        ("ByteBuffer", "@not-a-file", r#"b"@not-a-file""#),
        ("Vector<i32>", "[1, -2]", "[1, -2]"),
        ("AK::Vector<String>", "[]", "[]"),
        ("Vector<Vector<u8>>", "[[1], []]", "[[1], []]"),
        ("HashMap<String, i32>", r#"{"a": 1}"#, r#"{"a": 1}"#),
        ("HashMap<u8, bool>", r#"{"1": true}"#, "{1: true}"),
        ("HashMap<i32, String>", r#"[[1, "x"]]"#, r#"{1: "x"}"#),
        (
            "OrderedHashMap<String, u8>",
            r#"{"b": 2, "a": 1}"#,
            r#"{"b": 2, "a": 1}"#,
        ),
        ("Optional<i32>", "null", "None"),
        ("Optional<i32>", "5", "Some(5)"),
        ("Optional<String>", "x", r#"Some("x")"#),
        ("Optional<Vector<u8>>", "[1]", "Some([1])"),
        ("Variant<i32, String>", "5", "V0(5)"),
        ("Variant<i32, String>", "x", r#"V1("x")"#),
        ("Variant<i32, String>", r#"{"1": "5"}"#, r#"V1("5")"#),
        ("Variant<i32, String>", r#"{"String": "5"}"#, r#"V1("5")"#),
        ("Variant<i32, i32>", r#"{"1": 5}"#, "V1(5)"),
        // Not `{"<index>": value}` after all: the map alternative's own JSON.
        (
            "Variant<HashMap<String, i32>, i32>",
            r#"{"0": 5}"#,
            r#"V0({"0": 5})"#,
        ),
        ("Array<u8, 3>", "[1,2,3]", "[1, 2, 3]"),
        ("Array<u8, 0>", "[]", "[]"),
        (
            "Gfx::IntRect",
            "1,2,3,4",
            "IntRect { x: 1, y: 2, width: 3, height: 4 }",
        ),
        (
            "Gfx::IntRect",
            r#"{"x":1,"y":2,"width":3,"height":4}"#,
            "IntRect { x: 1, y: 2, width: 3, height: 4 }",
        ),
        ("Gfx::IntPoint", "[1,-2]", "IntPoint { x: 1, y: -2 }"),
        (
            "Gfx::IntSize",
            "640, 480",
            "IntSize { width: 640, height: 480 }",
        ),
        (
            "Gfx::FloatRect",
            "0.5,1,2,3",
            "FloatRect { x: 0.5, y: 1.0, width: 2.0, height: 3.0 }",
        ),
        (
            "Gfx::FloatPoint",
            r#"{"x":0.25,"y":-1}"#,
            "FloatPoint { x: 0.25, y: -1.0 }",
        ),
        (
            "Gfx::FloatSize",
            "[1.5, 2]",
            "FloatSize { width: 1.5, height: 2.0 }",
        ),
        ("Gfx::Color", "#102030", "Color(#102030ff)"),
        ("Color", "0x80102030", "Color(#10203080)"),
        ("Gfx::Color", "#10203040", "Color(#10203040)"),
        (
            "Gfx::Color",
            r#"{"red":1,"green":2,"blue":3}"#,
            "Color(#010203ff)",
        ),
        (
            "Core::AnonymousBuffer",
            r#"{"size": 4}"#,
            "<shared buffer, 4 bytes>",
        ),
        (
            "Core::AnonymousBuffer",
            r#"{"text": "hi"}"#,
            "<shared buffer, 2 bytes>",
        ),
        (
            "Core::AnonymousBuffer",
            r#"{"valid": false}"#,
            "<invalid shared buffer>",
        ),
        (
            "Gfx::ShareableBitmap",
            r#"{"width":2,"height":1}"#,
            "<bitmap 2x1 BGRA8888, pitch 8>",
        ),
        (
            "Gfx::ShareableBitmap",
            r#"{"width":2,"height":1,"pitch":8,"format":"RGBA8888"}"#,
            "<bitmap 2x1 RGBA8888, pitch 8>",
        ),
        (
            "Gfx::ShareableBitmap",
            r#"{"valid":false}"#,
            "<invalid bitmap>",
        ),
        (
            "Gfx::BitmapSequence",
            r#"[{"width":1,"height":1,"format":"BGRx8888"},null]"#,
            "<bitmap sequence, 2 frames: 1x1 BGRx8888, none>",
        ),
        (
            "Gfx::BitmapSequence",
            r#"{"frames":[]}"#,
            "<bitmap sequence, 0 frames>",
        ),
    ];
    for (type_text, word, printed) in cases {
        let value =
            parse_arg(&ty(type_text), word).unwrap_or_else(|e| panic!("{type_text} {word:?}: {e}"));
        assert_eq!(value.to_string(), *printed, "{type_text} {word:?}");
    }
}

#[test]
fn words_that_do_not_fit() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "bool",
            "yes",
            "expected bool, got `yes` (write `true` or `false`)",
        ),
        (
            "bool",
            "1",
            "expected bool, got `1` (write `true` or `false`)",
        ),
        (
            "u32",
            "-3",
            "expected u32, got `-3` (out of range 0..=4294967295)",
        ),
        (
            "i8",
            "128",
            "expected i8, got `128` (out of range -128..=127)",
        ),
        (
            "i8",
            "-129",
            "expected i8, got `-129` (out of range -128..=127)",
        ),
        (
            "u64",
            "18446744073709551616",
            "expected u64, got `18446744073709551616` (out of range 0..=18446744073709551615)",
        ),
        (
            "u64",
            "0x1ffffffffffffffffffffffffffffffff",
            "expected u64, got `0x1ffffffffffffffffffffffffffffffff` (out of range 0..=18446744073709551615)",
        ),
        (
            "i32",
            "12abc",
            "expected i32, got `12abc` (not an integer; write it in decimal or as 0x hex)",
        ),
        (
            "i32",
            "",
            "expected i32, got `` (not an integer; write it in decimal or as 0x hex)",
        ),
        (
            "i32",
            "0x",
            "expected i32, got `0x` (not an integer; write it in decimal or as 0x hex)",
        ),
        (
            "i32",
            "1.0",
            "expected i32, got `1.0` (not an integer; write it in decimal or as 0x hex)",
        ),
        (
            "float",
            "1e39",
            "expected float, got `1e39` (out of range for a float, at most 3.4028235e38)",
        ),
        (
            "double",
            "one",
            "expected double, got `one` (not a number; write it like `1.5`, `-2e3`, `NaN` or `inf`)",
        ),
        (
            "Vector<i32>",
            "[1,",
            "expected Vector<i32> as JSON, got `[1,` (EOF while parsing a value at line 1 column 3)",
        ),
        (
            "Vector<i32>",
            "[1, 2.5]",
            "at `[1]`: expected i32, got `2.5` (not an integer)",
        ),
        (
            "Vector<u8>",
            "{}",
            "expected Vector<u8>, got `{}` (a JSON array)",
        ),
        (
            "Array<u8, 2>",
            "[1]",
            "expected Array<u8, 2>, got `[1]` (1 elements, not 2)",
        ),
        (
            "HashMap<u8, bool>",
            r#"{"300": true}"#,
            "at `300`: expected u8, got `300` (out of range 0..=255)",
        ),
        (
            "HashMap<String, i32>",
            "[[1]]",
            "at `[0]`: expected HashMap<String, i32>, got `[1]` (an entry is a [key, value] pair)",
        ),
        (
            "HashMap<String, i32>",
            "5",
            "expected HashMap<String, i32>, got `5` (an object, or an array of [key, value] pairs)",
        ),
        (
            "Optional<u8>",
            "256",
            "expected u8, got `256` (out of range 0..=255)",
        ),
        (
            "Variant<i32, bool>",
            "x",
            "expected Variant<i32, bool>, got `x` (no alternative accepts it; choose one with {\"<index or type>\": value})",
        ),
        (
            "Variant<i32, bool>",
            r#"{"1": 5}"#,
            "at `V1`: expected bool, got `5`",
        ),
        (
            "IPC::File",
            "path",
            "expected IPC::File, got `path` (give a file as `@path`, or `@-` for standard input)",
        ),
        (
            "IPC::File",
            "@/nonexistent/courier-value",
            "cannot read `/nonexistent/courier-value`: No such file or directory (os error 2); give the path of a readable file after `@`",
        ),
        (
            "Core::AnonymousBuffer",
            "@/nonexistent/courier-value",
            "cannot read `/nonexistent/courier-value`: No such file or directory (os error 2); give the path of a readable file after `@`",
        ),
        (
            "Core::AnonymousBuffer",
            r#"{"size": 2, "text": "abc"}"#,
            r#"expected Core::AnonymousBuffer, got `{"size":2,"text":"abc"}` (3 bytes of content do not fit a size of 2)"#,
        ),
        (
            "Core::AnonymousBuffer",
            r#"{"bytes": 2}"#,
            r#"expected Core::AnonymousBuffer, got `{"bytes":2}` (unknown field `bytes`; the fields are size, head, text, fd, valid)"#,
        ),
        (
            "Gfx::IntRect",
            "1,2,3",
            "expected Gfx::IntRect, got `1,2,3` (4 numbers separated by commas (x, y, width, height), or JSON)",
        ),
        (
            "Gfx::IntRect",
            r#"{"x":1,"y":2,"width":3}"#,
            r#"expected Gfx::IntRect, got `{"x":1,"y":2,"width":3}` (`height` is missing)"#,
        ),
        (
            "Gfx::IntRect",
            r#"{"x":1,"y":2,"width":3,"height":4,"z":5}"#,
            r#"expected Gfx::IntRect, got `{"x":1,"y":2,"width":3,"height":4,"z":5}` (unknown field `z`; the fields are x, y, width, height)"#,
        ),
        (
            "Gfx::IntPoint",
            "1,x",
            "at `y`: expected i32, got `x` (not an integer; write it in decimal or as 0x hex)",
        ),
        (
            "Gfx::IntSize",
            "[1, 3000000000]",
            "at `height`: expected i32, got `3000000000` (out of range -2147483648..=2147483647)",
        ),
        (
            "Gfx::Color",
            "#12345",
            "expected Gfx::Color, got `#12345` (write a colour as #rrggbb, #rrggbbaa or an ARGB number)",
        ),
        (
            "Gfx::Color",
            "red",
            "expected Gfx::Color, got `red` (write a colour as #rrggbb, #rrggbbaa or an ARGB number)",
        ),
        (
            "Gfx::ShareableBitmap",
            r#"{"width":0,"height":1}"#,
            "bitmap of 0x1 pixels: each side must be between 1 and 32768",
        ),
        (
            "Gfx::ShareableBitmap",
            r#"{"width":1,"height":1,"format":"RGB"}"#,
            r#"at `format`: expected a bitmap format, got `"RGB"` (one of "BGRx8888", "BGRA8888", "RGBA8888")"#,
        ),
        (
            "Gfx::ShareableBitmap",
            r#"{"width":4,"height":1,"pitch":8}"#,
            r#"expected Gfx::ShareableBitmap, got `{"width":4,"height":1,"pitch":8}` (`pitch` is 8, but a Gfx::ShareableBitmap travels with packed rows, width * 4 = 16 bytes apart; give 16 or leave `pitch` out)"#,
        ),
        (
            "Gfx::ShareableBitmap",
            r#"{"width":2,"height":1,"pitch":12}"#,
            r#"expected Gfx::ShareableBitmap, got `{"width":2,"height":1,"pitch":12}` (`pitch` is 12, but a Gfx::ShareableBitmap travels with packed rows, width * 4 = 8 bytes apart; give 8 or leave `pitch` out)"#,
        ),
        (
            "Gfx::BitmapSequence",
            r#"[{"width":1,"height":1},{"width":1,"height":1,"offset":8}]"#,
            r#"at `frames[1]`: expected Gfx::ShareableBitmap, got `{"width":1,"height":1,"offset":8}` (`offset` is 8, but frames lie back to back on the wire: this one starts at 4; leave `offset` out, or set the previous frames' `size_in_bytes`)"#,
        ),
        (
            "Gfx::BitmapSequence",
            r#"[null,{"width":2,"height":2,"size_in_bytes":15}]"#,
            "frame 1: a frame of 2x2 pixels needs 16 bytes but its size_in_bytes is 15",
        ),
        (
            "Gfx::BitmapSequence",
            r#"[{"width":1}]"#,
            r#"at `frames[0]`: expected Gfx::ShareableBitmap, got `{"width":1}` (`height` is missing)"#,
        ),
        (
            "Geometry::Point3",
            "{}",
            "`Geometry::Point3` is a user type whose layout the .ipc text does not give, so it cannot be built or decoded at run time",
        ),
    ];
    for (type_text, word, message) in cases {
        let error = parse_arg(&ty(type_text), word).expect_err(&format!("{type_text} {word:?}"));
        assert_eq!(error.to_string(), *message, "{type_text} {word:?}");
    }
}

#[test]
fn json_that_does_not_fit() {
    let cases = [
        (
            "String",
            json!(5),
            "expected String, got `5` (a JSON string)",
        ),
        ("bool", json!(1), "expected bool, got `1`"),
        (
            "u8",
            json!(-1),
            "expected u8, got `-1` (out of range 0..=255)",
        ),
        (
            "u8",
            json!("0x100"),
            "expected u8, got `0x100` (out of range 0..=255)",
        ),
        (
            "i64",
            json!(1.5),
            "expected i64, got `1.5` (not an integer)",
        ),
        (
            "float",
            json!(1e300),
            "expected float, got `1e+300` (out of range for a float, at most 3.4028235e38)",
        ),
        (
            "ByteBuffer",
            json!({"hex": "zz"}),
            r#"expected ByteBuffer, got `{"hex":"zz"}` (`hex` must be pairs of hexadecimal digits)"#,
        ),
        (
            "ByteBuffer",
            json!([1, 256]),
            "at `[1]`: expected u8, got `256` (out of range 0..=255)",
        ),
        (
            "ByteString",
            json!(true),
            r#"expected ByteString, got `true` (a string, an array of byte values, or {"hex": "00ff"})"#,
        ),
        (
            "Variant<i32, bool>",
            json!({"2": 1}),
            r#"expected Variant<i32, bool>, got `{"2":1}` (write {"<index or type>": value} with an index below 2 or one of "i32", "bool")"#,
        ),
        (
            "Variant<i32, i32>",
            json!({"i32": 1}),
            r#"expected Variant<i32, i32>, got `{"i32":1}` (write {"<index or type>": value} with an index below 2 or one of "i32", "i32")"#,
        ),
        (
            "IPC::File",
            json!({"fd": 7}),
            r#"expected IPC::File, got `{"fd":7}` (give a file as "@path" or {"path": "..."}; a printed fd number cannot be sent)"#,
        ),
        (
            "Array<bool, 1>",
            json!("true"),
            r#"expected Array<bool, 1>, got `"true"` (a JSON array)"#,
        ),
    ];
    for (type_text, json, message) in cases {
        let error = parse_json(&ty(type_text), &json).expect_err(&format!("{type_text} {json}"));
        assert_eq!(error.to_string(), message, "{type_text} {json}");
    }
}

#[test]
fn files_open_read_only_from_a_path() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"bytes of the file").unwrap();
    let path = file.path().display().to_string();
    let value = parse_arg(&ty("IPC::File"), &format!("@{path}")).unwrap();
    let Value::File(fd) = &value else {
        panic!("{value:?}")
    };
    assert!(value.to_string().starts_with("fd "));
    let mut read = std::fs::File::from(fd.try_clone().unwrap());
    let mut contents = String::new();
    std::io::Read::read_to_string(&mut read, &mut contents).unwrap();
    assert_eq!(contents, "bytes of the file");
    // Read-only: writing through it fails.
    assert!(read.write_all(b"x").is_err());
    // `{"path": ...}` in JSON, and `[File] name` in the overview's dialect.
    let value = parse_json(&ty("[File]"), &json!({ "path": path })).unwrap();
    assert!(matches!(value, Value::File(_)));
    // A buffer from a file holds its bytes.
    let value = parse_arg(&ty("Core::AnonymousBuffer"), &format!("@{path}")).unwrap();
    assert_eq!(value.to_string(), "<shared buffer, 17 bytes>");
    assert_eq!(
        format!("{value:#}"),
        r#"<shared buffer, 17 bytes: b"bytes of the file">"#
    );
}

/// The JSON with every `"fd"` field removed: a copy has fds of its own.
fn without_fds(json: serde_json::Value) -> serde_json::Value {
    match json {
        serde_json::Value::Object(object) => object
            .into_iter()
            .filter(|(key, _)| key != "fd")
            .map(|(key, value)| (key, without_fds(value)))
            .collect(),
        serde_json::Value::Array(items) => items.into_iter().map(without_fds).collect(),
        other => other,
    }
}

/// Values of every type, printed as JSON and parsed back, are equal (fds
/// are compared by the file they refer to; they are not in JSON).
#[test]
fn json_print_then_parse_gives_the_value_back() {
    let cases: &[(&str, &str)] = &[
        ("bool", "true"),
        ("i8", "-128"),
        ("i16", "-300"),
        ("i32", "-70000"),
        ("i64", "-9223372036854775808"),
        ("u8", "255"),
        ("u16", "65535"),
        ("u32", "4294967295"),
        ("u64", "18446744073709551615"),
        ("float", "0.1"),
        ("float", "3.4028235e38"),
        ("float", "1e-45"),
        ("float", "-inf"),
        ("double", "0.1"),
        ("double", "-1.7976931348623157e308"),
        ("double", "inf"),
        ("String", "tab\tand \"quotes\""),
        ("ByteString", "text"),
        ("ByteBuffer", "bytes"),
        ("Vector<Optional<i8>>", "[1, null, -1]"),
        ("HashMap<String, Vector<i32>>", r#"{"a": [1], "b": []}"#),
        ("HashMap<i64, bool>", r#"{"-1": true, "2": false}"#),
        ("HashMap<Gfx::IntPoint, u8>", r#"[[[1, 2], 3]]"#),
        ("OrderedHashMap<String, u8>", r#"{"z": 1, "a": 2}"#),
        ("OrderedHashMap<u8, u8>", r#"[[1, 1], [1, 2]]"#),
        ("Optional<Optional<i32>>", "null"),
        ("Optional<Optional<i32>>", r#"{"some": null}"#),
        ("Optional<Optional<i32>>", "5"),
        (
            "Optional<Optional<Optional<i32>>>",
            r#"{"some": {"some": null}}"#,
        ),
        ("Variant<i32, String, Vector<u8>>", r#"{"2": [1, 2]}"#),
        ("Variant<bool, bool>", r#"{"1": true}"#),
        ("Array<Gfx::Color, 2>", r##"["#ff000080", "#00ff00"]"##),
        ("Gfx::IntRect", "-1,-2,3,4"),
        ("Gfx::IntPoint", "5,6"),
        ("Gfx::IntSize", "7,8"),
        ("Gfx::FloatRect", "0.1,0.2,0.3,0.4"),
        ("Gfx::FloatPoint", "1e-10,-3"),
        ("Gfx::FloatSize", "0.5,2"),
        ("Gfx::Color", "#01020304"),
        ("Core::AnonymousBuffer", r#"{"text": "small buffer"}"#),
        ("Core::AnonymousBuffer", r#"{"size": 0}"#),
        ("Core::AnonymousBuffer", r#"{"valid": false}"#),
        (
            "Gfx::ShareableBitmap",
            r#"{"width": 3, "height": 2, "format": "BGRx8888"}"#,
        ),
        (
            "Gfx::ShareableBitmap",
            r#"{"width": 1, "height": 2, "pitch": 4}"#,
        ),
        ("Gfx::ShareableBitmap", r#"{"valid": false}"#),
        (
            "Gfx::BitmapSequence",
            r#"[{"width": 2, "height": 2}, null, {"width": 1, "height": 1, "format": "RGBA8888"}]"#,
        ),
        (
            "Gfx::BitmapSequence",
            r#"{"frames": [{"width": 1, "height": 1, "size_in_bytes": 8}, null, {"width": 1, "height": 1, "offset": 8}], "size": 64}"#,
        ),
        ("Gfx::BitmapSequence", "[]"),
    ];
    for (type_text, word) in cases {
        let ty = ty(type_text);
        let value = parse_arg(&ty, word).unwrap_or_else(|e| panic!("{type_text} {word}: {e}"));
        let printed = value.to_json();
        let back =
            parse_json(&ty, &printed).unwrap_or_else(|e| panic!("{type_text} {printed}: {e}"));
        assert_eq!(back, value, "{type_text} {word} printed as {printed}");
        assert_eq!(
            without_fds(back.to_json()),
            without_fds(printed.clone()),
            "{type_text} {word}"
        );
        // Types whose word is JSON text read the printed text back as a word.
        let word_is_json = matches!(
            ty,
            IdlType::Vector(_)
                | IdlType::HashMap(..)
                | IdlType::OrderedHashMap(..)
                | IdlType::Array(..)
                | IdlType::Variant(_)
                | IdlType::SharedBuffer
                | IdlType::Bitmap
                | IdlType::BitmapSequence
        );
        if word_is_json {
            let reparsed = parse_arg(&ty, &printed.to_string());
            assert_eq!(reparsed.unwrap(), value, "{type_text} {printed}");
        }
    }
}

#[test]
fn json_of_special_values() {
    let nan = parse_arg(&ty("float"), "NaN").unwrap();
    assert_eq!(nan.to_json(), json!("NaN"));
    assert!(matches!(parse_json(&ty("float"), &json!("NaN")), Ok(Value::F32(v)) if v.is_nan()));
    // A float prints its shortest form when that is exact.
    assert_eq!(Value::F32(0.1).to_json().to_string(), "0.1");
    assert_eq!(Value::F32(16_777_217.0).to_json().to_string(), "16777216.0");
    // Byte strings that are not UTF-8 print as hex.
    assert_eq!(
        Value::ByteString(vec![0xc3, 0x28]).to_json(),
        json!({"hex": "c328"})
    );
    assert_eq!(
        parse_json(&ty("ByteString"), &json!({"hex": "c328"})).unwrap(),
        Value::ByteString(vec![0xc3, 0x28])
    );
    // Maps whose keys have no word, or repeat one, print as pairs.
    let map = Value::Map(vec![
        (Value::U8(1), Value::U8(1)),
        (Value::U8(1), Value::U8(2)),
    ]);
    assert_eq!(map.to_json(), json!([[1, 1], [1, 2]]));
    // Long byte strings are shortened for people, whole with `{:#}`.
    let long = Value::Bytes(vec![b'a'; 100]);
    assert_eq!(
        long.to_string(),
        format!("b\"{}\"... (100 bytes)", "a".repeat(64))
    );
    assert_eq!(format!("{long:#}"), format!("b\"{}\"", "a".repeat(100)));
}
