//! Rust names for `.ipc` names: case conversion, keywords, raw identifiers.

use proc_macro2::{Ident, Span};

use courier_idl::naming::{pascal_case, snake_case};

/// Rust's strict and reserved keywords (every edition since 2018), which need
/// `r#` to be used as names.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers: these get a trailing underscore.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate"];

/// Why a name cannot become a Rust identifier.
#[derive(Debug)]
pub(crate) struct BadName(pub(crate) String);

/// An identifier for `name`, raw (`r#type`) for a keyword, with a trailing
/// underscore for `self`, `Self`, `super` and `crate`.
pub(crate) fn ident(name: &str) -> Result<Ident, BadName> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_alphabetic())
        && name.chars().all(|c| c == '_' || c.is_alphanumeric());
    if !valid || name == "_" {
        return Err(BadName(format!("`{name}` is not a valid Rust identifier")));
    }
    if NOT_RAW.contains(&name) {
        return Ok(Ident::new(&format!("{name}_"), Span::call_site()));
    }
    if KEYWORDS.contains(&name) {
        return Ok(Ident::new_raw(name, Span::call_site()));
    }
    Ok(Ident::new(name, Span::call_site()))
}

/// The name an identifier reads as, without `r#`.
pub(crate) fn unraw(ident: &Ident) -> String {
    let text = ident.to_string();
    match text.strip_prefix("r#") {
        Some(stripped) => stripped.to_string(),
        None => text,
    }
}

/// `CreateWindow` / `create_window` -> `CreateWindow`.
pub(crate) fn type_ident(name: &str) -> Result<Ident, BadName> {
    converted(name, pascal_case(name))
}

/// `CreateWindow` / `create_window` -> `create_window`.
pub(crate) fn value_ident(name: &str) -> Result<Ident, BadName> {
    converted(name, snake_case(name))
}

/// `CreateWindow` / `create_window` -> `CREATE_WINDOW`.
pub(crate) fn const_ident(name: &str) -> Result<Ident, BadName> {
    converted(name, snake_case(name).to_uppercase())
}

fn converted(written: &str, rust: String) -> Result<Ident, BadName> {
    if rust.is_empty() {
        return Err(BadName(format!(
            "`{written}` has no letters or digits to make a Rust name of"
        )));
    }
    ident(&rust)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_become_raw_or_get_an_underscore() {
        assert_eq!(ident("type").unwrap().to_string(), "r#type");
        assert_eq!(ident("gen").unwrap().to_string(), "r#gen");
        assert_eq!(ident("self").unwrap().to_string(), "self_");
        assert_eq!(ident("Self").unwrap().to_string(), "Self_");
        assert_eq!(ident("crate").unwrap().to_string(), "crate_");
        assert_eq!(ident("super").unwrap().to_string(), "super_");
        assert_eq!(ident("union").unwrap().to_string(), "union");
        assert_eq!(unraw(&ident("type").unwrap()), "type");
    }

    #[test]
    fn invalid_names_are_errors() {
        assert!(ident("").is_err());
        assert!(ident("_").is_err());
        assert!(ident("1abc").is_err());
        assert!(ident("a-b").is_err());
    }

    #[test]
    fn case_conversions() {
        assert_eq!(
            type_ident("create_window").unwrap().to_string(),
            "CreateWindow"
        );
        assert_eq!(
            type_ident("CreateWindow").unwrap().to_string(),
            "CreateWindow"
        );
        assert_eq!(
            value_ident("WindowServer").unwrap().to_string(),
            "window_server"
        );
        assert_eq!(
            const_ident("CreateWindow").unwrap().to_string(),
            "CREATE_WINDOW"
        );
        assert_eq!(
            const_ident("lookup_name").unwrap().to_string(),
            "LOOKUP_NAME"
        );
    }
}
