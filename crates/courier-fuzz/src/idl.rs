//! The `idl` target: the `.ipc` front end on arbitrary text.

use courier_idl::SourceFile;

/// Parses `data` as an `.ipc` file (bytes that may not be UTF-8), checks it
/// alone and beside itself (a second copy must report duplicates, not
/// panic), renders every diagnostic, and generates Rust for a file that
/// checks clean.
///
/// # Panics
///
/// When the front end or the code generator panics, or when a clean file
/// fails to generate for a reason other than a documented [`CodegenError`]
/// (that is returned, not panicked).
///
/// [`CodegenError`]: courier_codegen::CodegenError
pub fn idl(data: &[u8]) {
    let (_, diagnostics) = courier_idl::parse_bytes(data);
    let (text, _) = courier_idl::decode_utf8(data);
    let file = SourceFile::new("fuzz.ipc", text);
    let checked = courier_idl::check(std::slice::from_ref(&file));
    let rendered = checked.render_diagnostics();
    assert_eq!(
        rendered.is_empty(),
        checked.files[0].diagnostics.is_empty(),
        "diagnostics are rendered exactly when there are some"
    );
    // Spans point into the text they came from.
    for diagnostic in diagnostics.iter().chain(&checked.files[0].diagnostics) {
        let span = diagnostic.span;
        assert!(
            span.start <= span.end && span.end <= data.len().max(file.text.len()),
            "span {span:?} outside the {} bytes of input",
            data.len()
        );
    }
    let twice = courier_idl::check(&[file.clone(), SourceFile::new("copy.ipc", file.text.clone())]);
    let _ = twice.render_diagnostics();
    if !checked.has_errors() {
        let _ = courier_codegen::generate(&checked.files[0].ast, &courier_codegen::Options::new());
    }
}
