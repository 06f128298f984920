//! What the typed methods of one message look like, shared by the handler
//! trait, the clients and the sender trait: the parameters, the value a
//! request returns, and how that value is made from (or into) the response
//! struct.

use proc_macro2::TokenStream;
use quote::quote;

use crate::docs::{self, struct_link};
use crate::model::{MessageModel, StructModel};

/// `rect: ::courier::gfx::IntRect, title: ::std::string::String`: the
/// message's fields as the parameters of a handler method, by value.
pub(crate) fn params(message: &MessageModel) -> TokenStream {
    let params = message.request.fields.iter().map(|field| {
        let ident = &field.ident;
        let ty = &field.rust;
        quote!(#ident: #ty)
    });
    quote!(#(#params),*)
}

/// The message's fields as the parameters of a method that sends it (the
/// clients, the sender trait): by value, except that a `StringView` is
/// borrowed, `key: &str`, as DESIGN.md maps it on the sending side.
///
/// `String` parameters stay owned: `impl Into<String>` would save a caller
/// with a `&str` the `.into()`, but would break the type inference of every
/// call that writes `"text".into()` today.
pub(crate) fn sending_params(message: &MessageModel) -> TokenStream {
    let params = message.request.fields.iter().map(|field| {
        let ident = &field.ident;
        if field.string_view {
            quote!(#ident: &str)
        } else {
            let ty = &field.rust;
            quote!(#ident: #ty)
        }
    });
    quote!(#(#params),*)
}

/// `self::CreateWindow { rect, title }` (or `self::Ping` for a message
/// without fields): the message struct built from the parameters of
/// [`sending_params`], a borrowed `StringView` copied into its `String`
/// field (`key: ::std::string::String::from(key)`).
///
/// Struct paths start with `self::` so that a generic parameter (`L`, `T`)
/// can never shadow a message of the same name.
pub(crate) fn build_request(message: &MessageModel) -> TokenStream {
    let ident = &message.request.ident;
    if message.request.fields.is_empty() {
        quote!(self::#ident)
    } else {
        let fields = message.request.fields.iter().map(|field| {
            let ident = &field.ident;
            if field.string_view {
                quote!(#ident: ::std::string::String::from(#ident))
            } else {
                quote!(#ident)
            }
        });
        quote!(self::#ident { #(#fields),* })
    }
}

/// How many values a request returns, which decides the Rust return type.
pub(crate) enum Returns<'a> {
    /// `=> ()`: `()`.
    Nothing(&'a StructModel),
    /// `=> (T name)`: `T`.
    One(&'a StructModel),
    /// Several results: the response struct, with named fields.
    Struct(&'a StructModel),
}

impl<'a> Returns<'a> {
    /// The shape of `message`'s return value; `None` for a one-way message.
    pub(crate) fn of(message: &'a MessageModel) -> Option<Returns<'a>> {
        let response = message.response.as_ref()?;
        Some(match response.fields.len() {
            0 => Returns::Nothing(response),
            1 => Returns::One(response),
            _ => Returns::Struct(response),
        })
    }

    /// The Rust type a handler returns and a client's call gives back:
    /// `()`, `i32`, or `GetWindowInfoResponse` (`self::GetWindowInfoResponse`
    /// when `qualified`, for generic items).
    pub(crate) fn ty(&self, qualified: bool) -> TokenStream {
        match self {
            Returns::Nothing(_) => quote!(()),
            Returns::One(response) => response.fields[0].rust.clone(),
            Returns::Struct(response) => {
                let ident = &response.ident;
                if qualified {
                    quote!(self::#ident)
                } else {
                    quote!(#ident)
                }
            }
        }
    }

    /// A closure (or nothing, for [`Returns::Struct`]) that turns the
    /// response struct into [`Returns::ty`]: `.map(|response| response.window_id)`.
    pub(crate) fn response_to_value(&self) -> TokenStream {
        match self {
            Returns::Nothing(response) => {
                let ident = &response.ident;
                quote!(.map(|self::#ident| ()))
            }
            Returns::One(response) => {
                let field = &response.fields[0].ident;
                quote!(.map(|response| response.#field))
            }
            Returns::Struct(_) => TokenStream::new(),
        }
    }

    /// A closure (or nothing) that turns [`Returns::ty`] into the response
    /// struct: `.map(|window_id| self::CreateWindowResponse { window_id })`.
    pub(crate) fn value_to_response(&self) -> TokenStream {
        match self {
            Returns::Nothing(response) => {
                let ident = &response.ident;
                quote!(.map(|()| self::#ident))
            }
            Returns::One(response) => {
                let ident = &response.ident;
                let field = &response.fields[0].ident;
                quote!(.map(|#field| self::#ident { #field }))
            }
            Returns::Struct(_) => TokenStream::new(),
        }
    }

    /// What the caller gets back, as a sentence.
    pub(crate) fn describe_for_caller(&self) -> String {
        match self {
            Returns::Nothing(response) => {
                format!(
                    "Its response, {}, carries nothing.",
                    struct_link(&response.ident)
                )
            }
            Returns::One(response) => format!(
                "Returns the `{}` of its response, {}.",
                response.fields[0].declaration,
                struct_link(&response.ident)
            ),
            Returns::Struct(response) => {
                format!("Returns its response, {}.", struct_link(&response.ident))
            }
        }
    }

    /// What the handler returns, as the end of a sentence.
    pub(crate) fn describe_for_handler(&self) -> String {
        match self {
            Returns::Nothing(response) => {
                format!(
                    "return `()` for its empty response, {}",
                    struct_link(&response.ident)
                )
            }
            Returns::One(response) => format!(
                "return the `{}` of its response, {}",
                response.fields[0].declaration,
                struct_link(&response.ident)
            ),
            Returns::Struct(response) => {
                format!("return its response, {}", struct_link(&response.ident))
            }
        }
    }
}

/// `#[doc(alias = "CreateWindow")]` on a method whose name reads differently
/// from the `.ipc` spelling.
pub(crate) fn method_alias(message: &MessageModel) -> TokenStream {
    docs::alias(&message.request.name, &message.method)
}

/// The `.ipc` comments of `message`, then `first` as a paragraph, then the
/// declaration, then (for a renamed method) why it has its name.
pub(crate) fn method_docs(message: &MessageModel, first: String) -> TokenStream {
    let mut method_docs = docs::ipc_comments(&message.docs);
    method_docs.push_paragraph(first);
    method_docs.push_paragraph(format!("`{}`", message.declaration));
    if let Some(helper) = &message.renamed_from {
        let method = crate::names::unraw(&message.method);
        method_docs.push_paragraph(if helper == "send" {
            format!(
                "Named `{method}` because `courier::Sender`, which the sender trait extends, \
                 has a method `send` of its own."
            )
        } else {
            format!(
                "Named `{method}` because the generated clients have a method `{helper}` of \
                 their own."
            )
        });
    }
    method_docs.attrs()
}
