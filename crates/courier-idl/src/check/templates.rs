//! The arity of the well-known templates: `Vector<T>`, `Optional<T>`,
//! `HashMap<K, V>`, `OrderedHashMap<K, V>`, `Array<T, N>`, `Variant<T...>`.

use crate::ast::{Type, TypeArg};
use crate::diagnostic::{Diagnostic, excerpt};
use crate::types::{MAX_VARIANT_ALTERNATIVES, MIN_VARIANT_ALTERNATIVES};

/// What arguments a well-known template takes.
#[derive(Clone, Copy)]
enum Shape {
    /// Exactly this many types.
    Types(usize),
    /// Between so many and so many types, inclusive.
    TypesBetween(usize, usize),
    /// A type and an integer length.
    TypeAndLength,
}

/// The shape of `ty`'s template, if it is a well-known one (also under the
/// `AK::` namespace), with its name and a hint on how to write it.
fn shape(ty: &Type) -> Option<(&str, Shape, &'static str)> {
    let name = match ty.segments.as_slice() {
        [name] => name,
        [namespace, name] if namespace.name == "AK" => name,
        _ => return None,
    };
    let (shape, form) = match name.name.as_str() {
        "Vector" => (Shape::Types(1), "write `Vector<T>`"),
        "Optional" => (Shape::Types(1), "write `Optional<T>`"),
        "HashMap" => (Shape::Types(2), "write `HashMap<K, V>`"),
        "OrderedHashMap" => (Shape::Types(2), "write `OrderedHashMap<K, V>`"),
        "Array" => (
            Shape::TypeAndLength,
            "write `Array<T, N>` with an integer length `N`, as in `Array<u8, 16>`",
        ),
        "Variant" => (
            Shape::TypesBetween(MIN_VARIANT_ALTERNATIVES, MAX_VARIANT_ALTERNATIVES),
            "write `Variant<A, B, ...>` with 2 to 6 alternative types",
        ),
        _ => return None,
    };
    Some((name.name.as_str(), shape, form))
}

/// Checks `ty` and, recursively, its template arguments. The parser bounds
/// their depth.
pub(super) fn check(ty: &Type, found: &mut Vec<Diagnostic>) {
    check_node(ty, found);
    for arg in &ty.args {
        if let TypeArg::Type(inner) = arg {
            check(inner, found);
        }
    }
}

/// Whether [`check`] reports `ty` itself (not counting its arguments), so
/// that other checks do not report the same fault again.
pub(super) fn reports(ty: &Type) -> bool {
    let mut found = Vec::new();
    check_node(ty, &mut found);
    !found.is_empty()
}

/// Checks `ty` alone, not its arguments.
fn check_node(ty: &Type, found: &mut Vec<Diagnostic>) {
    if let Some((name, shape, hint)) = shape(ty) {
        check_shape(ty, name, shape, hint, found);
    }
}

fn check_shape(ty: &Type, name: &str, shape: Shape, hint: &str, found: &mut Vec<Diagnostic>) {
    let count = ty.args.len();
    let (count_ok, wanted) = match shape {
        Shape::Types(1) => (count == 1, "1 type argument".to_string()),
        Shape::Types(n) => (count == n, format!("{n} type arguments")),
        Shape::TypesBetween(min, max) => (
            (min..=max).contains(&count),
            format!("{min} to {max} type arguments"),
        ),
        Shape::TypeAndLength => (count == 2, "a type and a length".to_string()),
    };
    if !count_ok {
        found.push(
            Diagnostic::error(ty.span, format!("`{name}` takes {wanted}, found {count}"))
                .with_hint(hint),
        );
        return;
    }
    for (position, arg) in ty.args.iter().enumerate() {
        let wants_length = matches!(shape, Shape::TypeAndLength) && position == 1;
        match (arg, wants_length) {
            (TypeArg::Const(value, span), false) => found.push(
                Diagnostic::error(
                    *span,
                    format!(
                        "expected a type as argument {} of `{name}`, found the integer `{value}`",
                        position + 1
                    ),
                )
                .with_hint(hint),
            ),
            (TypeArg::Type(arg_ty), true) => found.push(
                Diagnostic::error(
                    arg_ty.span,
                    format!(
                        "the length of `{name}` must be an integer, found `{}`",
                        excerpt(&arg_ty.to_string())
                    ),
                )
                .with_hint(hint),
            ),
            _ => {}
        }
    }
}
