//! What the caller can tune about generated code.

/// Options for [`crate::generate`].
///
/// Setters take `&mut self` and return it, so they chain:
///
/// ```
/// let mut options = courier_codegen::Options::new();
/// options
///     .map_type("Web::Cookie::Cookie", "crate::cookie::Cookie")
///     .courier_path("::courier");
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    pub(crate) type_map: Vec<(String, String)>,
    pub(crate) courier_path: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            type_map: Vec::new(),
            courier_path: "::courier".to_string(),
        }
    }
}

impl Options {
    /// The defaults: no mapped types, the runtime at `::courier`.
    pub fn new() -> Options {
        Options::default()
    }

    /// Maps the user type written `idl_name` in `.ipc` files (a leading `::`
    /// is ignored) to the Rust path `rust_path`.
    ///
    /// Without a mapping a user type `Web::Cookie::Cookie` becomes
    /// `super::Web::Cookie::Cookie`: the path as written, relative to the
    /// module the generated file is included in (each endpoint's module sits
    /// one level below it). Mapping applies to user types only; built-in
    /// names (`Gfx::IntRect`, `Vector`, ...) always have their own meaning.
    /// The last mapping of a name wins. An invalid Rust path is reported by
    /// [`crate::generate`].
    ///
    /// A user type with template arguments (`RefPtr<Media::VideoSurface>`)
    /// takes the mapping of its whole spelling (spaces inside `<>` do not
    /// matter); without one, the mapping of the template's name
    /// (`map_type("RefPtr", "std::sync::Arc")`) with its arguments appended:
    /// `std::sync::Arc<super::Media::VideoSurface>`. Unmapped, it is
    /// `super::RefPtr<super::Media::VideoSurface>`.
    pub fn map_type(&mut self, idl_name: &str, rust_path: &str) -> &mut Options {
        let idl_name = idl_name.trim().trim_start_matches("::").to_string();
        self.type_map.push((idl_name, rust_path.trim().to_string()));
        self
    }

    /// The mappings of [`Options::map_type`] that match no user type of
    /// `files` (a typo, most likely), each once, in the order given: the IDL
    /// name (without a leading `::`), the Rust path, and why, with "did you
    /// mean" when a user type of the files is close. Such a mapping changes
    /// nothing; callers warn about it rather than fail, since one set of
    /// options may serve several compilations.
    pub fn unmatched_mappings<'a>(
        &self,
        files: impl IntoIterator<Item = &'a courier_idl::ast::IpcFile>,
    ) -> Vec<(&str, &str, String)> {
        let user_types = courier_idl::UserTypes::of(files);
        let mut unmatched: Vec<(&str, &str, String)> = Vec::new();
        for (idl_name, rust_path) in &self.type_map {
            if unmatched.iter().any(|(seen, _, _)| seen == idl_name) {
                continue;
            }
            if let Some(why) = user_types.unmatched_mapping(idl_name) {
                unmatched.push((idl_name, rust_path, why));
            }
        }
        unmatched
    }

    /// The path through which generated code names the runtime (default
    /// `::courier`): set it when the `courier` crate is renamed or re-exported
    /// (`"::my_runtime::courier"`, or `"crate"` inside `courier` itself).
    pub fn courier_path(&mut self, path: &str) -> &mut Options {
        self.courier_path = path.trim().to_string();
        self
    }
}
