//! Unit tests on hand-built syntax trees (the golden fixtures in
//! `tests/fixtures` go through the real parser).

use courier_idl::ast::{
    Attribute, Endpoint, Ident, IpcFile, Message, MessageKind, Param, Span, Type, TypeArg,
};

use crate::{CodegenError, Options, generate};

fn ident(name: &str) -> Ident {
    Ident {
        name: name.to_string(),
        span: Span::default(),
    }
}

fn simple(path: &str) -> Type {
    Type {
        leading_colons: false,
        segments: path.split("::").map(ident).collect(),
        args: Vec::new(),
        span: Span::default(),
    }
}

fn generic(path: &str, args: Vec<Type>) -> Type {
    Type {
        args: args.into_iter().map(TypeArg::Type).collect(),
        ..simple(path)
    }
}

fn param(ty: Type, name: &str) -> Param {
    Param {
        attrs: Vec::new(),
        ty: Some(ty),
        name: ident(name),
        span: Span::default(),
    }
}

fn attr_param(attr: &str, ty: Option<Type>, name: &str) -> Param {
    Param {
        attrs: vec![Attribute {
            name: ident(attr),
            value: None,
            span: Span::default(),
        }],
        ty,
        name: ident(name),
        span: Span::default(),
    }
}

fn request(name: &str, params: Vec<Param>, results: Vec<Param>) -> Message {
    Message {
        docs: Vec::new(),
        attrs: Vec::new(),
        name: ident(name),
        params,
        kind: MessageKind::Request { results },
        span: Span::default(),
    }
}

fn one_way(name: &str, params: Vec<Param>) -> Message {
    Message {
        docs: Vec::new(),
        attrs: Vec::new(),
        name: ident(name),
        params,
        kind: MessageKind::OneWay,
        span: Span::default(),
    }
}

fn endpoint(name: &str, messages: Vec<Message>) -> Endpoint {
    Endpoint {
        docs: Vec::new(),
        name: ident(name),
        explicit_magic: None,
        routing: None,
        messages,
        span: Span::default(),
    }
}

fn file(endpoints: Vec<Endpoint>) -> IpcFile {
    IpcFile {
        directives: Vec::new(),
        endpoints,
    }
}

fn window_server() -> IpcFile {
    let mut create = request(
        "CreateWindow",
        vec![
            param(simple("Gfx::IntRect"), "rect"),
            param(simple("String"), "title"),
        ],
        vec![param(simple("i32"), "window_id")],
    );
    create.docs = vec!["Request-response: client waits for response".to_string()];
    file(vec![endpoint(
        "WindowServer",
        vec![
            create,
            one_way(
                "InvalidateRect",
                vec![
                    param(simple("i32"), "window_id"),
                    param(simple("Gfx::IntRect"), "rect"),
                ],
            ),
            request(
                "SetWindowBitmap",
                vec![
                    param(simple("i32"), "window_id"),
                    attr_param("Bitmap", None, "bitmap"),
                ],
                Vec::new(),
            ),
            request(
                "GetWindowRect",
                vec![param(simple("i32"), "window_id")],
                vec![param(simple("Gfx::IntRect"), "rect")],
            ),
        ],
    )])
}

/// `code` without whitespace and without the trailing commas prettyplease
/// adds when it breaks a list over lines, for comparisons that do not depend
/// on line width.
fn squeezed(code: &str) -> String {
    let mut out: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    for close in [")", "}", "]", ">"] {
        out = out.replace(&format!(",{close}"), close);
    }
    out
}

/// Asserts that each of `expected` appears in `rust`, whatever the line breaks.
fn assert_has_code(rust: &str, expected: &[&str]) {
    let squeezed_rust = squeezed(rust);
    for code in expected {
        assert!(
            squeezed_rust.contains(&squeezed(code)),
            "missing `{code}` in:\n{rust}"
        );
    }
}

fn generated(file: &IpcFile) -> String {
    let rust = generate(file, &Options::new()).unwrap();
    syn::parse_file(&rust).expect("generated code parses");
    rust
}

#[test]
fn the_fingerprint_is_courier_idls_in_hex() {
    let file = window_server();
    let rust = generated(&file);
    let fingerprint = courier_idl::fingerprint::fingerprint(&file.endpoints[0]).unwrap();
    assert_ne!(fingerprint, 0);
    assert!(
        rust.contains(&format!(
            "pub const FINGERPRINT: u64 = 0x{fingerprint:016x};"
        )),
        "{rust}"
    );
    assert!(
        rust.contains("const FINGERPRINT: u64 = FINGERPRINT;"),
        "{rust}"
    );
}

#[test]
fn window_server_has_the_documented_shape() {
    let rust = generated(&window_server());
    for expected in [
        "pub mod window_server {",
        "pub struct WindowServer;",
        "pub const MAGIC: u32 = ",
        "pub const CREATE_WINDOW: u32 = 1;",
        "pub const CREATE_WINDOW_RESPONSE: u32 = 2;",
        "pub const INVALIDATE_RECT: u32 = 3;",
        "pub const SET_WINDOW_BITMAP: u32 = 4;",
        "pub const SET_WINDOW_BITMAP_RESPONSE: u32 = 5;",
        "pub const GET_WINDOW_RECT: u32 = 6;",
        "pub const GET_WINDOW_RECT_RESPONSE: u32 = 7;",
        "/// Request-response: client waits for response",
        "pub struct CreateWindow {",
        "pub rect: ::courier::gfx::IntRect,",
        "pub title: ::std::string::String,",
        "pub struct CreateWindowResponse {",
        "pub window_id: i32,",
        "pub bitmap: ::courier::shm::ShareableBitmap,",
        "pub struct SetWindowBitmapResponse;",
        "impl ::courier::Request for CreateWindow {",
        "type Response = CreateWindowResponse;",
        "pub enum WindowServerMessage {",
        "CreateWindow(CreateWindow),",
        "InvalidateRect(InvalidateRect),",
        "impl ::courier::Endpoint for WindowServer {",
        "const NAME: &'static str = \"WindowServer\";",
        "const NAME: &'static str = \"CreateWindowResponse\";",
    ] {
        assert!(rust.contains(expected), "missing `{expected}` in:\n{rust}");
    }
    // Responses are not variants of the message enum.
    assert!(
        !rust.contains("CreateWindowResponse(CreateWindowResponse)"),
        "{rust}"
    );
    // Plain structs derive Clone and PartialEq, those with fds only Debug.
    assert!(
        rust.contains("#[derive(Clone, Debug, PartialEq)]\n    pub struct CreateWindow {"),
        "{rust}"
    );
    assert!(
        rust.contains("#[derive(Debug)]\n    pub struct SetWindowBitmap {"),
        "{rust}"
    );
}

#[test]
fn snake_case_names_give_the_same_rust_names_with_aliases() {
    let rust = generated(&file(vec![endpoint(
        "LookupServer",
        vec![request(
            "lookup_name",
            vec![param(simple("ByteString"), "name")],
            vec![
                param(simple("int"), "code"),
                param(generic("Vector", vec![simple("ByteString")]), "addresses"),
            ],
        )],
    )]));
    assert!(rust.contains("#[doc(alias = \"lookup_name\")]\n    #[derive(Clone, Debug, PartialEq)]\n    pub struct LookupName {"), "{rust}");
    assert!(rust.contains("pub struct LookupNameResponse {"), "{rust}");
    assert!(
        rust.contains("const NAME: &'static str = \"lookup_name\";"),
        "{rust}"
    );
    assert!(
        rust.contains("const NAME: &'static str = \"lookup_name_response\";"),
        "{rust}"
    );
    assert!(
        rust.contains("pub addresses: ::std::vec::Vec<::courier::ByteString>,"),
        "{rust}"
    );
    assert!(
        rust.contains("pub const LOOKUP_NAME_RESPONSE: u32 = 2;"),
        "{rust}"
    );
}

#[test]
fn keywords_become_raw_identifiers_or_get_an_underscore() {
    let rust = generated(&file(vec![endpoint(
        "Keywords",
        vec![one_way(
            "set",
            vec![
                param(simple("i32"), "type"),
                param(simple("i32"), "self"),
                param(simple("i32"), "crate"),
                param(simple("i32"), "fn"),
            ],
        )],
    )]));
    assert!(rust.contains("pub r#type: i32,"), "{rust}");
    assert!(rust.contains("pub self_: i32,"), "{rust}");
    assert!(
        rust.contains("#[doc(alias = \"self\")]\n        pub self_: i32,"),
        "{rust}"
    );
    assert!(rust.contains("pub crate_: i32,"), "{rust}");
    assert!(rust.contains("pub r#fn: i32,"), "{rust}");
    // The error path uses the name as it reads.
    assert!(
        rust.contains("r#type: decoder.decode_field(\"type\").map_err(in_message)?"),
        "{rust}"
    );
}

#[test]
fn names_that_cannot_be_identifiers_are_errors() {
    let bad = file(vec![endpoint(
        "Bad",
        vec![one_way("set", vec![param(simple("i32"), "_")])],
    )]);
    assert_eq!(
        generate(&bad, &Options::new()).unwrap_err().to_string(),
        "parameter _ of Bad::set: `_` has no letters or digits to make a Rust name of"
    );
}

#[test]
fn empty_endpoints_generate_code_without_unused_bindings() {
    let rust = generated(&file(vec![endpoint("LookupClient", Vec::new())]));
    assert!(rust.contains("pub enum LookupClientMessage {}"), "{rust}");
    assert!(
        rust.contains("_decoder: &mut ::courier::Decoder<'_>"),
        "{rust}"
    );
    assert!(rust.contains("fn message_name(_id: u32)"), "{rust}");
}

#[test]
fn collisions_are_errors() {
    let twice = file(vec![endpoint(
        "Dup",
        vec![
            one_way("create_window", Vec::new()),
            one_way("CreateWindow", Vec::new()),
        ],
    )]);
    assert_eq!(
        generate(&twice, &Options::new()).unwrap_err().to_string(),
        "in endpoint Dup, message create_window and message CreateWindow both become the Rust \
         name `CreateWindow`; rename one"
    );
    let response = file(vec![endpoint(
        "Dup",
        vec![
            request("Get", Vec::new(), Vec::new()),
            one_way("GetResponse", Vec::new()),
        ],
    )]);
    assert_eq!(
        generate(&response, &Options::new())
            .unwrap_err()
            .to_string(),
        "in endpoint Dup, message GetResponse and message GetResponse both become the Rust name \
         `GetResponse`; rename one"
    );
    let marker = file(vec![endpoint("Echo", vec![one_way("echo", Vec::new())])]);
    assert_eq!(
        generate(&marker, &Options::new()).unwrap_err().to_string(),
        "in endpoint Echo, the marker type of endpoint Echo and message echo both become the Rust \
         name `Echo`; rename one"
    );
    let modules = file(vec![
        endpoint("WindowServer", Vec::new()),
        endpoint("window_server", Vec::new()),
    ]);
    assert_eq!(
        generate(&modules, &Options::new()).unwrap_err().to_string(),
        "endpoint WindowServer and endpoint window_server both become the Rust name \
         `window_server`; rename one"
    );
    let fields = file(vec![endpoint(
        "Fields",
        vec![one_way(
            "set",
            vec![param(simple("i32"), "x"), param(simple("i32"), "x")],
        )],
    )]);
    assert_eq!(
        generate(&fields, &Options::new()).unwrap_err().to_string(),
        "in endpoint Fields, parameter x of set and parameter x of set both become the Rust name \
         `x`; rename one"
    );
}

#[test]
fn type_errors_name_the_parameter() {
    let bad = file(vec![endpoint(
        "Bad",
        vec![one_way(
            "set",
            vec![param(generic("Vector", Vec::new()), "values")],
        )],
    )]);
    assert_eq!(
        generate(&bad, &Options::new()).unwrap_err(),
        CodegenError::Type {
            endpoint: "Bad".to_string(),
            message: "set".to_string(),
            param: "values".to_string(),
            reason: "`Vector` has 0 template arguments; it takes 1 type argument".to_string(),
            span: Span::default(),
        }
    );
}

#[test]
fn user_types_default_to_super_and_can_be_mapped() {
    let file = file(vec![endpoint(
        "Web",
        vec![one_way(
            "set",
            vec![
                param(simple("Web::Cookie::Cookie"), "cookie"),
                param(simple("URL::URL"), "url"),
            ],
        )],
    )]);
    let rust = generated(&file);
    assert!(
        rust.contains("pub cookie: super::Web::Cookie::Cookie,"),
        "{rust}"
    );
    assert!(
        rust.contains("#[derive(Debug)]\n    pub struct Set {"),
        "{rust}"
    );
    let mut options = Options::new();
    options
        .map_type("Web::Cookie::Cookie", "crate::cookie::Cookie")
        .courier_path("::rt");
    let rust = generate(&file, &options).unwrap();
    assert!(
        rust.contains("pub cookie: crate::cookie::Cookie,"),
        "{rust}"
    );
    assert!(rust.contains("pub url: super::URL::URL,"), "{rust}");
    assert!(rust.contains("impl ::rt::Encode for Set {"), "{rust}");
}

#[test]
fn handler_trait_service_clients_and_sender_have_the_documented_shape() {
    let rust = generated(&window_server());
    assert_has_code(
        &rust,
        &[
            // The server trait: requests return their result, one-way messages nothing.
            "pub trait WindowServerHandler {",
            ") -> ::std::result::Result<i32, ::courier::HandlerError>;",
            "fn invalidate_rect(&mut self, window_id: i32, rect: ::courier::gfx::IntRect);",
            ") -> ::std::result::Result<(), ::courier::HandlerError>;",
            ") -> ::std::result::Result<::courier::gfx::IntRect, ::courier::HandlerError>;",
            // The wrapper, bridging the message enum to the trait.
            "pub struct WindowServerService<T>(",
            "impl<T: self::WindowServerHandler> ::courier::Handler<self::WindowServer>",
            "<T as self::WindowServerHandler>::create_window(",
            ".map(|window_id| self::CreateWindowResponse {",
            ".map(|()| self::SetWindowBitmapResponse)",
            // The blocking client.
            "pub struct WindowServerClient<L: ::courier::Endpoint = ::courier::NoMessages> {",
            "::courier::blocking::BlockingConnection<L, self::WindowServer>",
            "pub fn with_timeout(&self, timeout: ::std::time::Duration) -> Self {",
            ") -> ::std::result::Result<i32, ::courier::Error> {",
            "self.connection.call_with_timeout(&request, timeout)",
            "response.map(|response| response.window_id)",
            "response.map(|self::SetWindowBitmapResponse| ())",
            // The async client, only with courier's `tokio` feature.
            "::courier::__tokio_only! {\n        /// A client of `WindowServer` for tokio",
            "pub struct WindowServerAsyncClient<L: ::courier::Endpoint = ::courier::NoMessages> {",
            "::courier::tokio::AsyncConnection<L, self::WindowServer>",
            "pub async fn create_window(",
            "self.connection.call_with_timeout(&request, timeout).await",
            // The sender trait, for any `courier::Sender<WindowServer>`.
            "pub trait WindowServerSender: ::courier::Sender<self::WindowServer> {",
            "<Self as ::courier::Sender<self::WindowServer>>::send(",
            "impl<T: ::courier::Sender<self::WindowServer> + ?Sized> self::WindowServerSender for T {}",
        ],
    );
    // The sender trait has the one-way messages only.
    let sender = &rust[rust.find("pub trait WindowServerSender").unwrap()..];
    assert!(sender.contains("fn invalidate_rect("), "{sender}");
    assert!(!sender.contains("fn create_window("), "{sender}");
}

#[test]
fn several_results_come_back_as_the_response_struct() {
    let rust = generated(&file(vec![endpoint(
        "LookupServer",
        vec![request(
            "lookup_name",
            vec![param(simple("ByteString"), "name")],
            vec![
                param(simple("int"), "code"),
                param(generic("Vector", vec![simple("ByteString")]), "addresses"),
            ],
        )],
    )]));
    assert_has_code(
        &rust,
        &[
            ") -> ::std::result::Result<LookupNameResponse, ::courier::HandlerError>;",
            ") -> ::std::result::Result<self::LookupNameResponse, ::courier::Error> {",
            // Handed over as it is, with no `.map`.
            "::courier::Reply::from_result(<T as self::LookupServerHandler>::lookup_name(&mut self.0, message.name))",
            "::std::option::Option::None => self.connection.call(&request), } }",
        ],
    );
}

#[test]
fn messages_named_like_helpers_get_a_suffix_everywhere() {
    let rust = generated(&file(vec![endpoint(
        "Helpers",
        vec![
            request("connect", vec![param(simple("String"), "path")], Vec::new()),
            one_way("Send", vec![param(simple("i32"), "value")]),
            one_way("clone", Vec::new()),
        ],
    )]));
    assert_has_code(
        &rust,
        &[
            // The helpers keep their names.
            "pub fn connect(path: impl ::std::convert::AsRef<::std::path::Path>)",
            "impl<L: ::courier::Endpoint> ::std::clone::Clone for self::HelpersClient<L> {",
            // The messages' methods get `_message`, in every item.
            "fn connect_message(\n        &mut self,",
            "pub fn connect_message(\n            &self,",
            "pub async fn connect_message(",
            "fn send_message(&mut self, value: i32);",
            "fn send_message(&self, value: i32) -> ::std::result::Result<(), ::courier::Error> {",
            "<T as self::HelpersHandler>::send_message(&mut self.0, message.value);",
            "pub fn clone_message(&self) -> ::std::result::Result<(), ::courier::Error> {",
            "/// Named `connect_message` because the generated clients have a method `connect` of their own.",
            "/// Named `send_message` because `courier::Sender`, which the sender trait extends, has a method `send` of its own.",
            "#[doc(alias = \"Send\")]\n        fn send_message(",
        ],
    );

    // A suffixed name that another message already has is an error.
    let taken = file(vec![endpoint(
        "Helpers",
        vec![
            one_way("connect_message", Vec::new()),
            one_way("connect", Vec::new()),
        ],
    )]);
    assert_eq!(
        generate(&taken, &Options::new()).unwrap_err().to_string(),
        "in endpoint Helpers, the method of message connect_message and the method of message \
         connect (renamed: `connect` is taken by the generated helpers) both become the Rust \
         name `connect_message`; rename one"
    );
    // So are the generated items' own names.
    let client = file(vec![endpoint(
        "Echo",
        vec![one_way("EchoClient", Vec::new())],
    )]);
    assert_eq!(
        generate(&client, &Options::new()).unwrap_err().to_string(),
        "in endpoint Echo, the blocking client of endpoint Echo and message EchoClient both \
         become the Rust name `EchoClient`; rename one"
    );
}

#[test]
fn keywords_and_empty_messages_in_methods() {
    let rust = generated(&file(vec![endpoint(
        "Keywords",
        vec![
            one_way(
                "set",
                vec![param(simple("i32"), "type"), param(simple("i32"), "self")],
            ),
            request("ping", Vec::new(), Vec::new()),
        ],
    )]));
    assert_has_code(
        &rust,
        &[
            "fn set(&mut self, r#type: i32, self_: i32);",
            "<T as self::KeywordsHandler>::set(&mut self.0, message.r#type, message.self_);",
            "self.connection.send(&self::Set { r#type, self_ })",
            "fn ping(&mut self) -> ::std::result::Result<(), ::courier::HandlerError>;",
            "self::KeywordsMessage::Ping(_) => {",
            "let request = self::Ping;",
        ],
    );
}

#[test]
fn empty_endpoints_get_empty_handlers_and_clients() {
    let rust = generated(&file(vec![endpoint("LookupClient", Vec::new())]));
    assert_has_code(
        &rust,
        &[
            "pub trait LookupClientHandler {}",
            "match message {}",
            "pub struct LookupClientClient<L: ::courier::Endpoint = ::courier::NoMessages> {",
            "pub trait LookupClientSender: ::courier::Sender<self::LookupClient> {}",
        ],
    );
}

#[test]
fn the_formatted_code_is_the_token_stream() {
    // `generate` formats the async client on its own and splices it in: the
    // result must mean what `generate_tokens` produces. prettyplease turns
    // some closures into blocks, so both sides are compared once formatted,
    // macro bodies included.
    fn normalised(mut file: syn::File) -> String {
        for item in &mut file.items {
            let syn::Item::Mod(module) = item else {
                continue;
            };
            for inner in &mut module.content.as_mut().unwrap().1 {
                if let syn::Item::Macro(call) = inner {
                    let body: syn::File = syn::parse2(call.mac.tokens.clone()).unwrap();
                    call.mac.tokens = prettyplease::unparse(&body).parse().unwrap();
                }
            }
        }
        prettyplease::unparse(&file)
    }
    for file in [
        window_server(),
        file(vec![
            endpoint("Empty", Vec::new()),
            endpoint("Other", Vec::new()),
        ]),
    ] {
        let options = Options::new();
        let formatted = syn::parse_file(&generate(&file, &options).unwrap()).unwrap();
        let tokens = syn::parse2(crate::generate_tokens(&file, &options).unwrap()).unwrap();
        assert_eq!(normalised(formatted), normalised(tokens));
    }
}

#[test]
fn the_async_client_is_spliced_in_whatever_the_runtime_path() {
    for path in [
        "crate",
        "::rt",
        "::some::long::path::to::the::courier::runtime",
    ] {
        let mut options = Options::new();
        options.courier_path(path);
        let rust = generate(&window_server(), &options).unwrap();
        syn::parse_file(&rust).unwrap();
        let squeezed_path = squeezed(path);
        assert_has_code(
            &rust,
            &[&format!(
                "{squeezed_path}::__tokio_only! {{ /// A client of `WindowServer` for tokio"
            )],
        );
        assert!(!rust.contains("__courier_async_items"), "{rust}");
    }
}

#[test]
fn string_view_parameters_are_borrowed_by_the_senders_only() {
    let rust = generated(&file(vec![endpoint(
        "KvServer",
        vec![
            request(
                "get",
                vec![param(simple("StringView"), "key")],
                vec![param(simple("StringView"), "value")],
            ),
            one_way(
                "set",
                vec![
                    param(simple("AK::StringView"), "type"),
                    param(simple("String"), "value"),
                    param(generic("Vector", vec![simple("StringView")]), "keys"),
                ],
            ),
        ],
    )]));
    assert_has_code(
        &rust,
        &[
            // The structs own their strings.
            "/// `StringView key`\n pub key: ::std::string::String }",
            "/// `StringView value`\n pub value: ::std::string::String }",
            // So do the handlers.
            "fn get(&mut self, key: ::std::string::String)",
            "fn set(&mut self, r#type: ::std::string::String, value: ::std::string::String, keys: ::std::vec::Vec<::std::string::String>);",
            // The clients and the sender trait borrow a `StringView`, and
            // only that: `String` and `Vector<StringView>` stay owned.
            "pub fn get(&self, key: &str) -> ::std::result::Result<::std::string::String, ::courier::Error> {",
            "pub async fn get(&self, key: &str)",
            "let request = self::Get { key: ::std::string::String::from(key) };",
            "pub fn set(&self, r#type: &str, value: ::std::string::String, keys: ::std::vec::Vec<::std::string::String>)",
            "pub async fn set(&self, r#type: &str, value: ::std::string::String, keys: ::std::vec::Vec<::std::string::String>)",
            "fn set(&self, r#type: &str, value: ::std::string::String, keys: ::std::vec::Vec<::std::string::String>) -> ::std::result::Result<(), ::courier::Error> {",
            "&self::Set { r#type: ::std::string::String::from(r#type), value, keys }",
        ],
    );
}

#[test]
fn clients_connect_by_service_name_and_modules_allow_pedantic_lints() {
    let rust = generated(&window_server());
    assert_has_code(
        &rust,
        &[
            "#[allow(dead_code, clippy::pedantic)]\npub mod window_server {",
            "pub fn connect_service(name: &str) -> ::std::result::Result<Self, ::courier::Error> {\n\
             ::courier::blocking::BlockingConnection::connect_service(name).map(Self::from_connection)",
            "pub async fn connect_service(name: &str) -> ::std::result::Result<Self, ::courier::Error> {\n\
             ::courier::tokio::AsyncConnection::connect_service(name).await.map(Self::from_connection)",
            // What each flavour's one-way methods wait for.
            "returns once it is written to the socket.",
            "returns once it is queued for the connection's task, which writes it.",
            // Which `L` a client of a service with a client endpoint needs.
            "as in `WindowServerClient<WindowClient>`: the handshake refuses a client whose `L` is `courier::NoMessages`",
            "as in `WindowServerAsyncClient<WindowClient>`",
        ],
    );
    // The async connection has no `dispatch`.
    let async_client = &rust[rust.find("pub struct WindowServerAsyncClient").unwrap()..];
    let async_client = &async_client[..async_client.find("pub trait WindowServerSender").unwrap()];
    assert!(!async_client.contains("dispatch"), "{async_client}");
}
