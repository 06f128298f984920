//! The server side of an endpoint: the handler trait (`WindowServerHandler`,
//! one method per message) and the wrapper (`WindowServerService<T>`) that
//! implements `courier::Handler` for any implementation of it.
//!
//! The wrapper exists because of the orphan rules: generated code may not
//! write `impl<T: WindowServerHandler> courier::Handler<WindowServer> for T`,
//! a blanket impl of a foreign trait.

use proc_macro2::TokenStream;
use quote::quote;

use crate::docs::{self, Docs};
use crate::model::{EndpointModel, MessageModel};
use crate::signature::{self, Returns};

/// The handler trait, the service wrapper and its `Handler` impl.
pub(crate) fn emit(endpoint: &EndpointModel, courier: &TokenStream) -> TokenStream {
    let written = &endpoint.written;
    let handler_trait = &endpoint.handler_trait;
    let service = &endpoint.service;
    let marker = &endpoint.marker;
    let message_enum = &endpoint.message_enum;

    let mut trait_docs = Docs::default();
    trait_docs.push_paragraph(format!(
        "The server side of `{written}`: one method per message, called in the order the peer \
         sent them."
    ));
    trait_docs.push_paragraph(format!(
        "Implement it, then hand [`{service}`]`(handler)` to a connection's `serve` or `dispatch`, \
         or to a server. A request's method returns its result, or a `courier::HandlerError` \
         that the caller receives as `courier::Error::Remote`; a one-way message's method \
         returns nothing, since nobody waits for it."
    ));
    let trait_docs = trait_docs.attrs();
    let methods = endpoint
        .messages
        .iter()
        .map(|message| trait_method(message, courier));

    let mut service_docs = Docs::default();
    service_docs.push_paragraph(format!(
        "A [`{handler_trait}`] as a `courier::Handler<{marker}>`: decodes nothing itself, but \
         takes each [`{message_enum}`], calls the handler's method for it and turns the result \
         into the reply."
    ));
    let service_docs = service_docs.attrs();
    let service_field_doc = " The handler.";

    let forwards: Vec<TokenStream> = endpoint
        .messages
        .iter()
        .map(|message| forward_method(endpoint, message, courier))
        .collect();

    let arms: Vec<TokenStream> = endpoint
        .messages
        .iter()
        .map(|message| dispatch_arm(endpoint, message, courier))
        .collect();
    // An endpoint without messages has an empty enum: nothing to match.
    let body = quote!(match message { #(#arms)* });

    // The methods take the message's parameters, so an `.ipc` message with
    // many parameters (WindowServer's `create_window` has 21) makes a long signature;
    // their names come from the `.ipc` file and may read like conversions
    // (`to_*`, `from_*`, `into_*`) without being any.
    quote! {
        #trait_docs
        #[allow(clippy::too_many_arguments, clippy::wrong_self_convention)]
        pub trait #handler_trait {
            #(#methods)*
        }

        // A handler lent by reference or boxed is a handler too: a client
        // can keep its state and lend it to `dispatch`.
        #[allow(clippy::too_many_arguments, clippy::wrong_self_convention)]
        impl<T: self::#handler_trait + ?Sized> self::#handler_trait for &mut T {
            #(#forwards)*
        }

        #[allow(clippy::too_many_arguments, clippy::wrong_self_convention)]
        impl<T: self::#handler_trait + ?Sized> self::#handler_trait for ::std::boxed::Box<T> {
            #(#forwards)*
        }

        #service_docs
        #[derive(Clone, Debug, Default)]
        pub struct #service<T>(#[doc = #service_field_doc] pub T);

        impl<T: self::#handler_trait> #courier::Handler<self::#marker> for self::#service<T> {
            fn handle(&mut self, message: self::#message_enum) -> #courier::Reply {
                #body
            }
        }
    }
}

/// `fn create_window(&mut self, rect: IntRect, title: String) -> Result<i32, HandlerError>;`
fn trait_method(message: &MessageModel, courier: &TokenStream) -> TokenStream {
    let method = &message.method;
    let params = signature::params(message);
    let comma = if message.request.fields.is_empty() {
        quote!()
    } else {
        quote!(,)
    };
    let request = docs::struct_link(&message.request.ident);
    let alias = signature::method_alias(message);
    match Returns::of(message) {
        Some(returns) => {
            let docs = signature::method_docs(
                message,
                format!(
                    "Handles the request {request}: {}, or an error for the caller.",
                    returns.describe_for_handler()
                ),
            );
            let ty = returns.ty(false);
            quote! {
                #docs
                #alias
                fn #method(&mut self #comma #params)
                    -> ::std::result::Result<#ty, #courier::HandlerError>;
            }
        }
        None => {
            let docs =
                signature::method_docs(message, format!("Handles the one-way message {request}."));
            quote! {
                #docs
                #alias
                fn #method(&mut self #comma #params);
            }
        }
    }
}

/// The method of a forwarding impl (`&mut T`, `Box<T>`): calls `T`'s.
fn forward_method(
    endpoint: &EndpointModel,
    message: &MessageModel,
    courier: &TokenStream,
) -> TokenStream {
    let handler_trait = &endpoint.handler_trait;
    let method = &message.method;
    let params = signature::params(message);
    let comma = if message.request.fields.is_empty() {
        quote!()
    } else {
        quote!(,)
    };
    let args = message.request.fields.iter().map(|f| &f.ident);
    let returns = match Returns::of(message) {
        Some(returns) => {
            let ty = returns.ty(false);
            quote!(-> ::std::result::Result<#ty, #courier::HandlerError>)
        }
        None => TokenStream::new(),
    };
    quote! {
        fn #method(&mut self #comma #params) #returns {
            <T as self::#handler_trait>::#method(&mut **self #(, #args)*)
        }
    }
}

/// One arm of `handle`: call the trait method with the message's fields and
/// turn what it returns into the reply.
fn dispatch_arm(
    endpoint: &EndpointModel,
    message: &MessageModel,
    courier: &TokenStream,
) -> TokenStream {
    let handler_trait = &endpoint.handler_trait;
    let message_enum = &endpoint.message_enum;
    let variant = &message.request.ident;
    let method = &message.method;
    let (binding, args) = if message.request.fields.is_empty() {
        (quote!(_), Vec::new())
    } else {
        let args = message
            .request
            .fields
            .iter()
            .map(|field| {
                let ident = &field.ident;
                quote!(message.#ident)
            })
            .collect();
        (quote!(message), args)
    };
    // Fully qualified, so that a method of another trait with the same name
    // (`into`, `clone`) can never be picked instead.
    let call = quote!(<T as self::#handler_trait>::#method(&mut self.0 #(, #args)*));
    match Returns::of(message) {
        Some(returns) => {
            let value_to_response = returns.value_to_response();
            quote! {
                self::#message_enum::#variant(#binding) => {
                    #courier::Reply::from_result(#call #value_to_response)
                }
            }
        }
        None => quote! {
            self::#message_enum::#variant(#binding) => {
                #call;
                #courier::Reply::none()
            }
        },
    }
}
