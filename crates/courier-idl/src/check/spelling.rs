//! Names a letter away from a built-in type: `Strng`, `string`, `Vectr`,
//! `Gfx::IntRec`.
//!
//! Such a name is a valid user type, so the file checks; but no Rust type of
//! that name exists, and rustc later fails inside the generated code in
//! `OUT_DIR`. A warning here points at the `.ipc` file instead. A user type
//! with template arguments (`Optinal<u8>`) is compared with the built-in
//! templates.
//!
//! A name is near a built-in when it differs only in case (`string`,
//! `bool` written `Bool`), or, for built-ins of 5 letters or more, by one
//! letter inserted, deleted, replaced, or two neighbours swapped. A letter
//! added at either end does not count: `Vector3`, `Colors` and `UString`
//! are plausible names of their own, while short built-ins (`i8`, `int`,
//! `bool`) are a letter away from too many real names (`Id`, `Book`).

use crate::ast::{Param, Type, TypeArg};
use crate::diagnostic::{Diagnostic, excerpt};
use crate::types::{self, IdlType};

/// The names a single-segment type (or `AK::name`) may mean: the built-ins
/// without namespace.
const PLAIN: &[&str] = &[
    "bool",
    "i8",
    "i16",
    "i32",
    "i64",
    "u8",
    "u16",
    "u32",
    "u64",
    "int",
    "unsigned",
    "size_t",
    "float",
    "double",
    "f32",
    "f64",
    "String",
    "StringView",
    "FlyString",
    "ByteString",
    "DeprecatedString",
    "ByteBuffer",
    "Color",
    "Vector",
    "Optional",
    "HashMap",
    "OrderedHashMap",
    "Variant",
    "Array",
];

/// The templates, for a user type with template arguments.
const TEMPLATES: &[&str] = &[
    "Vector",
    "Optional",
    "HashMap",
    "OrderedHashMap",
    "Variant",
    "Array",
];

/// The built-ins under a namespace, in full.
const NAMESPACED: &[&str] = &[
    "Gfx::IntRect",
    "Gfx::IntPoint",
    "Gfx::IntSize",
    "Gfx::Color",
    "Gfx::FloatPoint",
    "Gfx::FloatSize",
    "Gfx::FloatRect",
    "Gfx::ShareableBitmap",
    "Gfx::BitmapSequence",
    "IPC::File",
    "Core::AnonymousBuffer",
    "Gfx::Rect",
    "Gfx::Point",
    "Gfx::Size",
];

/// Warns about every user type in `param`'s type (its template arguments
/// included) whose name is near a built-in one.
pub(super) fn check(param: &Param, what: &str, found: &mut Vec<Diagnostic>) {
    if let Some(ty) = &param.ty {
        let subject = format!("{what} `{}`", excerpt(&param.name.name));
        check_type(ty, &subject, found);
    }
}

/// Warns about every user type in the routing type `ty` of a routed
/// endpoint (`routed by Strng page_id`) whose name is near a built-in one.
pub(super) fn check_routing(ty: &Type, name: &str, found: &mut Vec<Diagnostic>) {
    check_type(ty, &format!("routing parameter `{}`", excerpt(name)), found);
}

fn check_type(ty: &Type, subject: &str, found: &mut Vec<Diagnostic>) {
    for arg in &ty.args {
        if let TypeArg::Type(inner) = arg {
            check_type(inner, subject, found);
        }
    }
    // Only a type that stands as a user type.
    if !matches!(types::resolve_type(ty), Ok(IdlType::User { .. })) {
        return;
    }
    let suggestion = if ty.args.is_empty() {
        builtin_suggestion(ty)
    } else {
        template_suggestion(ty).map(str::to_string)
    };
    let Some(suggestion) = suggestion else {
        return;
    };
    let written = excerpt(&ty.path());
    found.push(
        Diagnostic::warning(
            ty.span,
            format!("{subject}: `{written}` is not a built-in type, so it is read as a user type"),
        )
        .with_hint(format!(
            "did you mean `{suggestion}`? If `{written}` is a type of yours, it must implement \
             `courier::Encode` and `courier::Decode` (or be mapped with `map_type`)"
        )),
    );
}

/// The built-in that `ty` (a type without template arguments) is probably
/// a misspelling of, written in full (`String`, `Gfx::IntRect`).
fn builtin_suggestion(ty: &Type) -> Option<String> {
    let names: Vec<&str> = ty.segments.iter().map(|s| s.name.as_str()).collect();
    match names.as_slice() {
        [name] | ["AK", name] => nearest(name, PLAIN).map(str::to_string),
        [_, _] => nearest(&ty.path(), NAMESPACED).map(str::to_string),
        _ => None,
    }
}

/// The template that a user type with template arguments (`Optinal<u8>`,
/// `vector<i32>`, `HashMpa<K, V>`) is probably a misspelling of.
/// A letter added at either end counts here: a template of the user's is
/// rare, and `HashMapp<K, V>` is more likely a slip than a name.
fn template_suggestion(ty: &Type) -> Option<&'static str> {
    let name = match ty.segments.as_slice() {
        [name] => name,
        [namespace, name] if namespace.name == "AK" => name,
        _ => return None,
    };
    nearest_any_edit(&name.name, TEMPLATES)
}

/// The first of `candidates` near `written` (see the module docs), a
/// candidate that differs only in case first. A letter added at either end
/// of a built-in does not count: it makes a plausible name of its own
/// (`Vector3`).
fn nearest<'a>(written: &str, candidates: &[&'a str]) -> Option<&'a str> {
    nearest_with(written, candidates, false)
}

/// [`nearest`], a letter added at either end counting as well.
fn nearest_any_edit<'a>(written: &str, candidates: &[&'a str]) -> Option<&'a str> {
    nearest_with(written, candidates, true)
}

fn nearest_with<'a>(written: &str, candidates: &[&'a str], affixes: bool) -> Option<&'a str> {
    let case_only = candidates
        .iter()
        .find(|c| **c != written && c.eq_ignore_ascii_case(written));
    if let Some(found) = case_only {
        return Some(found);
    }
    let lower = written.to_ascii_lowercase();
    candidates
        .iter()
        .find(|c| {
            let candidate = c.to_ascii_lowercase();
            let affix = lower.starts_with(&candidate) || lower.ends_with(&candidate);
            candidate.len() >= 5 && (affixes || !affix) && one_edit_apart(&lower, &candidate)
        })
        .copied()
}

/// Whether `a` and `b` differ by exactly one insertion, deletion,
/// substitution or swap of neighbouring characters.
pub(super) fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        if prefix == short.len() {
            return false;
        }
        // One substitution, or a swap of `prefix` and `prefix + 1`.
        let rest_equal = |from: usize| short[from..] == long[from..];
        let swapped = prefix + 1 < short.len()
            && short[prefix] == long[prefix + 1]
            && short[prefix + 1] == long[prefix]
            && rest_equal(prefix + 2);
        return rest_equal(prefix + 1) || swapped;
    }
    // One insertion into `short`, at `prefix`.
    short[prefix..] == long[prefix + 1..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Ident, Span};
    use crate::types::GfxType;

    fn written(path: &str, args: usize) -> Type {
        let ident = |name: &str| Ident {
            name: name.to_string(),
            span: Span::default(),
        };
        Type {
            leading_colons: false,
            segments: path.split("::").map(ident).collect(),
            args: (0..args).map(|_| TypeArg::Type(written("u8", 0))).collect(),
            span: Span::default(),
        }
    }

    /// The lists restate names `types::resolve_type` knows: each must
    /// still be a built-in there, and every gfx type must be listed.
    #[test]
    fn the_lists_name_the_built_ins_of_the_type_model() {
        for name in PLAIN.iter().chain(NAMESPACED) {
            let resolved = types::resolve_type(&written(name, 0));
            assert!(
                !matches!(resolved, Ok(IdlType::User { .. })),
                "`{name}` is no built-in"
            );
        }
        for name in TEMPLATES {
            // With one argument a template may be malformed (`Array`,
            // `HashMap`), but never read as a user type.
            match types::resolve_type(&written(name, 1)) {
                Ok(IdlType::User { .. }) => panic!("`{name}` is no template"),
                Err(error) => assert!(!error.contains("user type"), "`{name}`: {error}"),
                Ok(_) => {}
            }
        }
        for gfx in GfxType::ALL {
            let name = format!("Gfx::{}", gfx.name());
            assert!(
                NAMESPACED.contains(&name.as_str()),
                "`{name}` is not listed"
            );
        }
    }

    #[test]
    fn near_names() {
        let cases = [
            ("Strng", Some("String")),
            ("string", Some("String")),
            ("Stirng", Some("String")),
            ("Strinng", Some("String")),
            ("Vectr", Some("Vector")),
            ("Optinal", Some("Optional")),
            ("Bool", Some("bool")),
            ("INT", Some("int")),
            ("Colour", Some("Color")),
            ("ByteStrng", Some("ByteString")),
            ("bytestring", Some("ByteString")),
            ("Strin", Some("String")),
            // Names of their own.
            ("String", None),
            ("Vector3", None),
            ("Colors", None),
            ("UString", None),
            ("Strings", None),
            ("Book", None),
            ("Id", None),
            ("u7", None),
            ("JsonValue", None),
            ("Point3", None),
            ("ssize_t", None),
            ("Shape", None),
            ("Fill", None),
        ];
        for (written, expected) in cases {
            assert_eq!(nearest(written, PLAIN), expected, "{written}");
        }
        let namespaced = [
            ("Gfx::IntRec", Some("Gfx::IntRect")),
            ("gfx::IntRect", Some("Gfx::IntRect")),
            ("IPC::Fiel", Some("IPC::File")),
            ("Core::AnonymousBufer", Some("Core::AnonymousBuffer")),
            ("Gfx::Point", None),
            ("Core::ProxyData", None),
            ("Web::Cookie", None),
        ];
        for (written, expected) in namespaced {
            assert_eq!(nearest(written, NAMESPACED), expected, "{written}");
        }
        let templates = [
            ("Optinal", Some("Optional")),
            ("vector", Some("Vector")),
            ("HashMpa", Some("HashMap")),
            ("HashMapp", Some("HashMap")),
            ("Vectors", Some("Vector")),
            // Names of their own.
            ("RefPtr", None),
            ("NonnullRefPtr", None),
            ("ReadonlySpan", None),
            ("Vector", None),
        ];
        for (written, expected) in templates {
            assert_eq!(nearest_any_edit(written, TEMPLATES), expected, "{written}");
        }
        // Without template arguments, a letter added at an end is a name.
        assert_eq!(nearest("Vectors", TEMPLATES), None);
    }

    #[test]
    fn one_edit() {
        assert!(one_edit_apart("abcde", "abde"));
        assert!(one_edit_apart("abde", "abcde"));
        assert!(one_edit_apart("abcde", "abxde"));
        assert!(one_edit_apart("abcde", "bacde"));
        assert!(one_edit_apart("abcde", "abced"));
        assert!(!one_edit_apart("abcde", "abcde"));
        assert!(!one_edit_apart("abcde", "axcdy"));
        assert!(!one_edit_apart("abcde", "abc"));
        assert!(!one_edit_apart("abcde", "cbade"));
    }
}
