//! Parameter attributes: `[UTF8]`, `[File]`, `[Bitmap]`.

use crate::ast::{Attribute, Param};
use crate::diagnostic::{Diagnostic, excerpt};

/// The attributes courier understands.
const KNOWN: [&str; 3] = ["UTF8", "File", "Bitmap"];
const KNOWN_LIST: &str = "the known attributes are `UTF8`, `File` and `Bitmap`";
/// The attributes that may stand in place of a type.
const TYPE_LIKE: [&str; 2] = ["File", "Bitmap"];

/// Checks the attributes of `param`, and that it has a type (written, or
/// stood for by `[File]`/`[Bitmap]`).
pub(super) fn check(param: &Param, found: &mut Vec<Diagnostic>) {
    let mut seen: Vec<&str> = Vec::new();
    for attr in &param.attrs {
        let name = attr.name.name.as_str();
        if !KNOWN.contains(&name) {
            found.push(unknown(attr.name.span, name));
        } else if attr.value.is_some() {
            found.push(takes_no_value(attr));
        }
        if seen.contains(&name) {
            found.push(duplicate(attr));
        }
        seen.push(name);
    }
    if param.has_attr("File") && param.has_attr("Bitmap") {
        found.push(
            Diagnostic::error(
                param.span,
                format!(
                    "parameter `{}` is marked both `[File]` and `[Bitmap]`",
                    excerpt(&param.name.name)
                ),
            )
            .with_hint("keep the one that says what the parameter carries"),
        );
    }
    check_has_type(param, found);
}

/// The warning for an attribute written twice on one parameter or message.
pub(super) fn duplicate(attr: &Attribute) -> Diagnostic {
    Diagnostic::warning(
        attr.name.span,
        format!("duplicate attribute `{}`", excerpt(&attr.name.name)),
    )
    .with_hint("remove the repeated attribute")
}

/// The warning for a value given to a known attribute that takes none.
pub(super) fn takes_no_value(attr: &Attribute) -> Diagnostic {
    let name = &attr.name.name;
    Diagnostic::warning(attr.span, format!("attribute `{name}` takes no value"))
        .with_hint(format!("write `[{name}]`"))
}

fn unknown(span: crate::ast::Span, name: &str) -> Diagnostic {
    let hint = match KNOWN.iter().find(|known| known.eq_ignore_ascii_case(name)) {
        Some(known) => {
            format!("attributes are case-sensitive: did you mean `{known}`? {KNOWN_LIST}")
        }
        None => format!("{KNOWN_LIST}; courier ignores others"),
    };
    Diagnostic::warning(span, format!("unknown attribute `{}`", excerpt(name))).with_hint(hint)
}

/// A parameter without a written type needs `[File]` or `[Bitmap]`.
fn check_has_type(param: &Param, found: &mut Vec<Diagnostic>) {
    if param.ty.is_some() || TYPE_LIKE.iter().any(|a| param.has_attr(a)) {
        return;
    }
    let name = excerpt(&param.name.name);
    let hint = match param.attrs.first() {
        None => format!("write the type before the name, as in `i32 {name}`"),
        Some(attr) => {
            let attr = excerpt(&attr.name.name);
            let example = if attr == "UTF8" { "ByteString" } else { "Type" };
            format!(
                "`[{attr}]` is an attribute, not a type; only `[File]` and `[Bitmap]` can stand \
                 for a type: write `[{attr}] {example} {name}`"
            )
        }
    };
    found.push(
        Diagnostic::error(
            param.name.span,
            format!("missing type for parameter `{name}`"),
        )
        .with_hint(hint),
    );
}
