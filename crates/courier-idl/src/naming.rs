//! Name conversions shared by the checks and the code generator.
//!
//! An `.ipc` file may name a message `create_window` (SerenityOS) or
//! `CreateWindow` (the overview); both must give the same Rust names. Both
//! functions therefore split a name into the same words, at underscores and
//! at case changes (`GetURLText` is `get`, `url`, `text`), and join them
//! again: `snake_case` in lowercase with `_`, `pascal_case` capitalised
//! without separators. Acronyms become ordinary words (`GetURL` gives
//! `get_url` and `GetUrl`), as Rust's naming conventions ask. Digits stay
//! with the word before them (`read_i32_value` keeps `i32`).

/// The items that courier-codegen declares for an endpoint `Foo` in its
/// module, as suffixes of `Foo` in `PascalCase`, with what they are. courier-codegen
/// generates them under these names.
pub const ENDPOINT_ITEMS: [(&str, &str); 7] = [
    ("", "marker type"),
    ("Message", "message enum"),
    ("Handler", "handler trait"),
    ("Service", "service wrapper"),
    ("Client", "blocking client"),
    ("AsyncClient", "async client"),
    ("Sender", "sender trait"),
];

/// The methods that the generated clients and sender trait have besides the
/// message methods (`clone` from `Clone`, `send` from `courier::Sender`).
/// A message whose method would take one of these names gets
/// [`HELPER_SUFFIX`] instead, on every generated item.
pub const HELPER_METHODS: [&str; 7] = [
    "connect",
    "connect_service",
    "from_connection",
    "connection",
    "with_timeout",
    "clone",
    "send",
];

/// What courier-codegen appends to the method of a message named like a
/// helper method.
pub const HELPER_SUFFIX: &str = "_message";

/// The `snake_case` form of a name: `CreateWindow` and `create_window` give
/// `create_window`.
///
/// ```
/// use courier_idl::snake_case;
///
/// assert_eq!(snake_case("CreateWindow"), "create_window");
/// assert_eq!(snake_case("create_window"), "create_window");
/// assert_eq!(snake_case("GetURL"), "get_url");
/// assert_eq!(snake_case("IPCFoo"), "ipc_foo");
/// ```
pub fn snake_case(name: &str) -> String {
    words(name)
        .iter()
        .map(|word| word.to_lowercase())
        .collect::<Vec<_>>()
        .join("_")
}

/// The `PascalCase` form of a name: `create_window` and `CreateWindow` give
/// `CreateWindow`.
///
/// ```
/// use courier_idl::pascal_case;
///
/// assert_eq!(pascal_case("create_window"), "CreateWindow");
/// assert_eq!(pascal_case("CreateWindow"), "CreateWindow");
/// assert_eq!(pascal_case("get_url"), "GetUrl");
/// assert_eq!(pascal_case("GetURL"), "GetUrl");
/// ```
pub fn pascal_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in words(name) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(&chars.as_str().to_lowercase());
        }
    }
    out
}

/// Splits a name into words: at `_`, before an uppercase letter that follows
/// a lowercase letter or a digit (`createWindow`, `I32Value`), and before the
/// last capital of a run that a lowercase letter follows (`URLText`).
fn words(name: &str) -> Vec<&str> {
    let mut words = Vec::new();
    for part in name.split('_').filter(|part| !part.is_empty()) {
        let chars: Vec<(usize, char)> = part.char_indices().collect();
        let mut start = 0;
        for (i, &(offset, c)) in chars.iter().enumerate().skip(1) {
            let previous = chars[i - 1].1;
            let next = chars.get(i + 1).map(|&(_, next)| next);
            let after_lower = previous.is_lowercase() || previous.is_ascii_digit();
            let ends_acronym = previous.is_uppercase() && next.is_some_and(char::is_lowercase);
            if c.is_uppercase() && (after_lower || ends_acronym) {
                words.push(&part[start..offset]);
                start = offset;
            }
        }
        words.push(&part[start..]);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::{pascal_case, snake_case, words};

    #[test]
    fn splits_at_underscores_and_case_changes() {
        assert_eq!(words("create_window"), ["create", "window"]);
        assert_eq!(words("CreateWindow"), ["Create", "Window"]);
        assert_eq!(words("GetURLText"), ["Get", "URL", "Text"]);
        assert_eq!(words("read_i32_value"), ["read", "i32", "value"]);
        assert_eq!(words("SuperDKeyPressed"), ["Super", "D", "Key", "Pressed"]);
        assert_eq!(words("__a__b_"), ["a", "b"]);
        assert!(words("").is_empty());
    }

    #[test]
    fn snake_case_examples() {
        for (input, expected) in [
            ("CreateWindow", "create_window"),
            ("create_window", "create_window"),
            ("GetURL", "get_url"),
            ("IPCFoo", "ipc_foo"),
            ("super_d_key_pressed", "super_d_key_pressed"),
            ("SuperDKeyPressed", "super_d_key_pressed"),
            ("ReadI32Value", "read_i32_value"),
            ("x", "x"),
        ] {
            assert_eq!(snake_case(input), expected, "snake_case({input:?})");
        }
    }

    #[test]
    fn pascal_case_examples() {
        for (input, expected) in [
            ("create_window", "CreateWindow"),
            ("CreateWindow", "CreateWindow"),
            ("IPCFoo", "IpcFoo"),
            ("super_d_key_pressed", "SuperDKeyPressed"),
            ("read_i32_value", "ReadI32Value"),
        ] {
            assert_eq!(pascal_case(input), expected, "pascal_case({input:?})");
        }
    }

    #[test]
    fn both_spellings_agree() {
        for name in ["create_window", "set_window_title", "did_request_image"] {
            let pascal = pascal_case(name);
            assert_eq!(snake_case(&pascal), name);
            assert_eq!(pascal_case(&snake_case(&pascal)), pascal);
        }
    }
}
