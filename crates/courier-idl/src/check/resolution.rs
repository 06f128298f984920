//! What a parameter's type means: every parameter and result must resolve
//! with [`types::resolve`], as the code generator resolves it.
//!
//! The template arities (`Vector<i32, i32>`) and the attribute faults the
//! attribute check knows (no type, `[File]` with `[Bitmap]`) are reported
//! there; this check reports the rest, once per fault, at the innermost type
//! at fault (`Foo<i32>` inside `Vector<Foo<i32>>`) or at the attribute that
//! does not fit the type (`[UTF8] i32`).

use super::templates;
use crate::ast::{Attribute, Param, Type, TypeArg};
use crate::diagnostic::{Diagnostic, excerpt};
use crate::types::{self, IdlType};

/// Resolves `param` and reports why it does not resolve, if it does not.
/// `what` is `parameter` or `result`.
pub(super) fn check(param: &Param, what: &str, found: &mut Vec<Diagnostic>) {
    if types::resolve(param).is_ok() {
        return;
    }
    let subject = format!("{what} `{}`", excerpt(&param.name.name));
    // No type at all, or `[File]` with `[Bitmap]`: the attribute check says so.
    let Some(ty) = &param.ty else {
        return;
    };
    if param.has_attr("File") && param.has_attr("Bitmap") {
        return;
    }
    if check_type(ty, &subject, found) {
        return;
    }
    // The type resolves, so an attribute does not fit it.
    match types::resolve_type(ty) {
        Ok(resolved) => found.push(attribute_fault(param, ty, &resolved, &subject)),
        // Unreachable: `check_type` reports every type that does not resolve.
        Err(reason) => found.push(Diagnostic::error(ty.span, format!("{subject}: {reason}"))),
    }
}

/// Resolves the type of a routed endpoint's routing parameter `name` and
/// reports why it does not resolve, if it does not (the template check
/// reports wrong arities).
pub(super) fn check_routing_type(ty: &Type, name: &str, found: &mut Vec<Diagnostic>) {
    let subject = format!("routing parameter `{}`", excerpt(name));
    check_type(ty, &subject, found);
}

/// Reports the faults in `ty` that the template check does not, innermost
/// first; whether `ty` has a fault (reported here or there).
fn check_type(ty: &Type, subject: &str, found: &mut Vec<Diagnostic>) -> bool {
    let mut faulty = templates::reports(ty);
    for arg in &ty.args {
        if let TypeArg::Type(inner) = arg {
            faulty |= check_type(inner, subject, found);
        }
    }
    if faulty {
        // Whatever else is wrong here shows once the inner faults are fixed.
        return true;
    }
    match types::resolve_type(ty) {
        Ok(_) => false,
        Err(reason) => {
            let diagnostic = Diagnostic::error(ty.span, format!("{subject}: {reason}"));
            found.push(match type_hint(ty) {
                Some(hint) => diagnostic.with_hint(hint),
                None => diagnostic,
            });
            true
        }
    }
}

/// What to do about a type that does not resolve although its arguments do
/// and the template check has nothing to say about it.
fn type_hint(ty: &Type) -> Option<String> {
    if ty.args.is_empty() {
        return None;
    }
    let bare = Type {
        args: Vec::new(),
        ..ty.clone()
    };
    let path = excerpt(&ty.path());
    match types::resolve_type(&bare) {
        // A user type takes any template arguments that resolve.
        Ok(IdlType::User { .. }) | Err(_) => None,
        Ok(_) => Some(format!(
            "`{path}` is not a template: write `{path}` without `<...>`"
        )),
    }
}

/// `[UTF8]`, `[File]` or `[Bitmap]` on a type it does not fit; `resolved` is
/// what the type means without attributes.
fn attribute_fault(param: &Param, ty: &Type, resolved: &IdlType, subject: &str) -> Diagnostic {
    let reason = types::resolve(param).err().unwrap_or_default();
    let name = excerpt(&param.name.name);
    let written = excerpt(&ty.to_string());
    // The order of `types::resolve`: `[File]`, then `[Bitmap]`, then `[UTF8]`.
    let (attr, hint) = if param.has_attr("File") && *resolved != IdlType::File {
        (
            "File",
            format!(
                "`[File]` stands for the type `IPC::File`: write `[File] {name}` without a type, \
                 or remove `[File]` to keep the type `{written}`"
            ),
        )
    } else if param.has_attr("Bitmap") && *resolved != IdlType::Bitmap {
        (
            "Bitmap",
            format!(
                "`[Bitmap]` stands for the type `Gfx::ShareableBitmap`: write `[Bitmap] {name}` \
                 without a type, or remove `[Bitmap]` to keep the type `{written}`"
            ),
        )
    } else {
        (
            "UTF8",
            format!(
                "`[UTF8]` promises that a `ByteString` holds UTF-8 text; remove it from \
                 `{written}`, or make the type `ByteString`"
            ),
        )
    };
    let span = find_attr(param, attr).map_or(param.span, |a| a.span);
    Diagnostic::error(span, format!("{subject}: {reason}"))
        .with_related(ty.span, format!("the type is `{written}`"))
        .with_hint(hint)
}

fn find_attr<'a>(param: &'a Param, name: &str) -> Option<&'a Attribute> {
    param.attrs.iter().find(|a| a.name.name == name)
}
