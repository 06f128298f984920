//! The derives' error reporting, checked on the expansion functions
//! directly (the happy paths are tested through `courier` itself, in
//! `crates/courier/tests/codec_derive.rs`).

use syn::DeriveInput;

fn encode_errors(source: &str) -> Vec<String> {
    let input: DeriveInput = syn::parse_str(source).expect("test input parses");
    match crate::encode::expand(&input) {
        Ok(_) => Vec::new(),
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
    }
}

fn decode_errors(source: &str) -> Vec<String> {
    let input: DeriveInput = syn::parse_str(source).expect("test input parses");
    match crate::decode::expand(&input) {
        Ok(_) => Vec::new(),
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn unions_are_refused_by_both_derives() {
    let source = "union U { a: u32, b: f32 }";
    let encode = encode_errors(source);
    assert_eq!(encode.len(), 1, "{encode:?}");
    assert!(
        encode[0].contains("cannot derive `Encode` for a union"),
        "{encode:?}"
    );
    let decode = decode_errors(source);
    assert!(
        decode[0].contains("cannot derive `Decode` for a union"),
        "{decode:?}"
    );
}

#[test]
fn every_mistake_is_reported_at_once() {
    let errors = encode_errors(
        r#"
        #[courier(crate = "::courier", rename = "x")]
        struct S {
            #[courier(skip)]
            a: u32,
            #[courier(skip)]
            b: u32,
        }
        "#,
    );
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].contains("unknown courier attribute `rename`"),
        "{errors:?}"
    );
    assert!(errors[1].contains("not supported on fields"), "{errors:?}");
    assert!(errors[2].contains("not supported on fields"), "{errors:?}");
}

#[test]
fn variant_attributes_are_refused() {
    let errors = decode_errors("enum E { #[courier(crate = \"x\")] A, B }");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("not supported on variants"),
        "{errors:?}"
    );
}

#[test]
fn crate_path_must_be_a_path_and_given_once() {
    let errors = encode_errors(r#"#[courier(crate = "not a path")] struct S;"#);
    assert!(
        errors[0].contains("`not a path` is not a path"),
        "{errors:?}"
    );
    let errors = encode_errors(r#"#[courier(crate = "a", crate = "b")] struct S;"#);
    assert!(errors[0].contains("`crate` is given twice"), "{errors:?}");
}

#[test]
fn platform_sized_reprs_are_refused() {
    let errors = encode_errors("#[repr(usize)] enum E { A, B }");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("use `#[repr(u64)]` or `#[repr(i64)]`"),
        "{errors:?}"
    );
}

#[test]
fn other_reprs_are_ignored() {
    assert!(encode_errors("#[repr(C, align(8))] struct S { a: u32 }").is_empty());
    assert!(encode_errors("#[repr(C, u8)] enum E { A, B }").is_empty());
    assert!(encode_errors("#[repr(transparent)] struct S(u32);").is_empty());
}

#[test]
fn data_enums_have_at_most_256_variants() {
    let variants: Vec<String> = (0..257).map(|i| format!("V{i}(u8)")).collect();
    let source = format!("enum Big {{ {} }}", variants.join(", "));
    let errors = encode_errors(&source);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("has 257 variants"), "{errors:?}");
    let variants: Vec<String> = (0..256).map(|i| format!("V{i}(u8)")).collect();
    let source = format!("enum Fits {{ {} }}", variants.join(", "));
    assert!(encode_errors(&source).is_empty());
    // Fieldless enums use their repr, so they may have more.
    let variants: Vec<String> = (0..300).map(|i| format!("V{i}")).collect();
    let source = format!("#[repr(u16)] enum Wide {{ {} }}", variants.join(", "));
    assert!(encode_errors(&source).is_empty());
}

#[test]
fn generated_code_uses_the_crate_path() {
    let input: DeriveInput =
        syn::parse_str(r#"#[courier(crate = "crate::inner")] struct S { a: u32 }"#).unwrap();
    let tokens = crate::encode::expand(&input).unwrap().to_string();
    assert!(
        tokens.contains("use crate :: inner as _courier"),
        "{tokens}"
    );
    let input: DeriveInput = syn::parse_str("struct S { a: u32 }").unwrap();
    let tokens = crate::decode::expand(&input).unwrap().to_string();
    assert!(tokens.contains("use :: courier as _courier"), "{tokens}");
    assert!(tokens.contains("decode_field (\"a\")"), "{tokens}");
}
