//! `Encode`/`Decode` for the standard library's types.
//!
//! One file per family: [`primitives`] (integers, floats, `bool`, with the
//! bulk fast paths), [`strings`] (`String`, `str`), [`collections`] (`Vec`,
//! slices, arrays, `Option`, maps, tuples, `Box`...), [`fd`] (`OwnedFd`,
//! `File`).

mod collections;
mod fd;
mod primitives;
mod strings;
