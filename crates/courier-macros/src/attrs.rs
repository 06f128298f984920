//! What the derives read from the input: `#[courier(...)]`, `#[repr(...)]`,
//! and the shape of the type, with every mistake collected.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Generics, Ident, LitStr, Path, TypeParamBound};

/// Collects errors so that one build reports all of them.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// `Err` with every error combined, or `Ok` when there were none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        let mut errors = self.errors.into_iter();
        let Some(mut first) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            first.combine(error);
        }
        Err(first)
    }
}

/// The integer types a fieldless enum may be encoded as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Repr {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
}

impl Repr {
    fn from_ident(ident: &Ident) -> Option<Repr> {
        Some(match ident.to_string().as_str() {
            "u8" => Repr::U8,
            "i8" => Repr::I8,
            "u16" => Repr::U16,
            "i16" => Repr::I16,
            "u32" => Repr::U32,
            "i32" => Repr::I32,
            "u64" => Repr::U64,
            "i64" => Repr::I64,
            _ => return None,
        })
    }

    /// The Rust type of the discriminant on the wire.
    pub(crate) fn ty(self) -> TokenStream {
        match self {
            Repr::U8 => quote!(u8),
            Repr::I8 => quote!(i8),
            Repr::U16 => quote!(u16),
            Repr::I16 => quote!(i16),
            Repr::U32 => quote!(u32),
            Repr::I32 => quote!(i32),
            Repr::U64 => quote!(u64),
            Repr::I64 => quote!(i64),
        }
    }

    /// An expression turning `value` (of type [`Repr::ty`]) into the `u64`
    /// of `InvalidTag`: the raw bits of the wire value, zero-extended.
    pub(crate) fn to_tag(self, value: &Ident) -> TokenStream {
        match self {
            Repr::U8 | Repr::U16 | Repr::U32 => quote!(::core::convert::From::from(#value)),
            Repr::U64 => quote!(#value),
            Repr::I8 => quote!(::core::convert::From::from(#value as u8)),
            Repr::I16 => quote!(::core::convert::From::from(#value as u16)),
            Repr::I32 => quote!(::core::convert::From::from(#value as u32)),
            Repr::I64 => quote!(#value as u64),
        }
    }
}

/// A parsed derive input.
pub(crate) struct Container<'a> {
    pub(crate) input: &'a DeriveInput,
    /// `#[courier(crate = "...")]`.
    pub(crate) crate_path: Option<Path>,
    /// The integer `#[repr]`, when there is one.
    pub(crate) repr: Option<Repr>,
}

impl<'a> Container<'a> {
    /// Reads the attributes and checks the shape; `trait_name` is `Encode` or
    /// `Decode`, for messages.
    pub(crate) fn parse(input: &'a DeriveInput, trait_name: &str) -> syn::Result<Container<'a>> {
        let mut errors = Errors::default();
        let mut crate_path = None;
        let mut repr = None;
        for attr in &input.attrs {
            if attr.path().is_ident("courier") {
                parse_courier_attr(attr, &mut crate_path, &mut errors);
            } else if attr.path().is_ident("repr") {
                parse_repr_attr(attr, &mut repr, &mut errors);
            }
        }
        match &input.data {
            Data::Union(data) => errors.push(syn::Error::new(
                data.union_token.span(),
                format!(
                    "courier cannot derive `{trait_name}` for a union: the wire has no way to say \
                     which field is set; use an enum or write the impl by hand"
                ),
            )),
            Data::Struct(data) => reject_field_attrs(&data.fields, &mut errors),
            Data::Enum(data) => {
                for variant in &data.variants {
                    reject_courier_attrs(&variant.attrs, "variants", &mut errors);
                    reject_field_attrs(&variant.fields, &mut errors);
                }
                let has_data = data
                    .variants
                    .iter()
                    .any(|v| !matches!(v.fields, Fields::Unit));
                if has_data && data.variants.len() > 256 {
                    errors.push(syn::Error::new(
                        input.ident.span(),
                        format!(
                            "enum `{}` has {} variants but an enum with data is encoded with a \
                             u8 index, so it may have at most 256",
                            input.ident,
                            data.variants.len()
                        ),
                    ));
                }
            }
        }
        errors.finish()?;
        Ok(Container {
            input,
            crate_path,
            repr,
        })
    }

    /// Wraps `items` so that they reach courier as `_courier`.
    pub(crate) fn wrap(&self, items: TokenStream) -> TokenStream {
        let import = match &self.crate_path {
            Some(path) => quote!(use #path as _courier;),
            None => quote!(
                use ::courier as _courier;
            ),
        };
        quote! {
            #[doc(hidden)]
            #[allow(non_upper_case_globals, unused_qualifications)]
            const _: () = {
                #import
                #items
            };
        }
    }

    /// The input's generics with `bound` added to every type parameter.
    pub(crate) fn bounded_generics(&self, bound: TypeParamBound) -> Generics {
        let mut generics = self.input.generics.clone();
        for param in generics.type_params_mut() {
            param.bounds.push(bound.clone());
        }
        generics
    }

    /// The type's name as a string literal, for `InvalidTag`.
    pub(crate) fn name_literal(&self) -> LitStr {
        LitStr::new(&self.input.ident.to_string(), self.input.ident.span())
    }
}

fn parse_courier_attr(attr: &Attribute, crate_path: &mut Option<Path>, errors: &mut Errors) {
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("crate") {
            let literal: LitStr = meta.value()?.parse()?;
            let path: Path = literal.parse().map_err(|_| {
                syn::Error::new(
                    literal.span(),
                    format!("`{}` is not a path; write `crate = \"::courier\"`", literal.value()),
                )
            })?;
            if crate_path.is_some() {
                return Err(meta.error("`crate` is given twice; keep one"));
            }
            *crate_path = Some(path);
            Ok(())
        } else {
            let name = meta.path.to_token_stream().to_string().replace(' ', "");
            Err(meta.error(format!(
                "unknown courier attribute `{name}`; the only one is `crate = \"path::to::courier\"`"
            )))
        }
    });
    if let Err(error) = result {
        errors.push(error);
    }
}

fn parse_repr_attr(attr: &Attribute, repr: &mut Option<Repr>, errors: &mut Errors) {
    let result = attr.parse_nested_meta(|meta| {
        if let Some(ident) = meta.path.get_ident() {
            if let Some(found) = Repr::from_ident(ident) {
                *repr = Some(found);
            } else if ident == "usize" || ident == "isize" {
                errors.spanned(
                    ident,
                    format!(
                        "courier encodes enums with a fixed-width integer, and `{ident}` changes \
                         width with the platform; use `#[repr(u64)]` or `#[repr(i64)]`"
                    ),
                );
            }
        }
        // `C`, `transparent`, `packed`, `align(N)`...: nothing to do with the wire.
        if meta.input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in meta.input);
            content.parse::<TokenStream>()?;
        }
        Ok(())
    });
    if let Err(error) = result {
        errors.push(error);
    }
}

fn reject_field_attrs(fields: &Fields, errors: &mut Errors) {
    for field in fields {
        reject_courier_attrs(&field.attrs, "fields", errors);
    }
}

fn reject_courier_attrs(attrs: &[Attribute], place: &str, errors: &mut Errors) {
    for attr in attrs {
        if attr.path().is_ident("courier") {
            errors.spanned(
                attr,
                format!(
                    "`#[courier(...)]` is not supported on {place}; it only goes on the type \
                     (`#[courier(crate = \"...\")]`)"
                ),
            );
        }
    }
}

/// One field as the generated code refers to it.
pub(crate) struct FieldRef {
    /// `self.x` / `self.0` access, or the binding in a match arm.
    pub(crate) access: TokenStream,
    /// The name a pattern binds it to (`__f0`...).
    pub(crate) binding: Ident,
    /// The path segment in decode errors.
    pub(crate) path_segment: String,
    /// The member (`x` or `0`), for struct-expression construction.
    pub(crate) member: syn::Member,
}

/// The fields of a struct or variant, in declaration order. `prefix` goes
/// before each error path segment (`Variant.`), and a lone tuple field of a
/// variant is named after the variant alone.
pub(crate) fn field_refs(fields: &Fields, variant: Option<&Ident>) -> Vec<FieldRef> {
    let lone_tuple_field = matches!(fields, Fields::Unnamed(f) if f.unnamed.len() == 1);
    fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let member = match &field.ident {
                Some(ident) => syn::Member::Named(ident.clone()),
                None => syn::Member::Unnamed(syn::Index {
                    index: index as u32,
                    span: field.span(),
                }),
            };
            let own_name = match &field.ident {
                Some(ident) => ident.to_string(),
                None => index.to_string(),
            };
            let path_segment = match variant {
                Some(variant) if lone_tuple_field => variant.to_string(),
                Some(variant) => format!("{variant}.{own_name}"),
                None => own_name,
            };
            let binding = Ident::new(&format!("__f{index}"), Span::call_site());
            FieldRef {
                access: quote!(self.#member),
                binding,
                path_segment,
                member,
            }
        })
        .collect()
}

/// A pattern or constructor for `fields` using `items` for each field
/// (`(a, b)` for tuple fields, `{ x: a, y: b }` for named ones).
pub(crate) fn fields_shape(
    fields: &Fields,
    refs: &[FieldRef],
    items: &[TokenStream],
) -> TokenStream {
    match fields {
        Fields::Unit => quote!(),
        Fields::Unnamed(_) => quote!((#(#items),*)),
        Fields::Named(_) => {
            let members = refs.iter().map(|r| &r.member);
            quote!({ #(#members: #items),* })
        }
    }
}
