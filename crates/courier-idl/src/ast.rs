//! The syntax tree of an `.ipc` file.
//!
//! The tree is faithful to the source: every node carries the [`Span`] it was
//! parsed from, names keep their spelling (`CreateWindow` stays `CreateWindow`;
//! turning it into `create_window` is the code generator's business), and a
//! parameter written in the overview's dialect (`[File] image_file`) keeps its
//! attribute as written, with no type: [`Param::ty`] is `None` in that case.
//! What a type *means* (`Vector<i32>` is a vector of 32-bit integers) is
//! decided by [`crate::types`], not here.

use std::fmt;

/// A half-open byte range `start..end` into the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A name as written in the source, with its span.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name exactly as written.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// One parsed `.ipc` file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IpcFile {
    /// The `#` lines before the endpoints (`#include <LibGfx/Color.h>`), kept
    /// verbatim without the line break.
    pub directives: Vec<Directive>,
    /// The endpoints, in source order.
    pub endpoints: Vec<Endpoint>,
}

/// A `#` line, such as `#include <LibCore/AnonymousBuffer.h>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The whole line, from `#` up to (not including) the line break.
    pub text: String,
    /// Where the line is.
    pub span: Span,
}

/// `endpoint Name { ... }`, with what older and newer SerenityOS-family
/// files write between the name and the brace: `endpoint Name = 42 { ... }`
/// (an explicit magic, SerenityOS before 2021) and `endpoint Name routed by
/// Type name { ... }` (Ladybird).
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// The `//` comment lines directly above `endpoint`, without the `//`
    /// and one following space.
    pub docs: Vec<String>,
    /// The endpoint's name.
    pub name: Ident,
    /// `= 42` after the name: the magic number, written out.
    pub explicit_magic: Option<ExplicitMagic>,
    /// `routed by Type name` after the name.
    pub routing: Option<Routing>,
    /// The messages, in declaration order.
    pub messages: Vec<Message>,
    /// From `endpoint` to the closing brace.
    pub span: Span,
}

impl Endpoint {
    /// The endpoint's magic number: the one written after `=`, else the
    /// SerenityOS Jenkins one-at-a-time hash of its name.
    ///
    /// ```
    /// let (file, _) = courier_idl::parse("endpoint Old = 7 {}\nendpoint ClipboardServer {}\n");
    /// assert_eq!(file.endpoints[0].magic(), 7);
    /// assert_eq!(file.endpoints[1].magic(), 1329211611);
    /// ```
    pub fn magic(&self) -> u32 {
        match &self.explicit_magic {
            Some(magic) => magic.value,
            None => crate::magic::endpoint_magic(&self.name.name),
        }
    }
}

/// `= 42` after an endpoint's name: the endpoint's magic number, as
/// SerenityOS wrote it before it hashed the name instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExplicitMagic {
    /// The number.
    pub value: u32,
    /// Where the number is written.
    pub span: Span,
}

/// `routed by Compositing::PageId page_id` after an endpoint's name
/// (Ladybird): the messages that carry the parameter `page_id` go to the
/// object that this id names, except those marked `[NotRouted]`. The wire
/// format does not change: the id travels as the parameter it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Routing {
    /// The type of the routing parameter.
    pub ty: Type,
    /// The name of the routing parameter.
    pub name: Ident,
    /// From `routed` to the name.
    pub span: Span,
}

/// Whether a message waits for a response.
#[derive(Clone, Debug, PartialEq)]
pub enum MessageKind {
    /// `name(params) => (results)`: the caller waits for the results.
    /// `=> ()` gives an empty list.
    Request {
        /// The response's parameters, in order.
        results: Vec<Param>,
    },
    /// `name(params) =|`: fire and forget.
    OneWay,
}

/// One message declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The `//` comment lines directly above the message.
    pub docs: Vec<String>,
    /// The attributes before the name (`[NotRouted] get_window_handle(...)`),
    /// all bracket groups flattened into one list.
    pub attrs: Vec<Attribute>,
    /// The name as written (`create_window` or `CreateWindow`).
    pub name: Ident,
    /// The parameters, in order.
    pub params: Vec<Param>,
    /// Request/response or one-way.
    pub kind: MessageKind,
    /// From the name to the end of `=|` or of the result list.
    pub span: Span,
}

impl Message {
    /// Whether the message waits for a response.
    pub fn is_request(&self) -> bool {
        matches!(self.kind, MessageKind::Request { .. })
    }

    /// Whether the message carries the attribute `name`.
    pub fn has_attr(&self, name: &str) -> bool {
        self.attrs.iter().any(|a| a.name.name == name)
    }
}

/// `[attr, attr=value]`, before a parameter or a message. A value is a name
/// or an integer (`[MaxLength=16]`), kept as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute's name (`UTF8`, `File`, `Bitmap`).
    pub name: Ident,
    /// `value` in `[name=value]`, when given: a name, or an integer as
    /// written (`16`, `0x10`).
    pub value: Option<Ident>,
    /// The whole attribute, without the brackets.
    pub span: Span,
}

/// One parameter: `[attrs] Type name`, or in the overview's dialect
/// `[File] name` / `[Bitmap] name` with the attribute standing for the type.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The attributes, in order (all bracket groups before the type are
    /// flattened into one list).
    pub attrs: Vec<Attribute>,
    /// The type as written; `None` when an attribute stands for it.
    pub ty: Option<Type>,
    /// The parameter's name.
    pub name: Ident,
    /// The whole parameter, attributes included.
    pub span: Span,
}

impl Param {
    /// Whether the parameter carries the attribute `name`.
    pub fn has_attr(&self, name: &str) -> bool {
        self.attrs.iter().any(|a| a.name.name == name)
    }
}

/// A C++-style type: `i32`, `Gfx::IntRect`, `::WindowServer::ScreenLayout`,
/// `HashMap<String, Vector<i32>>`, `Array<u8, 16>`.
///
/// A `const` before or after a template argument (`NonnullRefPtr<Media::VideoFrame
/// const>`) is accepted and dropped: it means nothing on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Type {
    /// `true` for a leading `::`.
    pub leading_colons: bool,
    /// The path segments: `["Gfx", "IntRect"]`.
    pub segments: Vec<Ident>,
    /// The template arguments, empty when there is no `<...>`.
    pub args: Vec<TypeArg>,
    /// The whole type.
    pub span: Span,
}

impl Type {
    /// The path as written without template arguments and without a leading
    /// `::`: `Gfx::IntRect`.
    pub fn path(&self) -> String {
        let names: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        names.join("::")
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.leading_colons {
            f.write_str("::")?;
        }
        f.write_str(&self.path())?;
        if !self.args.is_empty() {
            f.write_str("<")?;
            for (i, arg) in self.args.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                match arg {
                    TypeArg::Type(t) => write!(f, "{t}")?,
                    TypeArg::Const(n, _) => write!(f, "{n}")?,
                }
            }
            f.write_str(">")?;
        }
        Ok(())
    }
}

/// A template argument: a type, or an integer (the `N` of `Array<T, N>`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeArg {
    /// A type argument.
    Type(Type),
    /// An unsigned integer argument, with its span.
    Const(u64, Span),
}
