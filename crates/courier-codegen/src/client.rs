//! The typed clients of an endpoint: `WindowServerClient<L>` over a
//! blocking connection and `WindowServerAsyncClient<L>` over a tokio one,
//! each with one method per message.
//!
//! Both flavours come from the same code, which differs only in the
//! connection type and in `async`/`.await`; the async one is emitted inside
//! `courier::__tokio_only! { .. }`, so that a crate using courier without its
//! `tokio` feature still compiles the file.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::docs::{self, Docs};
use crate::model::{EndpointModel, MessageModel};
use crate::signature::{self, Returns};

/// Which client to emit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavour {
    /// `courier::blocking::BlockingConnection`, plain `fn`s.
    Blocking,
    /// `courier::tokio::AsyncConnection`, `async fn`s.
    Async,
}

impl Flavour {
    fn connection(self, courier: &TokenStream) -> TokenStream {
        match self {
            Flavour::Blocking => quote!(#courier::blocking::BlockingConnection),
            Flavour::Async => quote!(#courier::tokio::AsyncConnection),
        }
    }

    fn connection_name(self) -> &'static str {
        match self {
            Flavour::Blocking => "BlockingConnection",
            Flavour::Async => "AsyncConnection",
        }
    }

    fn client(self, endpoint: &EndpointModel) -> &Ident {
        match self {
            Flavour::Blocking => &endpoint.client,
            Flavour::Async => &endpoint.async_client,
        }
    }

    /// `async` before `fn`, or nothing.
    fn asyncness(self) -> TokenStream {
        match self {
            Flavour::Blocking => TokenStream::new(),
            Flavour::Async => quote!(async),
        }
    }

    /// `.await` after a call, or nothing.
    fn dot_await(self) -> TokenStream {
        match self {
            Flavour::Blocking => TokenStream::new(),
            Flavour::Async => quote!(.await),
        }
    }
}

/// The client struct of `flavour`, its `Clone` and `Debug` impls, and its
/// methods.
pub(crate) fn emit(
    endpoint: &EndpointModel,
    courier: &TokenStream,
    flavour: Flavour,
) -> TokenStream {
    let written = &endpoint.written;
    let marker = &endpoint.marker;
    let client = flavour.client(endpoint);
    let client_name = client.to_string();
    let connection = flavour.connection(courier);
    let connection_name = flavour.connection_name();
    let asyncness = flavour.asyncness();

    let mut struct_docs = Docs::default();
    struct_docs.push_paragraph(match flavour {
        Flavour::Blocking => format!(
            "A client of `{written}` that blocks the calling thread: one method per message, \
             over a `courier::blocking::BlockingConnection`."
        ),
        Flavour::Async => format!(
            "A client of `{written}` for tokio: one `async` method per message (their futures \
             are `Send`), over a `courier::tokio::AsyncConnection`."
        ),
    });
    struct_docs.push_paragraph(match flavour {
        Flavour::Blocking => format!(
            "`L` is the endpoint this side handles: the messages the service sends back unasked \
             (`courier::NoMessages`, the default, when there are none). Those that arrive are \
             queued until handed to a handler with `dispatch` or `serve` on \
             [`{client_name}::connection`]."
        ),
        Flavour::Async => format!(
            "`L` is the endpoint this side handles: the messages the service sends back unasked \
             (`courier::NoMessages`, the default, when there are none). Those that arrive go to \
             the handler given to the connection's builder, or wait for `next_message` on \
             [`{client_name}::connection`]."
        ),
    });
    struct_docs.push_paragraph(format!(
        "When the service has a client endpoint, `L` must be it, as in `{example}`: the \
         handshake refuses a client whose `L` is `courier::NoMessages` when the service expects \
         its clients to handle one.",
        example = client_endpoint_example(written, &client_name),
    ));
    struct_docs.push_paragraph(match flavour {
        Flavour::Blocking => {
            "A request's method waits for the response and returns its result, or \
             `courier::Error::Remote` when the service's handler failed, `Disconnected` when the \
             service is gone, `Timeout` after the time given to `with_timeout`. A one-way \
             message's method returns once the message is written to the socket (to batch many, \
             build the message structs and use `send_buffered` on the connection). Clones share \
             the connection."
        }
        Flavour::Async => {
            "A request's method waits for the response and returns its result, or \
             `courier::Error::Remote` when the service's handler failed, `Disconnected` when the \
             service is gone, `Timeout` after the time given to `with_timeout`. A one-way \
             message's method returns once the message is queued for the connection's task, \
             which writes it. Like any future, a method's future sends nothing until it is first \
             polled (awaited or spawned); `connection().call(..)` queues a request at once. Clones \
             share the connection."
        }
    });
    let struct_docs = struct_docs.attrs();

    let mut connect_docs = Docs::default();
    connect_docs.push_paragraph(format!(
        "Connects to the `{written}` service listening at `path`."
    ));
    connect_docs.push_paragraph("# Errors");
    connect_docs.push_paragraph(format!(
        "As `{connection_name}::connect`: nothing listens at `path`, or what listens there does \
         not serve `{written}`."
    ));
    let connect_docs = connect_docs.attrs();
    let connect_await = flavour.dot_await();
    let connect_body = quote! {
        #connection::connect(path) #connect_await .map(Self::from_connection)
    };

    let mut connect_service_docs = Docs::default();
    connect_service_docs.push_paragraph(format!(
        "Connects to the service named `name` in this session's portal directory (see \
         `courier::discovery`: `$COURIER_PORTAL_DIR`, else `$XDG_RUNTIME_DIR/portal`, else \
         `/tmp/session/<id>/portal`), which must serve `{written}`."
    ));
    connect_service_docs.push_paragraph(format!(
        "The name is the one the service was bound under, not the endpoint's: \
         `{client_name}::connect_service(\"window\")` reaches a service bound with \
         `courier::discovery::bind(\"window\")`."
    ));
    connect_service_docs.push_paragraph("# Errors");
    connect_service_docs.push_paragraph(format!(
        "As `{connection_name}::connect_service`: `courier::Error::Discovery` when the service \
         cannot be reached (not running, a stale socket, an unsafe portal directory), \
         `courier::Error::Handshake` when it does not serve `{written}` or expects another `L`."
    ));
    let connect_service_docs = connect_service_docs.attrs();
    let connect_service_body = quote! {
        #connection::connect_service(name) #connect_await .map(Self::from_connection)
    };
    let connection_doc = match flavour {
        Flavour::Blocking => {
            " The connection: to dispatch the messages that arrive for `L`, send buffered messages, see who the peer is, or close it."
        }
        Flavour::Async => {
            " The connection: to read the messages that arrive for `L` with `next_message` (unless its builder was given a handler, which receives them), see who the peer is, or close it."
        }
    };
    let messages = endpoint
        .messages
        .iter()
        .map(|message| emit_method(message, courier, flavour));

    // Clone and Debug by hand: derives would ask `L: Clone + Debug`. The
    // method names come from the `.ipc` file; with many parameters they make
    // long signatures, and some may look like conversions or like the
    // methods of std traits (`from_*`, `eq`) without being any.
    quote! {
        #struct_docs
        pub struct #client<L: #courier::Endpoint = #courier::NoMessages> {
            connection: ::std::sync::Arc<#connection<L, self::#marker>>,
            timeout: ::std::option::Option<::std::time::Duration>,
        }

        impl<L: #courier::Endpoint> ::std::clone::Clone for self::#client<L> {
            fn clone(&self) -> Self {
                Self {
                    connection: ::std::sync::Arc::clone(&self.connection),
                    timeout: self.timeout,
                }
            }
        }

        impl<L: #courier::Endpoint> ::std::fmt::Debug for self::#client<L> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(#client_name)
                    .field("connection", &self.connection)
                    .field("timeout", &self.timeout)
                    .finish()
            }
        }

        #[allow(
            clippy::too_many_arguments,
            clippy::wrong_self_convention,
            clippy::should_implement_trait
        )]
        impl<L: #courier::Endpoint> self::#client<L> {
            #connect_docs
            pub #asyncness fn connect(
                path: impl ::std::convert::AsRef<::std::path::Path>,
            ) -> ::std::result::Result<Self, #courier::Error> {
                #connect_body
            }

            #connect_service_docs
            pub #asyncness fn connect_service(
                name: &str,
            ) -> ::std::result::Result<Self, #courier::Error> {
                #connect_service_body
            }

            /// A client over an established connection.
            pub fn from_connection(connection: #connection<L, self::#marker>) -> Self {
                Self {
                    connection: ::std::sync::Arc::new(connection),
                    timeout: ::std::option::Option::None,
                }
            }

            #[doc = #connection_doc]
            pub fn connection(&self) -> &#connection<L, self::#marker> {
                &self.connection
            }

            /// A client on the same connection whose calls fail with `courier::Error::Timeout` when no response arrives within `timeout`.
            pub fn with_timeout(&self, timeout: ::std::time::Duration) -> Self {
                Self {
                    connection: ::std::sync::Arc::clone(&self.connection),
                    timeout: ::std::option::Option::Some(timeout),
                }
            }

            #(#messages)*
        }
    }
}

/// A client type parameterised with the client endpoint, for the docs:
/// `WindowServerClient<WindowClient>` for `WindowServer` (whose client
/// endpoint is, by the SerenityOS convention, `WindowClient`), and that
/// same example for an endpoint not named `...Server`.
fn client_endpoint_example(written: &str, client_name: &str) -> String {
    match written.strip_suffix("Server") {
        Some(stem) if !stem.is_empty() => format!("{client_name}<{stem}Client>"),
        _ => "WindowServerClient<WindowClient>".to_string(),
    }
}

/// One message method.
fn emit_method(message: &MessageModel, courier: &TokenStream, flavour: Flavour) -> TokenStream {
    let method = &message.method;
    let params = signature::sending_params(message);
    let comma = if message.request.fields.is_empty() {
        quote!()
    } else {
        quote!(,)
    };
    let build = signature::build_request(message);
    let alias = signature::method_alias(message);
    let asyncness = flavour.asyncness();
    let dot_await = flavour.dot_await();
    let request = docs::struct_link(&message.request.ident);
    match Returns::of(message) {
        Some(returns) => {
            let docs = signature::method_docs(
                message,
                format!(
                    "Sends the request {request} and waits for its response. {}",
                    returns.describe_for_caller()
                ),
            );
            let ty = returns.ty(true);
            let call = quote! {
                match self.timeout {
                    ::std::option::Option::Some(timeout) => {
                        self.connection.call_with_timeout(&request, timeout) #dot_await
                    }
                    ::std::option::Option::None => self.connection.call(&request) #dot_await,
                }
            };
            // The response struct itself comes back as it is; otherwise the
            // value is taken out of it.
            let tail = match returns {
                Returns::Struct(_) => call,
                Returns::Nothing(_) | Returns::One(_) => {
                    let response_to_value = returns.response_to_value();
                    quote! {
                        let response = #call;
                        response #response_to_value
                    }
                }
            };
            quote! {
                #docs
                #alias
                pub #asyncness fn #method(&self #comma #params)
                    -> ::std::result::Result<#ty, #courier::Error>
                {
                    let request = #build;
                    #tail
                }
            }
        }
        None => {
            let docs = signature::method_docs(
                message,
                match flavour {
                    Flavour::Blocking => format!(
                        "Sends the one-way message {request}; returns once it is written to the \
                         socket."
                    ),
                    Flavour::Async => format!(
                        "Sends the one-way message {request}; returns once it is queued for the \
                         connection's task, which writes it."
                    ),
                },
            );
            quote! {
                #docs
                #alias
                pub #asyncness fn #method(&self #comma #params)
                    -> ::std::result::Result<(), #courier::Error>
                {
                    self.connection.send(&#build)
                }
            }
        }
    }
}
