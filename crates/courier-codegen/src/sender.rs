//! The sender trait of an endpoint (`WindowClientSender`): its one-way
//! messages as methods on anything implementing `courier::Sender` for it,
//! which is how a server's handler sends events to its client through a
//! `ClientHandle`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::docs::{self, Docs};
use crate::model::EndpointModel;
use crate::signature;

/// The trait and its blanket impl.
pub(crate) fn emit(endpoint: &EndpointModel, courier: &TokenStream) -> TokenStream {
    let written = &endpoint.written;
    let marker = &endpoint.marker;
    let sender_trait = &endpoint.sender_trait;

    let mut trait_docs = Docs::default();
    trait_docs.push_paragraph(format!(
        "The one-way messages of `{written}` as methods on anything that sends to `{written}`: \
         a connection whose peer is `{written}`, or a server's handle on such a client."
    ));
    trait_docs.push_paragraph(format!(
        "Implemented for every `courier::Sender<{marker}>`: bring it into scope and call \
         `handle.message(..)`. Each method returns once the sender took the message: written \
         to the socket by a blocking connection, queued for its task by a tokio connection or \
         a server's `ClientHandle`."
    ));
    let trait_docs = trait_docs.attrs();

    let methods = endpoint
        .messages
        .iter()
        .filter(|message| message.is_one_way())
        .map(|message| {
            let method = &message.method;
            let params = signature::sending_params(message);
            let build = signature::build_request(message);
            let alias = signature::method_alias(message);
            let docs = signature::method_docs(
                message,
                format!(
                    "Sends the one-way message {}.",
                    docs::struct_link(&message.request.ident)
                ),
            );
            let comma = if message.request.fields.is_empty() {
                quote!()
            } else {
                quote!(,)
            };
            quote! {
                #docs
                #alias
                fn #method(&self #comma #params) -> ::std::result::Result<(), #courier::Error> {
                    <Self as #courier::Sender<self::#marker>>::send(self, &#build)
                }
            }
        });

    // See `handler.rs` for the lints: the same parameters, the same names.
    quote! {
        #trait_docs
        #[allow(clippy::too_many_arguments, clippy::wrong_self_convention)]
        pub trait #sender_trait: #courier::Sender<self::#marker> {
            #(#methods)*
        }

        impl<T: #courier::Sender<self::#marker> + ?Sized> self::#sender_trait for T {}
    }
}
