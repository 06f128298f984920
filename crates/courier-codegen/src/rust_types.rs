//! IDL types to Rust types.
//!
//! Generated code spells every type with an absolute path (`::std::vec::Vec`,
//! `::courier::gfx::IntRect`), so a message named `String` or `Option` in the
//! same module cannot change what a field means.

use courier_idl::ast::Span;
use courier_idl::types::{self, IdlType, UserTemplateArg};
use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote};

use crate::error::CodegenError;
use crate::names;
use crate::options::Options;

/// Renders [`IdlType`]s with the runtime path and user mappings of [`Options`].
pub(crate) struct RustTypes {
    /// The runtime crate's path, `::courier` by default.
    pub(crate) courier: TokenStream,
    /// `(idl name, parsed Rust type, Rust type as given)`; the last mapping
    /// of a name wins.
    mapped: Vec<(String, syn::Type, String)>,
}

impl RustTypes {
    pub(crate) fn new(options: &Options) -> Result<RustTypes, CodegenError> {
        let courier: syn::Path =
            syn::parse_str(&options.courier_path).map_err(|_| CodegenError::InvalidPath {
                setting: "courier_path".to_string(),
                path: options.courier_path.clone(),
            })?;
        let mut mapped = Vec::new();
        for (idl_name, rust_path) in &options.type_map {
            let ty: syn::Type =
                syn::parse_str(rust_path).map_err(|_| CodegenError::InvalidPath {
                    setting: format!("map_type(\"{idl_name}\")"),
                    path: rust_path.clone(),
                })?;
            mapped.push((types::canonical_user_name(idl_name), ty, rust_path.clone()));
        }
        Ok(RustTypes {
            courier: quote!(#courier),
            mapped,
        })
    }

    /// The Rust type of `ty`, written at `span`.
    pub(crate) fn rust_type(&self, ty: &IdlType, span: Span) -> Result<TokenStream, CodegenError> {
        let courier = &self.courier;
        Ok(match ty {
            IdlType::Bool => quote!(bool),
            IdlType::I8 => quote!(i8),
            IdlType::I16 => quote!(i16),
            IdlType::I32 => quote!(i32),
            IdlType::I64 => quote!(i64),
            IdlType::U8 => quote!(u8),
            IdlType::U16 => quote!(u16),
            IdlType::U32 => quote!(u32),
            IdlType::U64 => quote!(u64),
            IdlType::F32 => quote!(f32),
            IdlType::F64 => quote!(f64),
            IdlType::String => quote!(::std::string::String),
            IdlType::ByteString => quote!(#courier::ByteString),
            IdlType::Bytes => quote!(::std::vec::Vec<u8>),
            IdlType::Vector(inner) => {
                let inner = self.rust_type(inner, span)?;
                quote!(::std::vec::Vec<#inner>)
            }
            IdlType::HashMap(key, value) => {
                let key = self.rust_type(key, span)?;
                let value = self.rust_type(value, span)?;
                quote!(::std::collections::HashMap<#key, #value>)
            }
            IdlType::OrderedHashMap(key, value) => {
                let key = self.rust_type(key, span)?;
                let value = self.rust_type(value, span)?;
                quote!(::std::vec::Vec<(#key, #value)>)
            }
            IdlType::Optional(inner) => {
                let inner = self.rust_type(inner, span)?;
                quote!(::std::option::Option<#inner>)
            }
            IdlType::Variant(alternatives) => {
                let variant = quote::format_ident!("Variant{}", alternatives.len());
                let alternatives = alternatives
                    .iter()
                    .map(|a| self.rust_type(a, span))
                    .collect::<Result<Vec<_>, _>>()?;
                quote!(#courier::#variant<#(#alternatives),*>)
            }
            IdlType::Array(inner, len) => {
                let inner = self.rust_type(inner, span)?;
                let len = Literal::u64_unsuffixed(*len);
                quote!([#inner; #len])
            }
            IdlType::File => quote!(::std::os::fd::OwnedFd),
            IdlType::SharedBuffer => quote!(#courier::shm::SharedBuffer),
            IdlType::Bitmap => quote!(#courier::shm::ShareableBitmap),
            IdlType::BitmapSequence => quote!(#courier::shm::BitmapSequence),
            IdlType::Gfx(gfx) => {
                let name = quote::format_ident!("{}", gfx.name());
                quote!(#courier::gfx::#name)
            }
            IdlType::User { path } => self.user_type(path, span)?,
        })
    }

    /// The mapping of `name`, the last one given: the type, and how it was
    /// written.
    fn mapping(&self, name: &str) -> Option<(&syn::Type, &str)> {
        self.mapped
            .iter()
            .rev()
            .find(|(mapped, _, _)| mapped == name)
            .map(|(_, ty, written)| (ty, written.as_str()))
    }

    /// A mapped user type, or `super::Path::As::Written`. A template
    /// (`RefPtr<Media::VideoSurface>`) mapped as a whole takes its mapping;
    /// else its name (`RefPtr`) is mapped or written as a path, and gets the
    /// arguments: `super::RefPtr<super::Media::VideoSurface>`.
    fn user_type(&self, path: &str, span: Span) -> Result<TokenStream, CodegenError> {
        if let Some((ty, _)) = self.mapping(path) {
            return Ok(quote!(#ty));
        }
        if let Some((name, args)) = types::user_template(path) {
            return self.user_template(path, name, &args, span);
        }
        self.user_path(path, span)
    }

    /// `super::Path::As::Written`.
    fn user_path(&self, path: &str, span: Span) -> Result<TokenStream, CodegenError> {
        let segments = path
            .split("::")
            .map(|segment| {
                names::ident(segment).map_err(|e| CodegenError::InvalidName {
                    context: format!("user type {path}"),
                    reason: e.0,
                    span,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(quote!(super #(:: #segments)*))
    }

    /// A user template not mapped as a whole: its name's mapping or path,
    /// with the arguments in angle brackets.
    fn user_template(
        &self,
        path: &str,
        name: &str,
        args: &[UserTemplateArg],
        span: Span,
    ) -> Result<TokenStream, CodegenError> {
        let args = args
            .iter()
            .map(|arg| match arg {
                UserTemplateArg::Type(ty) => self.rust_type(ty, span),
                UserTemplateArg::Const(value) => {
                    Ok(Literal::u64_unsuffixed(*value).into_token_stream())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let name = name.trim().trim_start_matches("::");
        let Some((mapped, written)) = self.mapping(name) else {
            let base = self.user_path(name, span)?;
            return Ok(quote!(#base<#(#args),*>));
        };
        let takes_arguments = matches!(
            mapped,
            syn::Type::Path(syn::TypePath { qself: None, path })
                if path.segments.last().is_some_and(|s| s.arguments.is_none())
        );
        if !takes_arguments {
            return Err(CodegenError::InvalidName {
                context: format!("user type {path}"),
                reason: format!(
                    "its template `{name}` is mapped to `{written}`, which cannot take the \
                     arguments; map `{name}` to a path without `<...>`, or map `{path}` as a whole"
                ),
                span,
            });
        }
        Ok(quote!(#mapped<#(#args),*>))
    }
}

#[cfg(test)]
mod tests {
    use courier_idl::types::GfxType;

    use super::*;

    fn render(ty: IdlType, options: &Options) -> String {
        let rust = RustTypes::new(options)
            .unwrap()
            .rust_type(&ty, Span::default())
            .unwrap();
        let ty: syn::Type = syn::parse2(rust).unwrap();
        quote!(#ty).to_string()
    }

    fn b(t: IdlType) -> Box<IdlType> {
        Box::new(t)
    }

    #[test]
    fn the_table() {
        let options = Options::new();
        let cases = [
            (IdlType::Bool, "bool"),
            (IdlType::U64, "u64"),
            (IdlType::F32, "f32"),
            (IdlType::String, ":: std :: string :: String"),
            (IdlType::ByteString, ":: courier :: ByteString"),
            (IdlType::Bytes, ":: std :: vec :: Vec < u8 >"),
            (
                IdlType::HashMap(b(IdlType::String), b(IdlType::Vector(b(IdlType::I32)))),
                ":: std :: collections :: HashMap < :: std :: string :: String , :: std :: vec :: Vec < i32 > >",
            ),
            (
                IdlType::OrderedHashMap(b(IdlType::U8), b(IdlType::Bool)),
                ":: std :: vec :: Vec < (u8 , bool) >",
            ),
            (
                IdlType::Optional(b(IdlType::File)),
                ":: std :: option :: Option < :: std :: os :: fd :: OwnedFd >",
            ),
            (
                IdlType::Variant(vec![
                    IdlType::I32,
                    IdlType::Gfx(GfxType::Color),
                    IdlType::Bool,
                ]),
                ":: courier :: Variant3 < i32 , :: courier :: gfx :: Color , bool >",
            ),
            (IdlType::Array(b(IdlType::U8), 4), "[u8 ; 4]"),
            (IdlType::SharedBuffer, ":: courier :: shm :: SharedBuffer"),
            (IdlType::Bitmap, ":: courier :: shm :: ShareableBitmap"),
            (
                IdlType::BitmapSequence,
                ":: courier :: shm :: BitmapSequence",
            ),
            (
                IdlType::Gfx(GfxType::FloatRect),
                ":: courier :: gfx :: FloatRect",
            ),
            (
                IdlType::User {
                    path: "Web::Cookie::Cookie".to_string(),
                },
                "super :: Web :: Cookie :: Cookie",
            ),
            (
                IdlType::User {
                    path: "Thing".to_string(),
                },
                "super :: Thing",
            ),
        ];
        for (ty, expected) in cases {
            assert_eq!(render(ty.clone(), &options), expected, "{ty}");
        }
    }

    #[test]
    fn mapped_types_and_courier_path() {
        let mut options = Options::new();
        options
            .map_type("::URL::URL", "url::Url")
            .map_type("Web::Cookie::Cookie", "crate::old::Cookie")
            .map_type("Web::Cookie::Cookie", "crate::cookie::Cookie")
            .courier_path("crate::rt");
        let user = |path: &str| IdlType::User {
            path: path.to_string(),
        };
        assert_eq!(render(user("URL::URL"), &options), "url :: Url");
        assert_eq!(
            render(user("Web::Cookie::Cookie"), &options),
            "crate :: cookie :: Cookie"
        );
        assert_eq!(
            render(IdlType::ByteString, &options),
            "crate :: rt :: ByteString"
        );
    }

    #[test]
    fn user_templates_take_their_arguments() {
        let user = |path: &str| IdlType::User {
            path: path.to_string(),
        };
        let options = Options::new();
        assert_eq!(
            render(user("NonnullRefPtr<Web::Painting::DisplayList>"), &options),
            "super :: NonnullRefPtr < super :: Web :: Painting :: DisplayList >"
        );
        assert_eq!(
            render(user("Ring<Vector<i32>, 16>"), &options),
            "super :: Ring < :: std :: vec :: Vec < i32 > , 16 >"
        );

        let mut options = Options::new();
        options
            // A template's name: every instance, its arguments appended.
            .map_type("RefPtr", "::std::sync::Arc")
            // One instance as a whole, written with other spacing.
            .map_type("::RefPtr< Media::VideoSurface >", "crate::Surface")
            .map_type("Media::VideoFrame", "crate::Frame");
        assert_eq!(
            render(user("RefPtr<Media::VideoSurface>"), &options),
            "crate :: Surface"
        );
        assert_eq!(
            render(user("RefPtr<Optional<Media::VideoFrame>>"), &options),
            ":: std :: sync :: Arc < :: std :: option :: Option < crate :: Frame > >"
        );

        let mut options = Options::new();
        options.map_type("RefPtr", "crate::Ptr<u8>");
        let error = RustTypes::new(&options)
            .unwrap()
            .rust_type(&user("RefPtr<Thing>"), Span::default())
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "user type RefPtr<Thing>: its template `RefPtr` is mapped to `crate::Ptr<u8>`, \
             which cannot take the arguments; map `RefPtr` to a path without `<...>`, or map \
             `RefPtr<Thing>` as a whole"
        );
    }

    #[test]
    fn invalid_paths_are_reported() {
        let mut options = Options::new();
        options.map_type("URL::URL", "not a path");
        assert_eq!(
            RustTypes::new(&options).err().unwrap().to_string(),
            "map_type(\"URL::URL\"): `not a path` is not a Rust path; write one such as `crate::module::Type`"
        );
        let mut options = Options::new();
        options.courier_path("::");
        assert_eq!(
            RustTypes::new(&options).err().unwrap().to_string(),
            "courier_path: `::` is not a Rust path; write one such as `crate::module::Type`"
        );
    }
}
