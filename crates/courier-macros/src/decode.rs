//! `#[derive(Decode)]`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Data, DataEnum, DeriveInput, Fields, Ident, LitStr, parse_quote};

use crate::attrs::{Container, Repr, field_refs, fields_shape};
use crate::encode::{discriminant_checks, is_fieldless};

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let container = Container::parse(input, "Decode")?;
    let body = match &input.data {
        Data::Struct(data) => decode_fields(quote!(Self), &data.fields, None),
        Data::Enum(data) if is_fieldless(data) => decode_fieldless_enum(&container, data),
        Data::Enum(data) => decode_data_enum(&container, data),
        Data::Union(_) => unreachable!("Container::parse refuses unions"),
    };
    let ident = &input.ident;
    let generics = container.bounded_generics(parse_quote!(_courier::Decode));
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let checks = discriminant_checks(&container);
    Ok(container.wrap(quote! {
        #checks
        #[automatically_derived]
        impl #impl_generics _courier::Decode for #ident #ty_generics #where_clause {
            fn decode(
                __decoder: &mut _courier::Decoder<'_>,
            ) -> ::core::result::Result<Self, _courier::DecodeError> {
                #body
            }
        }
    }))
}

/// Decodes `fields` one after the other into `constructor` (`Self` or
/// `Self::Variant`), each error tagged with the field's path segment.
fn decode_fields(
    constructor: TokenStream,
    fields: &Fields,
    variant: Option<&Ident>,
) -> TokenStream {
    let refs = field_refs(fields, variant);
    if refs.is_empty() {
        let unit = match fields {
            Fields::Unit => quote!(#constructor),
            Fields::Unnamed(_) => quote!(#constructor()),
            Fields::Named(_) => quote!(#constructor {}),
        };
        return quote! {
            let _ = &__decoder;
            ::core::result::Result::Ok(#unit)
        };
    }
    let bindings: Vec<TokenStream> = refs
        .iter()
        .map(|r| {
            let binding = &r.binding;
            quote!(#binding)
        })
        .collect();
    let segments = refs
        .iter()
        .map(|r| LitStr::new(&r.path_segment, Span::call_site()));
    let shape = fields_shape(fields, &refs, &bindings);
    quote! {
        #( let #bindings = __decoder.decode_field(#segments)?; )*
        ::core::result::Result::Ok(#constructor #shape)
    }
}

fn invalid_tag(container: &Container<'_>, tag: TokenStream) -> TokenStream {
    let name = container.name_literal();
    quote! {
        ::core::result::Result::Err(_courier::DecodeError::new(
            _courier::codec::DecodeErrorKind::InvalidTag { tag: #tag, type_name: #name },
        ))
    }
}

fn decode_fieldless_enum(container: &Container<'_>, data: &DataEnum) -> TokenStream {
    let repr = container.repr.unwrap_or(Repr::I32);
    let ty = repr.ty();
    let value = Ident::new("__value", Span::call_site());
    let error = invalid_tag(container, repr.to_tag(&value));
    let variants = data.variants.iter().map(|v| &v.ident);
    let variants_again = variants.clone();
    quote! {
        let #value: #ty = _courier::Decode::decode(__decoder)?;
        #(
            if #value == Self::#variants as #ty {
                return ::core::result::Result::Ok(Self::#variants_again);
            }
        )*
        #error
    }
}

fn decode_data_enum(container: &Container<'_>, data: &DataEnum) -> TokenStream {
    let index = Ident::new("__index", Span::call_site());
    let error = invalid_tag(container, quote!(::core::convert::From::from(#index)));
    let arms = data.variants.iter().enumerate().map(|(position, variant)| {
        let position = position as u8;
        let ident = &variant.ident;
        let body = decode_fields(quote!(Self::#ident), &variant.fields, Some(ident));
        quote!(#position => { #body })
    });
    quote! {
        let #index: u8 = _courier::Decode::decode(__decoder)?;
        match #index {
            #( #arms )*
            _ => #error,
        }
    }
}
