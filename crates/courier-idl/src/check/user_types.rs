//! The user types of a set of files, as a type mapping names them: for the
//! build API and the CLI to tell a mapping that matches nothing
//! (`map_type("Media::VideoSurfce", ...)`) from one that is used.

use std::collections::BTreeSet;

use super::spelling;
use crate::ast::{IpcFile, MessageKind};
use crate::types::{self, IdlType, UserTemplateArg};

/// The names of the user types that some files use, in the spelling a type
/// mapping (`courier_build::Config::map_type`, `courier compile --map-type`)
/// is matched against: each user type as written without a leading `::`
/// (`Web::Cookie::Cookie`), a template instance in canonical form
/// (`RefPtr<Media::VideoSurface>`), and the name of each user template
/// (`RefPtr`, whose mapping applies to every instance).
///
/// ```
/// use courier_idl::{SourceFile, UserTypes, check};
///
/// let checked = check(&[SourceFile::new(
///     "RequestServer.ipc",
///     "endpoint RequestServer { frame(RefPtr<Media::VideoSurface> surface) =| }\n",
/// )]);
/// let user_types = UserTypes::of(checked.files.iter().map(|file| &file.ast));
/// assert!(user_types.contains("RefPtr"));
/// assert!(user_types.contains("::Media::VideoSurface"));
/// assert!(user_types.contains("RefPtr< Media::VideoSurface >"));
/// assert!(!user_types.contains("Media::VideoSurfce"));
/// assert_eq!(user_types.nearest("Media::VideoSurfce"), Some("Media::VideoSurface"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserTypes {
    names: BTreeSet<String>,
}

impl UserTypes {
    /// The user types of the parameters, results and routing types of
    /// `files` (those that resolve; a type with an error names nothing).
    pub fn of<'a>(files: impl IntoIterator<Item = &'a IpcFile>) -> UserTypes {
        let mut user_types = UserTypes::default();
        for file in files {
            for endpoint in &file.endpoints {
                if let Some(routing) = &endpoint.routing {
                    if let Ok(ty) = types::resolve_type(&routing.ty) {
                        user_types.add(&ty);
                    }
                }
                for message in &endpoint.messages {
                    let results = match &message.kind {
                        MessageKind::Request { results } => results.as_slice(),
                        MessageKind::OneWay => &[],
                    };
                    for param in message.params.iter().chain(results) {
                        if let Ok(ty) = types::resolve(param) {
                            user_types.add(&ty);
                        }
                    }
                }
            }
        }
        user_types
    }

    fn add(&mut self, ty: &IdlType) {
        match ty {
            IdlType::Vector(inner) | IdlType::Optional(inner) | IdlType::Array(inner, _) => {
                self.add(inner);
            }
            IdlType::HashMap(key, value) | IdlType::OrderedHashMap(key, value) => {
                self.add(key);
                self.add(value);
            }
            IdlType::Variant(alternatives) => alternatives.iter().for_each(|a| self.add(a)),
            IdlType::User { path } => {
                self.names.insert(path.clone());
                if let Some((template, args)) = types::user_template(path) {
                    self.names.insert(template.to_string());
                    for arg in args {
                        if let UserTemplateArg::Type(inner) = arg {
                            self.add(&inner);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether a type mapping of `idl_name` applies to some user type: the
    /// name of a user type, of a template instance, or of a user template.
    /// A leading `::` and spaces inside `<>` do not matter.
    pub fn contains(&self, idl_name: &str) -> bool {
        self.names.contains(&types::canonical_user_name(idl_name))
    }

    /// The user type that `idl_name` (which [`UserTypes::contains`] does not
    /// know) probably means: the same name in another case, one a letter
    /// away (`Media::VideoSurfce`), or one with the same last segment in
    /// another namespace (`VideoSurface` for `Media::VideoSurface`).
    pub fn nearest(&self, idl_name: &str) -> Option<&str> {
        let written = types::canonical_user_name(idl_name);
        let lower = written.to_ascii_lowercase();
        let last = |name: &str| name.rsplit("::").next().unwrap_or_default().to_string();
        let written_last = last(&lower);
        let names = || self.names.iter().filter(|name| **name != written);
        let found = names()
            .find(|name| name.to_ascii_lowercase() == lower)
            .or_else(|| {
                names().find(|name| {
                    name.len() >= 4 && spelling::one_edit_apart(&lower, &name.to_ascii_lowercase())
                })
            })
            .or_else(|| names().find(|name| last(&name.to_ascii_lowercase()) == written_last))
            .or_else(|| {
                names().find(|name| {
                    let name_last = last(&name.to_ascii_lowercase());
                    name_last.len() >= 4 && spelling::one_edit_apart(&written_last, &name_last)
                })
            });
        found.map(String::as_str)
    }

    /// Whether the files use no user type at all.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// What to say about a mapping of `idl_name` that matches no user type,
    /// after naming the mapping; `None` when it matches one. With a near
    /// name: ``matched no user type of the compiled files; did you mean
    /// `Media::VideoSurface`?``.
    pub fn unmatched_mapping(&self, idl_name: &str) -> Option<String> {
        if self.contains(idl_name) {
            return None;
        }
        let mut message = "matched no user type of the compiled files".to_string();
        match self.nearest(idl_name) {
            Some(near) => message.push_str(&format!("; did you mean `{near}`?")),
            None => message.push_str(
                " and changes nothing (fine when one configuration serves several compilations)",
            ),
        }
        Some(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_types(text: &str) -> UserTypes {
        let (file, diagnostics) = crate::parse(text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        UserTypes::of([&file])
    }

    #[test]
    fn collects_user_types_everywhere() {
        let found = user_types(
            "endpoint E routed by Compositing::PageId page_id {\n\
             a(Vector<Optional<Web::Cookie>> c, HashMap<String, ::URL::URL> u) => (Variant<i32, Foo> r)\n\
             b(NonnullRefPtr<Vector<Web::X>> x, [File] f, Gfx::IntRect rect) =|\n\
             }\n",
        );
        let names: Vec<&str> = found.iter().collect();
        assert_eq!(
            names,
            [
                "Compositing::PageId",
                "Foo",
                "NonnullRefPtr",
                "NonnullRefPtr<Vector<Web::X>>",
                "URL::URL",
                "Web::Cookie",
                "Web::X",
            ]
        );
        assert!(found.contains("NonnullRefPtr< Vector< Web::X > >"));
        assert!(found.contains(" ::URL::URL "));
        assert!(!found.contains("Gfx::IntRect"));
        assert!(!found.contains("String"));
    }

    #[test]
    fn unmatched_mappings_and_suggestions() {
        let found =
            user_types("endpoint E { a(Media::VideoSurface s, RefPtr<Web::Page> p, Id id) =| }\n");
        assert_eq!(found.unmatched_mapping("RefPtr"), None);
        assert_eq!(found.unmatched_mapping("Media::VideoSurface"), None);
        let cases = [
            ("Media::VideoSurfce", Some("Media::VideoSurface")),
            ("media::videosurface", Some("Media::VideoSurface")),
            ("VideoSurface", Some("Media::VideoSurface")),
            ("Gfx::VideoSurfac", Some("Media::VideoSurface")),
            ("RefPr", Some("RefPtr")),
            ("Web::Pages", Some("Web::Page")),
            ("Unrelated::Thing", None),
            ("Ix", None),
        ];
        for (written, expected) in cases {
            assert_eq!(found.nearest(written), expected, "{written}");
        }
        let message = found.unmatched_mapping("Media::VideoSurfce").unwrap();
        assert_eq!(
            message,
            "matched no user type of the compiled files; did you mean `Media::VideoSurface`?"
        );
        let message = found.unmatched_mapping("Unrelated::Thing").unwrap();
        assert!(message.contains("matched no user type"), "{message}");
        assert!(!message.contains("did you mean"), "{message}");
    }
}
