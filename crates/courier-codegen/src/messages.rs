//! Message structs and their `Encode`, `Decode`, `Message` and `Request` impls.

use proc_macro2::TokenStream;
use quote::quote;

use crate::docs;
use crate::model::{EndpointModel, FieldModel, MessageModel, StructModel};
use crate::names;

/// The request (or one-way message) struct and the response struct of one
/// declaration, with their impls.
pub(crate) fn emit(
    endpoint: &EndpointModel,
    message: &MessageModel,
    courier: &TokenStream,
) -> TokenStream {
    let request = &message.request;
    let mut request_docs = docs::ipc_comments(&message.docs);
    let kind = match &message.response {
        Some(response) => format!(
            "Request {} of `{}`, answered by {}.",
            request.id,
            endpoint.written,
            docs::struct_link(&response.ident)
        ),
        None => format!(
            "One-way message {} of `{}`: no response.",
            request.id, endpoint.written
        ),
    };
    request_docs.push_paragraph(kind);
    request_docs.push_paragraph(format!("`{}`", message.declaration));

    let mut out = emit_struct(endpoint, request, &request_docs, courier);
    if let Some(response) = &message.response {
        let request_ident = &request.ident;
        let mut response_docs = docs::Docs::default();
        response_docs.push_paragraph(format!(
            "The response to {}: message {} of `{}`.",
            docs::struct_link(request_ident),
            response.id,
            endpoint.written
        ));
        out.extend(emit_struct(endpoint, response, &response_docs, courier));
        let response_ident = &response.ident;
        out.extend(quote! {
            impl #courier::Request for #request_ident {
                type Response = #response_ident;
            }
        });
    }
    out
}

fn emit_struct(
    endpoint: &EndpointModel,
    model: &StructModel,
    struct_docs: &docs::Docs,
    courier: &TokenStream,
) -> TokenStream {
    let ident = &model.ident;
    let doc_attrs = struct_docs.attrs();
    let alias = docs::alias(&model.name, ident);
    let derives = if model.is_plain() {
        quote!(#[derive(Clone, Debug, PartialEq)])
    } else {
        quote!(#[derive(Debug)])
    };
    let definition = if model.fields.is_empty() {
        quote!(pub struct #ident;)
    } else {
        let fields = model.fields.iter().map(emit_field);
        quote!(pub struct #ident { #(#fields,)* })
    };
    let encode = emit_encode(model, courier);
    let decode = emit_decode(model, courier);
    let marker = &endpoint.marker;
    let id_const = &model.id_const;
    let name = &model.name;
    quote! {
        #doc_attrs
        #alias
        #derives
        #definition

        #encode
        #decode

        impl #courier::Message for #ident {
            type Endpoint = #marker;
            const ID: u32 = ids::#id_const;
            const NAME: &'static str = #name;
        }
    }
}

fn emit_field(field: &FieldModel) -> TokenStream {
    let ident = &field.ident;
    let ty = &field.rust;
    let mut field_docs = docs::Docs::default();
    field_docs.push_paragraph(format!("`{}`", field.declaration));
    let doc_attrs = field_docs.attrs();
    let alias = docs::alias(&field.written, ident);
    quote! {
        #doc_attrs
        #alias
        pub #ident: #ty
    }
}

fn emit_encode(model: &StructModel, courier: &TokenStream) -> TokenStream {
    let ident = &model.ident;
    if model.fields.is_empty() {
        return quote! {
            impl #courier::Encode for #ident {
                fn encode(
                    &self,
                    _encoder: &mut #courier::Encoder,
                ) -> ::std::result::Result<(), #courier::EncodeError> {
                    ::std::result::Result::Ok(())
                }
            }
        };
    }
    let fields = model.fields.iter().map(|f| &f.ident);
    quote! {
        impl #courier::Encode for #ident {
            fn encode(
                &self,
                encoder: &mut #courier::Encoder,
            ) -> ::std::result::Result<(), #courier::EncodeError> {
                #(encoder.encode(&self.#fields)?;)*
                ::std::result::Result::Ok(())
            }
        }
    }
}

fn emit_decode(model: &StructModel, courier: &TokenStream) -> TokenStream {
    let ident = &model.ident;
    if model.fields.is_empty() {
        return quote! {
            impl #courier::Decode for #ident {
                fn decode(
                    _decoder: &mut #courier::Decoder<'_>,
                ) -> ::std::result::Result<Self, #courier::DecodeError> {
                    ::std::result::Result::Ok(#ident)
                }
            }
        };
    }
    let struct_name = names::unraw(ident);
    let fields = model.fields.iter().map(|field| {
        let field_ident = &field.ident;
        let field_name = names::unraw(field_ident);
        quote!(#field_ident: decoder.decode_field(#field_name).map_err(in_message)?)
    });
    quote! {
        impl #courier::Decode for #ident {
            fn decode(
                decoder: &mut #courier::Decoder<'_>,
            ) -> ::std::result::Result<Self, #courier::DecodeError> {
                let in_message = |error: #courier::DecodeError| error.in_field(#struct_name);
                ::std::result::Result::Ok(#ident { #(#fields,)* })
            }
        }
    }
}
