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
        name: ident(name),
        params,
        kind: MessageKind::Request { results },
        span: Span::default(),
    }
}

fn one_way(name: &str, params: Vec<Param>) -> Message {
    Message {
        docs: Vec::new(),
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

fn generated(file: &IpcFile) -> String {
    let rust = generate(file, &Options::new()).unwrap();
    syn::parse_file(&rust).expect("generated code parses");
    rust
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
