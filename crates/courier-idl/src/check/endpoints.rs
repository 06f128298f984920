//! Endpoints across the files compiled together: unique names, unique magics.

use std::collections::HashMap;

use super::Unit;
use crate::ast::{Endpoint, Ident};
use crate::diagnostic::{Diagnostic, excerpt};
use crate::render::LineIndex;

/// An endpoint seen earlier: in which unit, under which name.
#[derive(Clone, Copy)]
struct Seen<'a> {
    unit: usize,
    name: &'a Ident,
}

/// Reports duplicate endpoint names and magic collisions, in the unit of
/// the later definition (`found` is indexed like `units`).
pub(super) fn check(units: &[Unit<'_>], found: &mut [Vec<Diagnostic>]) {
    let mut by_name: HashMap<&str, Seen<'_>> = HashMap::new();
    let mut by_magic: HashMap<u32, Seen<'_>> = HashMap::new();
    for (unit_index, unit) in units.iter().enumerate() {
        for endpoint in &unit.ast.endpoints {
            let here = Seen {
                unit: unit_index,
                name: &endpoint.name,
            };
            if let Some(first) = by_name.get(endpoint.name.name.as_str()) {
                found[unit_index].push(duplicate(units, *first, here));
                continue;
            }
            by_name.insert(&endpoint.name.name, here);
            match by_magic.get(&endpoint.magic()) {
                Some(first) => found[unit_index].push(collision(units, *first, here, endpoint)),
                None => {
                    by_magic.insert(endpoint.magic(), here);
                }
            }
        }
    }
}

fn duplicate(units: &[Unit<'_>], first: Seen<'_>, here: Seen<'_>) -> Diagnostic {
    let name = excerpt(&here.name.name);
    let diagnostic = Diagnostic::error(here.name.span, format!("duplicate endpoint `{name}`"));
    point_at_first(
        diagnostic,
        units,
        first,
        here,
        "endpoint names must be unique among the files compiled together; rename one of them",
    )
}

fn collision(
    units: &[Unit<'_>],
    first: Seen<'_>,
    here: Seen<'_>,
    endpoint: &Endpoint,
) -> Diagnostic {
    let message = format!(
        "endpoint `{}` has the magic {} of endpoint `{}`",
        excerpt(&here.name.name),
        endpoint.magic(),
        excerpt(&first.name.name)
    );
    let advice = if endpoint.explicit_magic.is_some() {
        "peers tell endpoints apart by their magic; give one of them another number after `=`"
    } else {
        "peers tell endpoints apart by this hash of the name; rename one of the endpoints"
    };
    point_at_first(
        Diagnostic::error(here.name.span, message),
        units,
        first,
        here,
        advice,
    )
}

/// Adds where the first definition is: a label when it is in the same file,
/// else its file, line and column in the hint.
fn point_at_first(
    diagnostic: Diagnostic,
    units: &[Unit<'_>],
    first: Seen<'_>,
    here: Seen<'_>,
    advice: &str,
) -> Diagnostic {
    if first.unit == here.unit {
        return diagnostic
            .with_related(first.name.span, "first defined here")
            .with_hint(advice);
    }
    let unit = &units[first.unit];
    let (line, column) = LineIndex::new(unit.text).line_col(unit.text, first.name.span.start);
    diagnostic.with_hint(format!(
        "`{}` is defined first at {}:{line}:{column}; {advice}",
        excerpt(&first.name.name),
        unit.name
    ))
}
