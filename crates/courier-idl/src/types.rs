//! What a parameter's type means.
//!
//! The parser keeps types as written ([`crate::ast::Type`]); this module
//! decides what they denote. [`resolve`] turns a [`Param`] (its attributes and
//! its optional type) into an [`IdlType`], the small closed model that code
//! generators work from:
//!
//! | written | [`IdlType`] |
//! |---|---|
//! | `bool` | [`IdlType::Bool`] |
//! | `i8` `i16` `i32` `i64`, `int` | [`IdlType::I8`] .. [`IdlType::I64`] (`int` is `I32`) |
//! | `u8` `u16` `u32` `u64`, `unsigned`, `size_t` | [`IdlType::U8`] .. [`IdlType::U64`] (`unsigned` is `U32`, `size_t` is `U64`) |
//! | `float`, `f32` / `double`, `f64` | [`IdlType::F32`] / [`IdlType::F64`] |
//! | `String`, `StringView`, `FlyString`, `[UTF8] ByteString` | [`IdlType::String`] |
//! | `ByteString`, `DeprecatedString` | [`IdlType::ByteString`] |
//! | `ByteBuffer` | [`IdlType::Bytes`] |
//! | `Vector<T>` | [`IdlType::Vector`] |
//! | `HashMap<K, V>` / `OrderedHashMap<K, V>` | [`IdlType::HashMap`] / [`IdlType::OrderedHashMap`] |
//! | `Optional<T>` | [`IdlType::Optional`] |
//! | `Variant<A, B, ...>` (2 to 6 alternatives) | [`IdlType::Variant`] |
//! | `Array<T, N>` | [`IdlType::Array`] |
//! | `IPC::File`, `[File] name` | [`IdlType::File`] |
//! | `Core::AnonymousBuffer` | [`IdlType::SharedBuffer`] |
//! | `Gfx::ShareableBitmap`, `[Bitmap] name` | [`IdlType::Bitmap`] |
//! | `Gfx::BitmapSequence` | [`IdlType::BitmapSequence`] |
//! | `Gfx::IntRect` `IntPoint` `IntSize` `Color` `FloatPoint` `FloatSize` `FloatRect`, and `Color` alone | [`IdlType::Gfx`] |
//! | `Gfx::Rect` `Point` `Size` (SerenityOS's names before 2020) | [`IdlType::Gfx`]: `IntRect` `IntPoint` `IntSize` |
//! | anything else (`URL::URL`, `::WindowServer::ScreenLayout`, `RefPtr<Media::VideoSurface>`) | [`IdlType::User`] |
//!
//! A user type may have template arguments, as Ladybird's
//! `NonnullRefPtr<Web::Painting::DisplayList>` does: SerenityOS's IPC
//! compiler passes any type through to C++, where an `IPC::encode`
//! specialisation gives it its meaning. Its [`IdlType::User`] path is then
//! the canonical spelling with the arguments (see [`user_template`]).
//!
//! The AK names (`String`, `ByteString`, `Vector`, `HashMap`, ...) may also be
//! written with their namespace: `AK::Vector<i32>` is `Vector<i32>`. A leading
//! `::` is ignored everywhere.

use std::fmt;

use crate::ast::{Param, Type, TypeArg};

/// The meaning of a parameter's type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IdlType {
    /// `bool`.
    Bool,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32` or `int`.
    I32,
    /// `i64`.
    I64,
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32` or `unsigned`.
    U32,
    /// `u64` or `size_t`.
    U64,
    /// `float` or `f32`.
    F32,
    /// `double` or `f64`.
    F64,
    /// A string that must be UTF-8: `String`, `StringView`, `FlyString`,
    /// `[UTF8] ByteString`.
    String,
    /// A string of bytes with no encoding promise: `ByteString`,
    /// `DeprecatedString`.
    ByteString,
    /// `ByteBuffer`: raw bytes.
    Bytes,
    /// `Vector<T>`.
    Vector(Box<IdlType>),
    /// `HashMap<K, V>`.
    HashMap(Box<IdlType>, Box<IdlType>),
    /// `OrderedHashMap<K, V>`: a map whose entries keep their order.
    OrderedHashMap(Box<IdlType>, Box<IdlType>),
    /// `Optional<T>`.
    Optional(Box<IdlType>),
    /// `Variant<A, B, ...>`, 2 to 6 alternatives.
    Variant(Vec<IdlType>),
    /// `Array<T, N>`: exactly `N` elements.
    Array(Box<IdlType>, u64),
    /// A file descriptor: `IPC::File` or `[File] name`.
    File,
    /// Shared memory: `Core::AnonymousBuffer`.
    SharedBuffer,
    /// A bitmap in shared memory: `Gfx::ShareableBitmap` or `[Bitmap] name`.
    Bitmap,
    /// A sequence of bitmaps in shared memory: `Gfx::BitmapSequence`.
    BitmapSequence,
    /// One of the geometry and colour types of `Gfx`.
    Gfx(GfxType),
    /// A type of the user's, which the user makes encodable.
    User {
        /// The path as written, without a leading `::` (`Web::Cookie::Cookie`).
        /// For a template, the path followed by its arguments in canonical
        /// form, as [`IdlType`]'s `Display` writes them
        /// (`NonnullRefPtr<Web::Painting::DisplayList>`, `Foo<i32, 4>`);
        /// [`user_template`] splits it again.
        path: String,
    },
}

/// The geometry and colour types of `Gfx` that courier provides itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GfxType {
    /// `Gfx::IntRect`.
    IntRect,
    /// `Gfx::IntPoint`.
    IntPoint,
    /// `Gfx::IntSize`.
    IntSize,
    /// `Gfx::Color`, also written `Color`.
    Color,
    /// `Gfx::FloatPoint`.
    FloatPoint,
    /// `Gfx::FloatSize`.
    FloatSize,
    /// `Gfx::FloatRect`.
    FloatRect,
}

impl GfxType {
    /// Every gfx type, in declaration order.
    pub const ALL: [GfxType; 7] = [
        GfxType::IntRect,
        GfxType::IntPoint,
        GfxType::IntSize,
        GfxType::Color,
        GfxType::FloatPoint,
        GfxType::FloatSize,
        GfxType::FloatRect,
    ];

    /// The name without the `Gfx::` namespace: `IntRect`.
    ///
    /// ```
    /// use courier_idl::types::GfxType;
    /// assert_eq!(GfxType::FloatRect.name(), "FloatRect");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            GfxType::IntRect => "IntRect",
            GfxType::IntPoint => "IntPoint",
            GfxType::IntSize => "IntSize",
            GfxType::Color => "Color",
            GfxType::FloatPoint => "FloatPoint",
            GfxType::FloatSize => "FloatSize",
            GfxType::FloatRect => "FloatRect",
        }
    }

    fn from_name(name: &str) -> Option<GfxType> {
        GfxType::ALL.into_iter().find(|gfx| gfx.name() == name)
    }
}

/// The fewest alternatives a `Variant` may have.
pub const MIN_VARIANT_ALTERNATIVES: usize = 2;
/// The most alternatives a `Variant` may have.
pub const MAX_VARIANT_ALTERNATIVES: usize = 6;

impl IdlType {
    /// Whether a value of this type carries file descriptors (directly or
    /// inside a container): fds, shared buffers and bitmaps. User types are
    /// opaque and answer `false`.
    ///
    /// ```
    /// use courier_idl::types::IdlType;
    /// assert!(IdlType::Optional(Box::new(IdlType::File)).carries_fds());
    /// assert!(!IdlType::Vector(Box::new(IdlType::U8)).carries_fds());
    /// ```
    pub fn carries_fds(&self) -> bool {
        self.any(&|t| {
            matches!(
                t,
                IdlType::File | IdlType::SharedBuffer | IdlType::Bitmap | IdlType::BitmapSequence
            )
        })
    }

    /// Whether this type or any type inside it satisfies `pred`.
    pub fn any(&self, pred: &dyn Fn(&IdlType) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        match self {
            IdlType::Vector(inner) | IdlType::Optional(inner) | IdlType::Array(inner, _) => {
                inner.any(pred)
            }
            IdlType::HashMap(key, value) | IdlType::OrderedHashMap(key, value) => {
                key.any(pred) || value.any(pred)
            }
            IdlType::Variant(alternatives) => alternatives.iter().any(|t| t.any(pred)),
            _ => false,
        }
    }
}

impl fmt::Display for IdlType {
    /// The canonical IDL spelling: `Vector<ByteString>`, `[UTF8] ByteString`
    /// shows as `String`, `int` as `i32`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdlType::Bool => f.write_str("bool"),
            IdlType::I8 => f.write_str("i8"),
            IdlType::I16 => f.write_str("i16"),
            IdlType::I32 => f.write_str("i32"),
            IdlType::I64 => f.write_str("i64"),
            IdlType::U8 => f.write_str("u8"),
            IdlType::U16 => f.write_str("u16"),
            IdlType::U32 => f.write_str("u32"),
            IdlType::U64 => f.write_str("u64"),
            IdlType::F32 => f.write_str("float"),
            IdlType::F64 => f.write_str("double"),
            IdlType::String => f.write_str("String"),
            IdlType::ByteString => f.write_str("ByteString"),
            IdlType::Bytes => f.write_str("ByteBuffer"),
            IdlType::Vector(inner) => write!(f, "Vector<{inner}>"),
            IdlType::HashMap(key, value) => write!(f, "HashMap<{key}, {value}>"),
            IdlType::OrderedHashMap(key, value) => write!(f, "OrderedHashMap<{key}, {value}>"),
            IdlType::Optional(inner) => write!(f, "Optional<{inner}>"),
            IdlType::Variant(alternatives) => {
                f.write_str("Variant<")?;
                for (index, alternative) in alternatives.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{alternative}")?;
                }
                f.write_str(">")
            }
            IdlType::Array(inner, len) => write!(f, "Array<{inner}, {len}>"),
            IdlType::File => f.write_str("IPC::File"),
            IdlType::SharedBuffer => f.write_str("Core::AnonymousBuffer"),
            IdlType::Bitmap => f.write_str("Gfx::ShareableBitmap"),
            IdlType::BitmapSequence => f.write_str("Gfx::BitmapSequence"),
            IdlType::Gfx(gfx) => write!(f, "Gfx::{}", gfx.name()),
            IdlType::User { path } => f.write_str(path),
        }
    }
}

/// Resolves a parameter's attributes and type into an [`IdlType`].
///
/// Attributes that change the meaning: `[UTF8]` on `ByteString` makes it a
/// UTF-8 [`IdlType::String`] (on `String` it changes nothing); `[File]` and
/// `[Bitmap]` stand for `IPC::File` and `Gfx::ShareableBitmap` when no type is
/// written, and must agree with the type when one is. Other attributes do
/// not change the type and are left to the checks.
///
/// # Errors
///
/// A message saying what is wrong (without naming the parameter, which the
/// caller adds), for a type that has no meaning: a template
/// with the wrong number of arguments (`Vector<i32, i32>`), a constant where a
/// type is expected or the other way round, a `Variant` of fewer than 2 or
/// more than 6 alternatives, template arguments on a built-in type that takes none (`i32<u8>`),
/// `[UTF8]` on a type that is not a string, or a parameter with neither a
/// type nor a `[File]`/`[Bitmap]` attribute. Never panics.
///
/// # Example
///
/// ```
/// use courier_idl::ast::{Attribute, Ident, Param, Span, Type};
/// use courier_idl::types::{resolve, IdlType};
///
/// let ident = |name: &str| Ident { name: name.to_string(), span: Span::default() };
/// let param = Param {
///     attrs: vec![Attribute { name: ident("UTF8"), value: None, span: Span::default() }],
///     ty: Some(Type {
///         leading_colons: false,
///         segments: vec![ident("ByteString")],
///         args: Vec::new(),
///         span: Span::default(),
///     }),
///     name: ident("mime_type"),
///     span: Span::default(),
/// };
/// assert_eq!(resolve(&param), Ok(IdlType::String));
/// ```
pub fn resolve(param: &Param) -> Result<IdlType, String> {
    let utf8 = param.has_attr("UTF8");
    let file = param.has_attr("File");
    let bitmap = param.has_attr("Bitmap");
    if file && bitmap {
        return Err(
            "marked both [File] and [Bitmap]; keep the one that says what it carries".into(),
        );
    }
    let Some(ty) = &param.ty else {
        if file {
            return Ok(IdlType::File);
        }
        if bitmap {
            return Ok(IdlType::Bitmap);
        }
        return Err(format!(
            "no type; write one (`i32 {}`) or use [File] or [Bitmap]",
            param.name
        ));
    };
    let resolved = resolve_type(ty)?;
    if file && resolved != IdlType::File {
        return Err(format!(
            "marked [File] but its type is `{ty}`; use `IPC::File` or drop the type"
        ));
    }
    if bitmap && resolved != IdlType::Bitmap {
        return Err(format!(
            "marked [Bitmap] but its type is `{ty}`; use `Gfx::ShareableBitmap` or drop the type"
        ));
    }
    if utf8 {
        return match resolved {
            IdlType::ByteString | IdlType::String => Ok(IdlType::String),
            _ => Err(format!(
                "[UTF8] applies to `ByteString` and `String`, not to `{ty}`"
            )),
        };
    }
    Ok(resolved)
}

/// Resolves a type as written, without attributes.
///
/// # Errors
///
/// See [`resolve`].
///
/// # Example
///
/// ```
/// use courier_idl::ast::{Ident, Span, Type, TypeArg};
/// use courier_idl::types::{resolve_type, IdlType};
///
/// let ident = |name: &str| Ident { name: name.to_string(), span: Span::default() };
/// let simple = |name: &str| Type {
///     leading_colons: false,
///     segments: vec![ident(name)],
///     args: Vec::new(),
///     span: Span::default(),
/// };
/// let vector = Type { args: vec![TypeArg::Type(simple("int"))], ..simple("Vector") };
/// assert_eq!(resolve_type(&vector), Ok(IdlType::Vector(Box::new(IdlType::I32))));
/// ```
pub fn resolve_type(ty: &Type) -> Result<IdlType, String> {
    let names: Vec<&str> = ty.segments.iter().map(|s| s.name.as_str()).collect();
    // `AK::Vector` is `Vector`: AK is the namespace the built-in names live in.
    let builtin_name = match names.as_slice() {
        [name] | ["AK", name] => Some(*name),
        _ => None,
    };
    if let Some(name) = builtin_name {
        if let Some(template) = resolve_template(ty, name)? {
            return Ok(template);
        }
        if let Some(simple) = simple_builtin(name) {
            no_args(ty)?;
            return Ok(simple);
        }
    }
    let special = match names.as_slice() {
        ["IPC", "File"] => Some(IdlType::File),
        ["Core", "AnonymousBuffer"] => Some(IdlType::SharedBuffer),
        ["Gfx", "ShareableBitmap"] => Some(IdlType::Bitmap),
        ["Gfx", "BitmapSequence"] => Some(IdlType::BitmapSequence),
        // SerenityOS named the integer geometry types without `Int` until 2020.
        ["Gfx", "Rect"] => Some(IdlType::Gfx(GfxType::IntRect)),
        ["Gfx", "Point"] => Some(IdlType::Gfx(GfxType::IntPoint)),
        ["Gfx", "Size"] => Some(IdlType::Gfx(GfxType::IntSize)),
        ["Gfx", name] => GfxType::from_name(name).map(IdlType::Gfx),
        ["Color"] => Some(IdlType::Gfx(GfxType::Color)),
        _ => None,
    };
    if let Some(special) = special {
        no_args(ty)?;
        return Ok(special);
    }
    if ty.segments.is_empty() {
        return Err("a type with no name".to_string());
    }
    if ty.args.is_empty() {
        return Ok(IdlType::User { path: ty.path() });
    }
    let mut path = ty.path();
    path.push('<');
    for (index, arg) in ty.args.iter().enumerate() {
        if index > 0 {
            path.push_str(", ");
        }
        match arg {
            TypeArg::Type(inner) => path.push_str(&resolve_type(inner)?.to_string()),
            TypeArg::Const(value, _) => path.push_str(&value.to_string()),
        }
    }
    path.push('>');
    Ok(IdlType::User { path })
}

/// A template argument of a user type, as [`user_template`] gives it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserTemplateArg {
    /// A type argument, resolved.
    Type(IdlType),
    /// An integer argument.
    Const(u64),
}

/// Splits the path of a user type with template arguments (an
/// [`IdlType::User`] path such as `NonnullRefPtr<Web::Painting::DisplayList>`)
/// into the template's path and its arguments, each resolved again.
/// `None` for a path without template arguments, or one that is not the
/// path of a resolved type.
///
/// ```
/// use courier_idl::types::{user_template, IdlType, UserTemplateArg};
///
/// let (name, args) = user_template("RefPtr<Vector<i32>, 4>").unwrap();
/// assert_eq!(name, "RefPtr");
/// assert_eq!(
///     args,
///     [
///         UserTemplateArg::Type(IdlType::Vector(Box::new(IdlType::I32))),
///         UserTemplateArg::Const(4),
///     ]
/// );
/// assert_eq!(user_template("Web::Cookie::Cookie"), None);
/// ```
pub fn user_template(path: &str) -> Option<(&str, Vec<UserTemplateArg>)> {
    let open = path.find('<')?;
    let ty = crate::parser::parse_type_text(path)?;
    let args = ty
        .args
        .iter()
        .map(|arg| match arg {
            TypeArg::Type(inner) => resolve_type(inner).ok().map(UserTemplateArg::Type),
            TypeArg::Const(value, _) => Some(UserTemplateArg::Const(*value)),
        })
        .collect::<Option<Vec<_>>>()?;
    Some((&path[..open], args))
}

/// A user type's name as written by a user (in a `map_type`, say) in the
/// spelling of [`IdlType::User`] paths: without a leading `::`, and a
/// template's arguments in canonical form, so that `::RefPtr< Vector<int> >`
/// and `RefPtr<Vector<i32>>` compare equal.
///
/// ```
/// use courier_idl::types::canonical_user_name;
///
/// assert_eq!(canonical_user_name(" ::RefPtr< Vector<int> > "), "RefPtr<Vector<i32>>");
/// assert_eq!(canonical_user_name("::Web::Cookie"), "Web::Cookie");
/// ```
pub fn canonical_user_name(name: &str) -> String {
    let name = name.trim();
    if name.contains('<') {
        if let Some((template, args)) = user_template(name) {
            let args: Vec<String> = args
                .iter()
                .map(|arg| match arg {
                    UserTemplateArg::Type(ty) => ty.to_string(),
                    UserTemplateArg::Const(value) => value.to_string(),
                })
                .collect();
            let template = template.trim().trim_start_matches("::");
            return format!("{template}<{}>", args.join(", "));
        }
    }
    name.trim_start_matches("::").to_string()
}

fn simple_builtin(name: &str) -> Option<IdlType> {
    Some(match name {
        "bool" => IdlType::Bool,
        "i8" => IdlType::I8,
        "i16" => IdlType::I16,
        "i32" | "int" => IdlType::I32,
        "i64" => IdlType::I64,
        "u8" => IdlType::U8,
        "u16" => IdlType::U16,
        "u32" | "unsigned" => IdlType::U32,
        "u64" | "size_t" => IdlType::U64,
        "f32" | "float" => IdlType::F32,
        "f64" | "double" => IdlType::F64,
        "String" | "StringView" | "FlyString" => IdlType::String,
        "ByteString" | "DeprecatedString" => IdlType::ByteString,
        "ByteBuffer" => IdlType::Bytes,
        _ => return None,
    })
}

/// The AK templates; `Ok(None)` when `name` is not one.
fn resolve_template(ty: &Type, name: &str) -> Result<Option<IdlType>, String> {
    let resolved = match name {
        "Vector" => {
            let [inner] = type_args::<1>(ty)?;
            IdlType::Vector(Box::new(inner))
        }
        "Optional" => {
            let [inner] = type_args::<1>(ty)?;
            IdlType::Optional(Box::new(inner))
        }
        "HashMap" => {
            let [key, value] = type_args::<2>(ty)?;
            IdlType::HashMap(Box::new(key), Box::new(value))
        }
        "OrderedHashMap" => {
            let [key, value] = type_args::<2>(ty)?;
            IdlType::OrderedHashMap(Box::new(key), Box::new(value))
        }
        "Variant" => {
            let alternatives = ty
                .args
                .iter()
                .map(|arg| type_arg(ty, arg))
                .collect::<Result<Vec<_>, _>>()?;
            if !(MIN_VARIANT_ALTERNATIVES..=MAX_VARIANT_ALTERNATIVES).contains(&alternatives.len())
            {
                return Err(format!(
                    "`{ty}` has {} alternatives; a Variant takes {MIN_VARIANT_ALTERNATIVES} to \
                     {MAX_VARIANT_ALTERNATIVES}",
                    alternatives.len()
                ));
            }
            IdlType::Variant(alternatives)
        }
        "Array" => match ty.args.as_slice() {
            [TypeArg::Type(element), TypeArg::Const(len, _)] => {
                IdlType::Array(Box::new(resolve_type(element)?), *len)
            }
            _ => {
                return Err(format!(
                    "`{ty}` must be `Array<T, N>`: an element type, then a length"
                ));
            }
        },
        _ => return Ok(None),
    };
    Ok(Some(resolved))
}

/// Exactly `N` type arguments, resolved.
fn type_args<const N: usize>(ty: &Type) -> Result<[IdlType; N], String> {
    if ty.args.len() != N {
        let expected = if N == 1 {
            "1 type argument".to_string()
        } else {
            format!("{N} type arguments")
        };
        return Err(format!(
            "`{ty}` has {} template arguments; it takes {expected}",
            ty.args.len()
        ));
    }
    let resolved = ty
        .args
        .iter()
        .map(|arg| type_arg(ty, arg))
        .collect::<Result<Vec<_>, _>>()?;
    resolved
        .try_into()
        .map_err(|_| format!("`{ty}` takes {N} type arguments"))
}

fn type_arg(outer: &Type, arg: &TypeArg) -> Result<IdlType, String> {
    match arg {
        TypeArg::Type(inner) => resolve_type(inner),
        TypeArg::Const(value, _) => Err(format!(
            "`{outer}` has the number {value} where a type is expected"
        )),
    }
}

fn no_args(ty: &Type) -> Result<(), String> {
    if ty.args.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "`{}` takes no template arguments, found `{ty}`",
            ty.path()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Attribute, Ident, Span};

    fn ident(name: &str) -> Ident {
        Ident {
            name: name.to_string(),
            span: Span::default(),
        }
    }

    /// A tiny type parser for tests: `HashMap<String, Vector<i32>>`,
    /// `::A::B`, `Array<u8, 4>`.
    fn ty(src: &str) -> Type {
        fn parse(src: &mut &str) -> Type {
            *src = src.trim_start();
            let leading_colons = src.starts_with("::");
            if leading_colons {
                *src = &src[2..];
            }
            let end = src.find(['<', '>', ',']).unwrap_or(src.len());
            let path = src[..end].trim();
            *src = &src[end..];
            let segments = path.split("::").map(ident).collect();
            let mut args = Vec::new();
            if src.starts_with('<') {
                *src = &src[1..];
                loop {
                    let trimmed = src.trim_start();
                    if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
                        let end = trimmed.find([',', '>']).unwrap();
                        args.push(TypeArg::Const(
                            trimmed[..end].trim().parse().unwrap(),
                            Span::default(),
                        ));
                        *src = &trimmed[end..];
                    } else {
                        args.push(TypeArg::Type(parse(src)));
                    }
                    *src = src.trim_start();
                    if src.starts_with(',') {
                        *src = &src[1..];
                    } else {
                        assert!(src.starts_with('>'), "bad test type near {src:?}");
                        *src = &src[1..];
                        break;
                    }
                }
            }
            Type {
                leading_colons,
                segments,
                args,
                span: Span::default(),
            }
        }
        let mut rest = src;
        parse(&mut rest)
    }

    fn param(attrs: &[&str], ty_src: Option<&str>) -> Param {
        Param {
            attrs: attrs
                .iter()
                .map(|a| Attribute {
                    name: ident(a),
                    value: None,
                    span: Span::default(),
                })
                .collect(),
            ty: ty_src.map(ty),
            name: ident("value"),
            span: Span::default(),
        }
    }

    fn resolved(src: &str) -> Result<IdlType, String> {
        resolve(&param(&[], Some(src)))
    }

    fn b(t: IdlType) -> Box<IdlType> {
        Box::new(t)
    }

    #[test]
    fn primitives_and_aliases() {
        let table = [
            ("bool", IdlType::Bool),
            ("i8", IdlType::I8),
            ("i16", IdlType::I16),
            ("i32", IdlType::I32),
            ("int", IdlType::I32),
            ("i64", IdlType::I64),
            ("u8", IdlType::U8),
            ("u16", IdlType::U16),
            ("u32", IdlType::U32),
            ("unsigned", IdlType::U32),
            ("u64", IdlType::U64),
            ("size_t", IdlType::U64),
            ("float", IdlType::F32),
            ("f32", IdlType::F32),
            ("double", IdlType::F64),
            ("f64", IdlType::F64),
        ];
        for (src, expected) in table {
            assert_eq!(resolved(src), Ok(expected), "{src}");
        }
    }

    #[test]
    fn strings_and_bytes() {
        assert_eq!(resolved("String"), Ok(IdlType::String));
        assert_eq!(resolved("StringView"), Ok(IdlType::String));
        assert_eq!(resolved("FlyString"), Ok(IdlType::String));
        assert_eq!(resolved("AK::String"), Ok(IdlType::String));
        assert_eq!(resolved("ByteString"), Ok(IdlType::ByteString));
        assert_eq!(resolved("DeprecatedString"), Ok(IdlType::ByteString));
        assert_eq!(resolved("ByteBuffer"), Ok(IdlType::Bytes));
        assert_eq!(
            resolve(&param(&["UTF8"], Some("ByteString"))),
            Ok(IdlType::String)
        );
        assert_eq!(
            resolve(&param(&["UTF8"], Some("String"))),
            Ok(IdlType::String)
        );
    }

    #[test]
    fn fds_shared_memory_and_gfx() {
        assert_eq!(resolved("IPC::File"), Ok(IdlType::File));
        assert_eq!(resolved("::IPC::File"), Ok(IdlType::File));
        assert_eq!(resolve(&param(&["File"], None)), Ok(IdlType::File));
        assert_eq!(
            resolve(&param(&["File"], Some("IPC::File"))),
            Ok(IdlType::File)
        );
        assert_eq!(resolved("Core::AnonymousBuffer"), Ok(IdlType::SharedBuffer));
        assert_eq!(resolved("Gfx::ShareableBitmap"), Ok(IdlType::Bitmap));
        assert_eq!(resolve(&param(&["Bitmap"], None)), Ok(IdlType::Bitmap));
        assert_eq!(resolved("Gfx::BitmapSequence"), Ok(IdlType::BitmapSequence));
        for gfx in GfxType::ALL {
            assert_eq!(
                resolved(&format!("Gfx::{}", gfx.name())),
                Ok(IdlType::Gfx(gfx))
            );
        }
        assert_eq!(resolved("Color"), Ok(IdlType::Gfx(GfxType::Color)));
        // The names of 2019 files.
        assert_eq!(resolved("Gfx::Rect"), Ok(IdlType::Gfx(GfxType::IntRect)));
        assert_eq!(resolved("Gfx::Point"), Ok(IdlType::Gfx(GfxType::IntPoint)));
        assert_eq!(resolved("Gfx::Size"), Ok(IdlType::Gfx(GfxType::IntSize)));
        // Only `Color` is known without its namespace.
        assert_eq!(
            resolved("IntRect"),
            Ok(IdlType::User {
                path: "IntRect".to_string()
            })
        );
    }

    #[test]
    fn templates_nest() {
        assert_eq!(
            resolved("HashMap<String, Vector<i32>>"),
            Ok(IdlType::HashMap(
                b(IdlType::String),
                b(IdlType::Vector(b(IdlType::I32)))
            ))
        );
        assert_eq!(
            resolved("AK::OrderedHashMap<ByteString, Optional<IPC::File>>"),
            Ok(IdlType::OrderedHashMap(
                b(IdlType::ByteString),
                b(IdlType::Optional(b(IdlType::File)))
            ))
        );
        assert_eq!(
            resolved("Array<u8, 4>"),
            Ok(IdlType::Array(b(IdlType::U8), 4))
        );
        assert_eq!(
            resolved("Variant<i32, String, Gfx::IntRect>"),
            Ok(IdlType::Variant(vec![
                IdlType::I32,
                IdlType::String,
                IdlType::Gfx(GfxType::IntRect)
            ]))
        );
        assert_eq!(
            resolved("Optional<Vector<GUI::FileTypeFilter>>"),
            Ok(IdlType::Optional(b(IdlType::Vector(b(IdlType::User {
                path: "GUI::FileTypeFilter".to_string()
            })))))
        );
    }

    #[test]
    fn user_templates_keep_their_arguments_in_canonical_form() {
        assert_eq!(
            resolved("NonnullRefPtr<Web::Painting::DisplayList>"),
            Ok(IdlType::User {
                path: "NonnullRefPtr<Web::Painting::DisplayList>".to_string()
            })
        );
        let written =
            crate::parser::parse_type_text("::Ring< AK::Vector<int>,0x10,::Gfx::IntRect >");
        assert_eq!(
            resolve_type(&written.unwrap()),
            Ok(IdlType::User {
                path: "Ring<Vector<i32>, 16, Gfx::IntRect>".to_string()
            })
        );
        let (name, args) = user_template("Ring<Vector<i32>, 16, Gfx::IntRect>").unwrap();
        assert_eq!(name, "Ring");
        assert_eq!(
            args,
            [
                UserTemplateArg::Type(IdlType::Vector(b(IdlType::I32))),
                UserTemplateArg::Const(16),
                UserTemplateArg::Type(IdlType::Gfx(GfxType::IntRect)),
            ]
        );
        assert_eq!(user_template("Plain"), None);
        assert_eq!(user_template("Broken<"), None);
        assert_eq!(user_template("Two<i32> Types<u8>"), None);
    }

    #[test]
    fn user_types_keep_their_path_without_leading_colons() {
        assert_eq!(
            resolved("::WindowServer::ScreenLayout"),
            Ok(IdlType::User {
                path: "WindowServer::ScreenLayout".to_string()
            })
        );
        assert_eq!(
            resolved("JsonValue"),
            Ok(IdlType::User {
                path: "JsonValue".to_string()
            })
        );
        assert_eq!(
            resolved("AK::CaseSensitivity"),
            Ok(IdlType::User {
                path: "AK::CaseSensitivity".to_string()
            })
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            (
                param(&[], Some("Vector")),
                "`Vector` has 0 template arguments; it takes 1 type argument",
            ),
            (
                param(&[], Some("Vector<i32, i32>")),
                "`Vector<i32, i32>` has 2 template arguments; it takes 1 type argument",
            ),
            (
                param(&[], Some("HashMap<i32>")),
                "`HashMap<i32>` has 1 template arguments; it takes 2 type arguments",
            ),
            (
                param(&[], Some("Vector<4>")),
                "`Vector<4>` has the number 4 where a type is expected",
            ),
            (
                param(&[], Some("Array<u8>")),
                "`Array<u8>` must be `Array<T, N>`: an element type, then a length",
            ),
            (
                param(&[], Some("Variant<i32>")),
                "`Variant<i32>` has 1 alternatives; a Variant takes 2 to 6",
            ),
            (
                param(&[], Some("Variant<i8, i16, i32, i64, u8, u16, u32>")),
                "`Variant<i8, i16, i32, i64, u8, u16, u32>` has 7 alternatives; a Variant takes 2 to 6",
            ),
            (
                param(&[], Some("i32<u8>")),
                "`i32` takes no template arguments, found `i32<u8>`",
            ),
            (
                param(&[], Some("Web::Thing<Vector<i32, i32>>")),
                "`Vector<i32, i32>` has 2 template arguments; it takes 1 type argument",
            ),
            (
                param(&["UTF8"], Some("i32")),
                "[UTF8] applies to `ByteString` and `String`, not to `i32`",
            ),
            (
                param(&["File"], Some("i32")),
                "marked [File] but its type is `i32`; use `IPC::File` or drop the type",
            ),
            (
                param(&["Bitmap"], Some("IPC::File")),
                "marked [Bitmap] but its type is `IPC::File`; use `Gfx::ShareableBitmap` or drop the type",
            ),
            (
                param(&["File", "Bitmap"], None),
                "marked both [File] and [Bitmap]; keep the one that says what it carries",
            ),
            (
                param(&["UTF8"], None),
                "no type; write one (`i32 value`) or use [File] or [Bitmap]",
            ),
        ];
        for (param, expected) in cases {
            assert_eq!(resolve(&param), Err(expected.to_string()), "{:?}", param.ty);
        }
    }

    #[test]
    fn unknown_attributes_do_not_change_the_type() {
        assert_eq!(
            resolve(&param(&["Whatever"], Some("i32"))),
            Ok(IdlType::I32)
        );
    }

    #[test]
    fn display_is_canonical() {
        let t = resolved("AK::HashMap<int, Variant<StringView, Array<size_t, 2>>>").unwrap();
        assert_eq!(
            t.to_string(),
            "HashMap<i32, Variant<String, Array<u64, 2>>>"
        );
    }

    #[test]
    fn carries_fds_looks_inside_containers() {
        assert!(
            resolved("Vector<Optional<Core::AnonymousBuffer>>")
                .unwrap()
                .carries_fds()
        );
        assert!(
            resolved("Variant<i32, Gfx::BitmapSequence>")
                .unwrap()
                .carries_fds()
        );
        assert!(
            !resolved("HashMap<String, Gfx::IntRect>")
                .unwrap()
                .carries_fds()
        );
    }
}
