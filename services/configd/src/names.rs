//! What a domain, group, key and value may be.
//!
//! A domain names a file (`<config dir>/<domain>.ini`), so it must be a
//! plain file name: 1 to [`MAX_DOMAIN_LEN`] bytes of UTF-8, no `/`, no NUL,
//! no control character, not starting with `.` (which also rules out `.` and
//! `..`, and keeps configd's temporary files, `.<domain>.ini.tmp...`, apart).
//! Groups, keys and values are stored in INI lines, so none may hold a line
//! break or a NUL, and none may start or end with whitespace (the INI reader
//! trims it); a group may not hold `]`; a key may not be empty, hold `=`, or
//! start with `[`, `;` or `#`.
//!
//! The client library checks names before sending them, and configd checks
//! them again on receipt: a bad name is a typed error for that caller.
//!
//! ```
//! use courier_configd::names::{validate_domain, NameErrorKind};
//!
//! assert!(validate_domain(b"Terminal").is_ok());
//! let error = validate_domain(b"../etc/passwd").unwrap_err();
//! assert_eq!(error.kind(), NameErrorKind::Slash);
//! ```

use std::fmt;

/// The longest domain name, in bytes: a file name is at most 255 bytes,
/// and configd adds `.ini` and a temporary suffix.
pub const MAX_DOMAIN_LEN: usize = 200;

/// The longest group, key or value, in bytes (1 MiB).
pub const MAX_ENTRY_LEN: usize = 1 << 20;

/// Which part of a setting a [`NameError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// The domain (the file).
    Domain,
    /// The group (an INI section).
    Group,
    /// The key.
    Key,
    /// The value.
    Value,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Domain => "domain",
            Part::Group => "group",
            Part::Key => "key",
            Part::Value => "value",
        }
    }
}

/// What is wrong with a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameErrorKind {
    /// It is empty.
    Empty,
    /// It is longer than allowed.
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// A domain holds `/`.
    Slash,
    /// A domain starts with `.` (including `.` and `..`).
    LeadingDot,
    /// A domain is not UTF-8.
    NotUtf8,
    /// It holds a line break, a NUL or (a domain) another control character.
    ControlCharacter,
    /// It starts or ends with whitespace.
    SurroundingWhitespace,
    /// It holds a character INI gives a meaning to there (`]` in a group,
    /// `=` in a key, `[`, `;` or `#` at the start of a key).
    IniSyntax(char),
}

/// A domain, group, key or value that configd cannot store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct NameError {
    part: Part,
    name: String,
    kind: NameErrorKind,
}

impl NameError {
    fn new(part: Part, name: &[u8], kind: NameErrorKind) -> NameError {
        let mut shown = String::from_utf8_lossy(name).into_owned();
        if shown.len() > 80 {
            let mut end = 80;
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown.truncate(end);
            shown.push_str("...");
        }
        NameError {
            part,
            name: shown,
            kind,
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> NameErrorKind {
        self.kind
    }

    /// Which part of the setting is wrong.
    pub fn part(&self) -> Part {
        self.part
    }

    fn describe(&self) -> String {
        let part = self.part.name();
        let name = self.name.escape_debug();
        match self.kind {
            NameErrorKind::Empty => format!("the {part} is empty; give it a name"),
            NameErrorKind::TooLong { len, max } => {
                format!(
                    "the {part} `{name}` is {len} bytes long, over the {max}-byte limit; use a shorter one"
                )
            }
            NameErrorKind::Slash => format!(
                "the domain `{name}` holds `/`; a domain names a file in the config directory, use a plain name such as `Terminal`"
            ),
            NameErrorKind::LeadingDot => format!(
                "the domain `{name}` starts with `.`; a domain names a visible file in the config directory, use a plain name such as `Terminal`"
            ),
            NameErrorKind::NotUtf8 => {
                format!("the domain `{name}` is not UTF-8; use a UTF-8 name such as `Terminal`")
            }
            NameErrorKind::ControlCharacter => format!(
                "the {part} `{name}` holds a line break, NUL or control character, which an INI file cannot store; remove it"
            ),
            NameErrorKind::SurroundingWhitespace => format!(
                "the {part} `{name}` starts or ends with whitespace, which the INI reader trims; remove it"
            ),
            NameErrorKind::IniSyntax(c) => {
                format!("the {part} `{name}` holds `{c}` where INI gives it a meaning; remove it")
            }
        }
    }
}

fn check_common(part: Part, bytes: &[u8], max: usize) -> Result<(), NameError> {
    if bytes.len() > max {
        return Err(NameError::new(
            part,
            bytes,
            NameErrorKind::TooLong {
                len: bytes.len(),
                max,
            },
        ));
    }
    if bytes.iter().any(|&b| b == b'\n' || b == b'\r' || b == 0) {
        return Err(NameError::new(part, bytes, NameErrorKind::ControlCharacter));
    }
    if bytes.first().is_some_and(u8::is_ascii_whitespace)
        || bytes.last().is_some_and(u8::is_ascii_whitespace)
    {
        return Err(NameError::new(
            part,
            bytes,
            NameErrorKind::SurroundingWhitespace,
        ));
    }
    Ok(())
}

/// Checks a domain name and returns it as text.
///
/// # Errors
///
/// [`NameError`] when it is empty, too long, not UTF-8, holds `/` or a
/// control character, or starts with `.` or whitespace.
pub fn validate_domain(domain: &[u8]) -> Result<&str, NameError> {
    let error = |kind| Err(NameError::new(Part::Domain, domain, kind));
    if domain.is_empty() {
        return error(NameErrorKind::Empty);
    }
    check_common(Part::Domain, domain, MAX_DOMAIN_LEN)?;
    let Ok(text) = std::str::from_utf8(domain) else {
        return error(NameErrorKind::NotUtf8);
    };
    if text.contains('/') {
        return error(NameErrorKind::Slash);
    }
    if text.starts_with('.') {
        return error(NameErrorKind::LeadingDot);
    }
    if text.chars().any(char::is_control) {
        return error(NameErrorKind::ControlCharacter);
    }
    Ok(text)
}

/// Checks a group name (`""` is the group of the lines before any `[group]`).
///
/// # Errors
///
/// [`NameError`] when it is too long, holds `]`, a line break or NUL, or
/// starts or ends with whitespace.
pub fn validate_group(group: &[u8]) -> Result<(), NameError> {
    check_common(Part::Group, group, MAX_ENTRY_LEN)?;
    if group.contains(&b']') {
        return Err(NameError::new(
            Part::Group,
            group,
            NameErrorKind::IniSyntax(']'),
        ));
    }
    Ok(())
}

/// Checks a key.
///
/// # Errors
///
/// [`NameError`] when it is empty or too long, holds `=`, a line break or
/// NUL, starts with `[`, `;` or `#`, or starts or ends with whitespace.
pub fn validate_key(key: &[u8]) -> Result<(), NameError> {
    if key.is_empty() {
        return Err(NameError::new(Part::Key, key, NameErrorKind::Empty));
    }
    check_common(Part::Key, key, MAX_ENTRY_LEN)?;
    if key.contains(&b'=') {
        return Err(NameError::new(
            Part::Key,
            key,
            NameErrorKind::IniSyntax('='),
        ));
    }
    if let Some(&first @ (b'[' | b';' | b'#')) = key.first() {
        return Err(NameError::new(
            Part::Key,
            key,
            NameErrorKind::IniSyntax(char::from(first)),
        ));
    }
    Ok(())
}

/// Checks a value (any bytes but line breaks and NUL, without surrounding
/// whitespace; may be empty).
///
/// # Errors
///
/// [`NameError`] when it is too long, holds a line break or NUL, or starts
/// or ends with whitespace.
pub fn validate_value(value: &[u8]) -> Result<(), NameError> {
    check_common(Part::Value, value, MAX_ENTRY_LEN)
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(validate_domain(b"Terminal"), Ok("Terminal"));
        assert_eq!(validate_domain(b"My App 2"), Ok("My App 2"));
        let kind = |d: &[u8]| validate_domain(d).unwrap_err().kind();
        assert_eq!(kind(b""), NameErrorKind::Empty);
        assert_eq!(kind(b"a/b"), NameErrorKind::Slash);
        assert_eq!(kind(b"/abs"), NameErrorKind::Slash);
        assert_eq!(kind(b".."), NameErrorKind::LeadingDot);
        assert_eq!(kind(b"."), NameErrorKind::LeadingDot);
        assert_eq!(kind(b".hidden"), NameErrorKind::LeadingDot);
        assert_eq!(kind(b"a\0b"), NameErrorKind::ControlCharacter);
        assert_eq!(kind(b"a\tb"), NameErrorKind::ControlCharacter);
        assert_eq!(kind(b" a"), NameErrorKind::SurroundingWhitespace);
        assert_eq!(kind(b"\xff"), NameErrorKind::NotUtf8);
        assert_eq!(
            kind(&[b'a'; MAX_DOMAIN_LEN + 1]),
            NameErrorKind::TooLong {
                len: MAX_DOMAIN_LEN + 1,
                max: MAX_DOMAIN_LEN
            }
        );
    }

    #[test]
    fn groups_keys_values() {
        assert!(validate_group(b"").is_ok());
        assert!(validate_group(b"Window").is_ok());
        assert_eq!(
            validate_group(b"a]b").unwrap_err().kind(),
            NameErrorKind::IniSyntax(']')
        );
        assert_eq!(validate_key(b"").unwrap_err().kind(), NameErrorKind::Empty);
        assert_eq!(
            validate_key(b"a=b").unwrap_err().kind(),
            NameErrorKind::IniSyntax('=')
        );
        assert_eq!(
            validate_key(b"#x").unwrap_err().kind(),
            NameErrorKind::IniSyntax('#')
        );
        assert!(validate_key(b"Width").is_ok());
        assert!(validate_value(b"").is_ok());
        assert!(validate_value(b"a=b [c] ; #").is_ok());
        assert_eq!(
            validate_value(b"two\nlines").unwrap_err().kind(),
            NameErrorKind::ControlCharacter
        );
        assert_eq!(
            validate_value(b"x ").unwrap_err().kind(),
            NameErrorKind::SurroundingWhitespace
        );
    }

    #[test]
    fn messages_say_what_to_do() {
        let message = validate_domain(b"../x").unwrap_err().to_string();
        assert!(message.contains("`../x`"), "{message}");
        assert!(message.contains("use a plain name"), "{message}");
        assert!(!message.ends_with('.'), "{message}");
    }
}
