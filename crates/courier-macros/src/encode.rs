//! `#[derive(Encode)]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DataEnum, DeriveInput, Fields, parse_quote};

use crate::attrs::{Container, Repr, field_refs, fields_shape};

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let container = Container::parse(input, "Encode")?;
    let body = match &input.data {
        Data::Struct(data) => encode_struct(&data.fields),
        Data::Enum(data) if is_fieldless(data) => encode_fieldless_enum(&container, data),
        Data::Enum(data) => encode_data_enum(data),
        Data::Union(_) => unreachable!("Container::parse refuses unions"),
    };
    let ident = &input.ident;
    let generics = container.bounded_generics(parse_quote!(_courier::Encode));
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let checks = discriminant_checks(&container);
    Ok(container.wrap(quote! {
        #checks
        #[automatically_derived]
        impl #impl_generics _courier::Encode for #ident #ty_generics #where_clause {
            fn encode(
                &self,
                __encoder: &mut _courier::Encoder,
            ) -> ::core::result::Result<(), _courier::EncodeError> {
                #body
            }
        }
    }))
}

/// True when every variant is a unit variant (an empty enum too).
pub(crate) fn is_fieldless(data: &DataEnum) -> bool {
    data.variants
        .iter()
        .all(|v| matches!(v.fields, Fields::Unit))
}

fn encode_struct(fields: &Fields) -> TokenStream {
    let refs = field_refs(fields, None);
    if refs.is_empty() {
        return quote! {
            let _ = __encoder;
            ::core::result::Result::Ok(())
        };
    }
    let accesses = refs.iter().map(|r| &r.access);
    quote! {
        #( _courier::Encode::encode(&#accesses, __encoder)?; )*
        ::core::result::Result::Ok(())
    }
}

fn encode_fieldless_enum(container: &Container<'_>, data: &DataEnum) -> TokenStream {
    if data.variants.is_empty() {
        return quote! {
            let _ = __encoder;
            match *self {}
        };
    }
    let repr = container.repr.unwrap_or(Repr::I32).ty();
    let variants = data.variants.iter().map(|v| &v.ident);
    let variants_again = variants.clone();
    quote! {
        let __value: #repr = match self {
            #( Self::#variants => Self::#variants_again as #repr, )*
        };
        _courier::Encode::encode(&__value, __encoder)
    }
}

fn encode_data_enum(data: &DataEnum) -> TokenStream {
    let arms = data.variants.iter().enumerate().map(|(index, variant)| {
        let index = index as u8;
        let ident = &variant.ident;
        let refs = field_refs(&variant.fields, Some(ident));
        let bindings: Vec<TokenStream> = refs
            .iter()
            .map(|r| {
                let binding = &r.binding;
                quote!(#binding)
            })
            .collect();
        let pattern = fields_shape(&variant.fields, &refs, &bindings);
        quote! {
            Self::#ident #pattern => {
                _courier::Encode::encode(&#index, __encoder)?;
                #( _courier::Encode::encode(#bindings, __encoder)?; )*
            }
        }
    });
    quote! {
        match self {
            #( #arms )*
        }
        ::core::result::Result::Ok(())
    }
}

/// Without a `#[repr]`, a discriminant is an `isize`: check at compile time
/// that each fits the `i32` it is encoded as.
pub(crate) fn discriminant_checks(container: &Container<'_>) -> TokenStream {
    let Data::Enum(data) = &container.input.data else {
        return quote!();
    };
    if container.repr.is_some() || !is_fieldless(data) {
        return quote!();
    }
    let ident = &container.input.ident;
    let checks = data.variants.iter().map(|variant| {
        let name = &variant.ident;
        let message = format!(
            "the discriminant of `{ident}::{name}` does not fit the i32 courier encodes it as; \
             add an integer #[repr] such as #[repr(i64)]"
        );
        quote! {
            ::core::assert!(#ident::#name as i128 == #ident::#name as i32 as i128, #message);
        }
    });
    quote! {
        const _: () = { #( #checks )* };
    }
}
