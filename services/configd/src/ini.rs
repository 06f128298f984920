//! The INI files configd keeps, one per domain.
//!
//! The format is SerenityOS's `Core::ConfigFile`: `[group]` lines open a
//! group, `key=value` lines set a key in the current group, lines starting
//! with `;` or `#` are comments, blank lines are ignored. Reading is lenient
//! and never fails, since people edit these files by hand:
//!
//! - whitespace around a line, a group name, a key or a value is trimmed
//!   (`  key = value ` is `key` = `value`), and a `\r` before the `\n` too;
//! - a line without `=` is a key with an empty value;
//! - keys before the first `[group]` belong to the group `""`;
//! - a group written twice is one group; a key written twice keeps the last
//!   value.
//!
//! Writing gives `key=value` lines under `[group]` headers, a blank line
//! between groups, groups and keys in their order of first appearance.
//! Comments are not kept (as in SerenityOS).
//!
//! ```
//! use courier_configd::ini::IniDocument;
//!
//! let mut doc = IniDocument::parse(b"[Window]\nWidth = 80\n");
//! assert_eq!(doc.get(b"Window", b"Width"), Some(&b"80"[..]));
//! doc.set(b"Window", b"Height", b"25");
//! assert_eq!(doc.to_bytes(), b"[Window]\nWidth=80\nHeight=25\n");
//! ```

/// One domain's settings: groups of keys, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IniDocument {
    groups: Vec<Group>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    name: Vec<u8>,
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

/// One difference between two versions of a domain, as
/// [`IniDocument::diff`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A group appeared (its keys follow as [`Change::Changed`]).
    AddedGroup {
        /// The group.
        group: Vec<u8>,
    },
    /// A group disappeared, with its keys.
    RemovedGroup {
        /// The group.
        group: Vec<u8>,
    },
    /// A key disappeared from a group that is still there.
    RemovedKey {
        /// The group.
        group: Vec<u8>,
        /// The key.
        key: Vec<u8>,
    },
    /// A key appeared or got another value.
    Changed {
        /// The group.
        group: Vec<u8>,
        /// The key.
        key: Vec<u8>,
        /// The new value.
        value: Vec<u8>,
    },
}

impl IniDocument {
    /// An empty document.
    pub fn new() -> IniDocument {
        IniDocument::default()
    }

    /// Reads a document; never fails (see the [module documentation](self)
    /// for how odd lines are read).
    pub fn parse(bytes: &[u8]) -> IniDocument {
        let mut doc = IniDocument::new();
        let mut current: Option<usize> = None;
        for line in bytes.split(|&b| b == b'\n') {
            let line = line.trim_ascii();
            match line.first() {
                None | Some(b';' | b'#') => {}
                Some(b'[') => {
                    let inner = &line[1..];
                    let end = inner.iter().position(|&b| b == b']').unwrap_or(inner.len());
                    let name = inner[..end].trim_ascii();
                    current = Some(doc.ensure_group(name));
                }
                Some(_) => {
                    let (key, value) = match line.iter().position(|&b| b == b'=') {
                        Some(eq) => (line[..eq].trim_ascii(), line[eq + 1..].trim_ascii()),
                        None => (line, &b""[..]),
                    };
                    if key.is_empty() {
                        continue;
                    }
                    let index = *current.get_or_insert_with(|| doc.ensure_group(b""));
                    set_entry(&mut doc.groups[index], key, value);
                }
            }
        }
        doc
    }

    /// The document as file contents.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // The group "" has no header, so it must come first.
        let unnamed = self.groups.iter().filter(|g| g.name.is_empty());
        let named = self.groups.iter().filter(|g| !g.name.is_empty());
        for group in unnamed.chain(named) {
            if !group.name.is_empty() {
                if !out.is_empty() {
                    out.push(b'\n');
                }
                out.push(b'[');
                out.extend_from_slice(&group.name);
                out.extend_from_slice(b"]\n");
            }
            for (key, value) in &group.entries {
                out.extend_from_slice(key);
                out.push(b'=');
                out.extend_from_slice(value);
                out.push(b'\n');
            }
        }
        out
    }

    /// Whether the document has no group at all.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The groups, in order.
    pub fn groups(&self) -> impl Iterator<Item = &[u8]> {
        self.groups.iter().map(|g| g.name.as_slice())
    }

    /// The keys of `group`, in order (none when the group does not exist).
    pub fn keys(&self, group: &[u8]) -> impl Iterator<Item = &[u8]> {
        self.group(group)
            .into_iter()
            .flat_map(|g| g.entries.iter().map(|(k, _)| k.as_slice()))
    }

    /// Whether `group` exists.
    pub fn has_group(&self, group: &[u8]) -> bool {
        self.group(group).is_some()
    }

    /// The value of `key` in `group`.
    pub fn get(&self, group: &[u8], key: &[u8]) -> Option<&[u8]> {
        let group = self.group(group)?;
        group
            .entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// Sets `key` in `group` (created as needed) to `value`; returns whether
    /// anything changed.
    pub fn set(&mut self, group: &[u8], key: &[u8], value: &[u8]) -> bool {
        if self.get(group, key) == Some(value) {
            return false;
        }
        let index = self.ensure_group(group);
        set_entry(&mut self.groups[index], key, value);
        true
    }

    /// Removes `key` from `group`; returns whether it was there.
    pub fn remove_key(&mut self, group: &[u8], key: &[u8]) -> bool {
        let Some(group) = self.groups.iter_mut().find(|g| g.name == group) else {
            return false;
        };
        let before = group.entries.len();
        group.entries.retain(|(k, _)| k != key);
        group.entries.len() != before
    }

    /// Removes `group` and its keys; returns whether it was there.
    pub fn remove_group(&mut self, group: &[u8]) -> bool {
        let before = self.groups.len();
        self.groups.retain(|g| g.name != group);
        self.groups.len() != before
    }

    /// Adds an empty `group`; returns whether it was new.
    pub fn add_group(&mut self, group: &[u8]) -> bool {
        if self.has_group(group) {
            return false;
        }
        self.ensure_group(group);
        true
    }

    /// What changed from `self` to `new`: removed groups, then per group of
    /// `new` in order, an added group, its removed keys and its new or
    /// changed values.
    pub fn diff(&self, new: &IniDocument) -> Vec<Change> {
        let mut changes = Vec::new();
        for old_group in &self.groups {
            if !new.has_group(&old_group.name) {
                changes.push(Change::RemovedGroup {
                    group: old_group.name.clone(),
                });
            }
        }
        for group in &new.groups {
            let old = self.group(&group.name);
            match old {
                None => changes.push(Change::AddedGroup {
                    group: group.name.clone(),
                }),
                Some(old) => {
                    for (key, _) in &old.entries {
                        if !group.entries.iter().any(|(k, _)| k == key) {
                            changes.push(Change::RemovedKey {
                                group: group.name.clone(),
                                key: key.clone(),
                            });
                        }
                    }
                }
            }
            for (key, value) in &group.entries {
                let old_value = old.and_then(|o| o.entries.iter().find(|(k, _)| k == key));
                if old_value.map(|(_, v)| v) != Some(value) {
                    changes.push(Change::Changed {
                        group: group.name.clone(),
                        key: key.clone(),
                        value: value.clone(),
                    });
                }
            }
        }
        changes
    }

    fn group(&self, name: &[u8]) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    fn ensure_group(&mut self, name: &[u8]) -> usize {
        if let Some(index) = self.groups.iter().position(|g| g.name == name) {
            return index;
        }
        self.groups.push(Group {
            name: name.to_vec(),
            entries: Vec::new(),
        });
        self.groups.len() - 1
    }
}

fn set_entry(group: &mut Group, key: &[u8], value: &[u8]) {
    match group.entries.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = value.to_vec(),
        None => group.entries.push((key.to_vec(), value.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
        items
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn parses_leniently() {
        let doc = IniDocument::parse(
            b"top=1\r\n; comment\n# comment\n\n  [ Window ]  \n Width = 80 \nflag\n=no key\n[Other\nx=a=b\n[Window]\nWidth=81\n",
        );
        assert_eq!(strings(doc.groups()), ["", "Window", "Other"]);
        assert_eq!(doc.get(b"", b"top"), Some(&b"1"[..]));
        assert_eq!(doc.get(b"Window", b"Width"), Some(&b"81"[..]));
        assert_eq!(doc.get(b"Window", b"flag"), Some(&b""[..]));
        assert_eq!(doc.get(b"Other", b"x"), Some(&b"a=b"[..]));
        assert_eq!(strings(doc.keys(b"Window")), ["Width", "flag"]);
        assert_eq!(doc.keys(b"Missing").count(), 0);
    }

    #[test]
    fn round_trips() {
        let mut doc = IniDocument::new();
        doc.set(b"B", b"k", b"v");
        doc.set(b"", b"top", b"t");
        doc.add_group(b"Empty");
        doc.set(b"A", b"x", b"1 2 [3] ;4");
        let bytes = doc.to_bytes();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "top=t\n\n[B]\nk=v\n\n[Empty]\n\n[A]\nx=1 2 [3] ;4\n"
        );
        let again = IniDocument::parse(&bytes);
        assert_eq!(again.get(b"A", b"x"), Some(&b"1 2 [3] ;4"[..]));
        assert!(again.has_group(b"Empty"));
        assert_eq!(again.to_bytes(), bytes);
    }

    #[test]
    fn edits_report_whether_anything_changed() {
        let mut doc = IniDocument::new();
        assert!(doc.set(b"G", b"k", b"v"));
        assert!(!doc.set(b"G", b"k", b"v"));
        assert!(!doc.add_group(b"G"));
        assert!(doc.remove_key(b"G", b"k"));
        assert!(!doc.remove_key(b"G", b"k"));
        assert!(doc.has_group(b"G"));
        assert!(doc.remove_group(b"G"));
        assert!(!doc.remove_group(b"G"));
        assert!(doc.is_empty());
    }

    #[test]
    fn diffs() {
        let old = IniDocument::parse(b"[Keep]\na=1\nb=2\n[Gone]\nx=1\n");
        let new = IniDocument::parse(b"[Keep]\na=1\nc=3\nb=20\n[New]\ny=2\n");
        let g = |s: &str| s.as_bytes().to_vec();
        assert_eq!(
            old.diff(&new),
            [
                Change::RemovedGroup { group: g("Gone") },
                Change::Changed {
                    group: g("Keep"),
                    key: g("c"),
                    value: g("3")
                },
                Change::Changed {
                    group: g("Keep"),
                    key: g("b"),
                    value: g("20")
                },
                Change::AddedGroup { group: g("New") },
                Change::Changed {
                    group: g("New"),
                    key: g("y"),
                    value: g("2")
                },
            ]
        );
        let fewer = IniDocument::parse(b"[Keep]\na=1\n");
        assert_eq!(
            old.diff(&fewer),
            [
                Change::RemovedGroup { group: g("Gone") },
                Change::RemovedKey {
                    group: g("Keep"),
                    key: g("b")
                },
            ]
        );
        assert!(new.diff(&new).is_empty());
    }
}
