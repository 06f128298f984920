//! One module per endpoint: the marker type and its `Endpoint` impl, the
//! magic, the ids, the message enum; the message structs come from
//! [`crate::messages`].

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::client::{self, Flavour};
use crate::docs::{self, Docs};
use crate::messages;
use crate::model::EndpointModel;
use crate::{handler, sender};

/// `pub mod <endpoint> { ... }`, with `async_items` (the async client, or a
/// placeholder for it) inside `courier::__tokio_only! { .. }`.
pub(crate) fn emit(
    endpoint: &EndpointModel,
    courier: &TokenStream,
    async_items: TokenStream,
) -> TokenStream {
    let module = &endpoint.module;
    let written = &endpoint.written;
    let marker = &endpoint.marker;
    let message_enum = &endpoint.message_enum;
    let handler_trait = &endpoint.handler_trait;
    let client = &endpoint.client;
    let async_client = &endpoint.async_client;
    let sender_trait = &endpoint.sender_trait;

    let mut module_docs = docs::ipc_comments(&endpoint.docs);
    // Outer docs of a module resolve links in the parent module.
    module_docs.push_paragraph(format!(
        "The `{written}` endpoint: [`{marker}`]({module}::{marker}) implements `Endpoint`, \
         [`{message_enum}`]({module}::{message_enum}) holds any message a peer sends to it, and \
         each message has its struct. To serve it, implement \
         [`{handler_trait}`]({module}::{handler_trait}); to call it, use \
         [`{client}`]({module}::{client}) (or `{async_client}` on tokio); to send its one-way \
         messages through any connection or server handle, [`{sender_trait}`]({module}::{sender_trait})."
    ));
    if let Some((ty, name)) = &endpoint.routing {
        module_docs.push_paragraph(format!(
            "The `.ipc` file routes this endpoint by `{name}` (`routed by {ty} {name}`): a \
             message that carries the parameter `{name}` is meant for the object it names, \
             unless it is marked `[NotRouted]`. The wire does not change, and each handler \
             method receives `{name}` as the parameter it is."
        ));
    }
    let module_docs = module_docs.attrs();

    let mut marker_docs = Docs::default();
    marker_docs.push_paragraph(format!(
        "The `{written}` endpoint, as a type: the receiver of [`{message_enum}`]."
    ));
    let marker_docs = marker_docs.attrs();
    let marker_alias = docs::alias(written, marker);

    let magic = Literal::u32_unsuffixed(endpoint.magic);
    let magic_doc = if endpoint.explicit_magic {
        format!(
            " The magic of `{written}`, as its `.ipc` file writes it (`endpoint {written} = ...`)."
        )
    } else {
        format!(
            " The magic of `{written}`: the Jenkins one-at-a-time hash of its name, as in SerenityOS."
        )
    };
    // In hex, as `docs/wire-format.md` and the handshake's errors show it.
    let fingerprint = syn::LitInt::new(
        &format!("0x{:016x}", endpoint.fingerprint),
        proc_macro2::Span::call_site(),
    );
    let fingerprint_doc = format!(
        " The interface fingerprint of `{written}`: a hash of its magic and of each message's \
         id, name, kind and types (`courier_idl::fingerprint`). The handshake compares it, so \
         that programs built from different versions of the `.ipc` file refuse each other."
    );
    let ids = emit_ids(endpoint);
    let structs = endpoint
        .messages
        .iter()
        .map(|m| messages::emit(endpoint, m, courier));
    let message_enum_tokens = emit_message_enum(endpoint, courier);
    let endpoint_impl = emit_endpoint_impl(endpoint, courier);
    let handler = handler::emit(endpoint, courier);
    let client = client::emit(endpoint, courier, Flavour::Blocking);
    let sender = sender::emit(endpoint, courier);

    // An interface declares more than any one program uses (a client never
    // builds the server's responses), which in a private module would be dead
    // code: allowed, so that including an interface never warns.
    //
    // `clippy::pedantic` is allowed too: a user crate that warns on it
    // (`#![warn(clippy::pedantic)]`) would otherwise get warnings it cannot
    // fix, in a file it does not own, about choices the `.ipc` file or the
    // wire format makes: `must_use_candidate` on every accessor, `doc_markdown`
    // on names quoted from the `.ipc` comments, `module_name_repetitions` on
    // `WindowServerClient` in `window_server`, `needless_pass_by_value` on
    // handler methods that take their parameters by value, and whatever
    // pedantic lints later toolchains add. The default lints stay on: the
    // generated code keeps them clean itself.
    quote! {
        #module_docs
        #[allow(dead_code, clippy::pedantic)]
        pub mod #module {
            #marker_docs
            #marker_alias
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            pub struct #marker;

            #[doc = #magic_doc]
            pub const MAGIC: u32 = #magic;

            #[doc = #fingerprint_doc]
            pub const FINGERPRINT: u64 = #fingerprint;

            #ids

            #(#structs)*

            #message_enum_tokens

            #endpoint_impl

            #handler

            #client

            #courier::__tokio_only! {
                #async_items
            }

            #sender
        }
    }
}

fn emit_ids(endpoint: &EndpointModel) -> TokenStream {
    let doc = format!(
        " The message ids of `{}`: from 1 in declaration order, a request `n` and its response `n + 1`.",
        endpoint.written
    );
    let consts = endpoint.structs().map(|s| {
        let ident = &s.id_const;
        let id = Literal::u32_unsuffixed(s.id);
        let doc = format!(" The id of [`{}`](super::{}).", s.name, s.ident);
        quote! {
            #[doc = #doc]
            pub const #ident: u32 = #id;
        }
    });
    quote! {
        #[doc = #doc]
        pub mod ids {
            #(#consts)*
        }
    }
}

fn emit_message_enum(endpoint: &EndpointModel, courier: &TokenStream) -> TokenStream {
    let written = &endpoint.written;
    let message_enum = &endpoint.message_enum;
    let requests: Vec<_> = endpoint.messages.iter().map(|m| &m.request).collect();
    let variants = requests.iter().map(|r| {
        let ident = &r.ident;
        let doc = format!(" {} (id {}).", docs::struct_link(ident), r.id);
        quote! {
            #[doc = #doc]
            #ident(#ident)
        }
    });
    let enum_doc = format!(
        " Any message a peer may send to `{written}`: its requests and one-way messages \
         (responses are decoded by the caller that waits for them)."
    );
    let derives = if requests.iter().all(|r| r.is_plain()) {
        quote!(#[derive(Clone, Debug, PartialEq)])
    } else {
        quote!(#[derive(Debug)])
    };
    let idents: Vec<_> = requests.iter().map(|r| &r.ident).collect();
    let id_consts = requests.iter().map(|r| &r.id_const);
    let names = requests.iter().map(|r| &r.name);

    let (id_body, name_body, encode_body, encoder_arg) = if requests.is_empty() {
        (
            quote!(match *self {}),
            quote!(match *self {}),
            quote!(match *self {}),
            quote!(_encoder),
        )
    } else {
        (
            quote!(match self { #(Self::#idents(_) => ids::#id_consts,)* }),
            quote!(match self { #(Self::#idents(_) => #names,)* }),
            quote!(match self { #(Self::#idents(message) => encoder.encode(message),)* }),
            quote!(encoder),
        )
    };
    let from_impls = idents.iter().map(|ident| {
        quote! {
            impl ::std::convert::From<#ident> for #message_enum {
                fn from(message: #ident) -> #message_enum {
                    #message_enum::#ident(message)
                }
            }
        }
    });
    // Each variant holds its message by value: boxing the large ones would cost
    // an allocation per message. The variants are named after the messages of
    // the `.ipc` file, so they may share a prefix. (Both lints fire when the
    // enum is not exported.)
    quote! {
        #[doc = #enum_doc]
        #derives
        #[allow(clippy::large_enum_variant, clippy::enum_variant_names)]
        pub enum #message_enum {
            #(#variants,)*
        }

        impl #message_enum {
            /// The message's id.
            pub fn id(&self) -> u32 {
                #id_body
            }

            /// The message's name as written in the `.ipc` file.
            pub fn name(&self) -> &'static str {
                #name_body
            }
        }

        #(#from_impls)*

        impl #courier::Encode for #message_enum {
            /// Encodes the body of the message held (not its id).
            fn encode(
                &self,
                #encoder_arg: &mut #courier::Encoder,
            ) -> ::std::result::Result<(), #courier::EncodeError> {
                #encode_body
            }
        }
    }
}

fn emit_endpoint_impl(endpoint: &EndpointModel, courier: &TokenStream) -> TokenStream {
    let written = &endpoint.written;
    let marker = &endpoint.marker;
    let message_enum = &endpoint.message_enum;
    let unknown = quote! {
        ::std::result::Result::Err(#courier::DecodeError::new(
            #courier::codec::DecodeErrorKind::UnknownMessage { endpoint: #written, id },
        ))
    };
    let mut decode_arms = Vec::new();
    let mut name_arms = Vec::new();
    for message in &endpoint.messages {
        let request = &message.request;
        let (ident, id_const, name) = (&request.ident, &request.id_const, &request.name);
        decode_arms.push(quote! {
            ids::#id_const => <#ident as #courier::Decode>::decode(decoder).map(#message_enum::#ident)
        });
        name_arms.push(quote!(ids::#id_const => ::std::option::Option::Some(#name)));
        if let Some(response) = &message.response {
            let (id_const, name) = (&response.id_const, &response.name);
            decode_arms.push(quote! {
                ids::#id_const => ::std::result::Result::Err(#courier::DecodeError::new(
                    #courier::codec::DecodeErrorKind::UnexpectedResponse {
                        endpoint: #written,
                        id,
                        name: #name,
                    },
                ))
            });
            name_arms.push(quote!(ids::#id_const => ::std::option::Option::Some(#name)));
        }
    }
    let (decoder_arg, decode_body) = if decode_arms.is_empty() {
        (quote!(_decoder), unknown)
    } else {
        (
            quote!(decoder),
            quote!(match id { #(#decode_arms,)* _ => #unknown, }),
        )
    };
    let (id_arg, name_body) = if name_arms.is_empty() {
        (quote!(_id), quote!(::std::option::Option::None))
    } else {
        (
            quote!(id),
            quote!(match id { #(#name_arms,)* _ => ::std::option::Option::None, }),
        )
    };
    let definition = definition_literal(&endpoint.definition);
    quote! {
        impl #courier::Endpoint for #marker {
            const NAME: &'static str = #written;
            const MAGIC: u32 = MAGIC;
            const DEFINITION: &'static str = #definition;
            const FINGERPRINT: u64 = FINGERPRINT;
            type Message = #message_enum;

            fn decode_message(
                id: u32,
                #decoder_arg: &mut #courier::Decoder<'_>,
            ) -> ::std::result::Result<Self::Message, #courier::DecodeError> {
                #decode_body
            }

            fn message_name(#id_arg: u32) -> ::std::option::Option<&'static str> {
                #name_body
            }
        }
    }
}

/// `text` as a string literal: a raw string over several lines, so that the
/// generated file shows the interface as it reads, unless the text holds a
/// carriage return (not allowed bare in a raw string) or cannot be read back
/// as one, in which case an ordinary escaped string.
fn definition_literal(text: &str) -> Literal {
    if !text.contains('\r') {
        let mut hashes = String::from("#");
        while text.contains(&format!("\"{hashes}")) {
            hashes.push('#');
        }
        if let Ok(raw) = format!("r{hashes}\"{text}\"{hashes}").parse::<Literal>() {
            return raw;
        }
    }
    Literal::string(text)
}

#[cfg(test)]
mod tests {
    use super::definition_literal;

    /// The literal's value, read back by `syn`.
    fn value(text: &str) -> String {
        let literal = definition_literal(text);
        let parsed: syn::LitStr = syn::parse2(quote::quote!(#literal)).expect("a string literal");
        parsed.value()
    }

    #[test]
    fn definitions_survive_any_quotes_and_line_breaks() {
        for text in [
            "",
            "endpoint A\n{\n}\n",
            "// a \"quoted\" word\n",
            "// \"# and \"## inside\n",
            "// a\rcarriage return\n",
            "// back\\slash\n",
        ] {
            assert_eq!(value(text), text);
        }
        assert!(definition_literal("x\n").to_string().starts_with("r#\""));
        assert!(definition_literal("\"#").to_string().starts_with("r##\""));
        assert!(definition_literal("\r").to_string().starts_with('"'));
    }
}
