//! Derive macros for courier's `Encode` and `Decode` traits. Use them through
//! the `courier` crate: `#[derive(courier::Encode, courier::Decode)]`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

use proc_macro::TokenStream;

/// Derives `courier::Encode`.
#[proc_macro_derive(Encode, attributes(courier))]
pub fn derive_encode(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}

/// Derives `courier::Decode`.
#[proc_macro_derive(Decode, attributes(courier))]
pub fn derive_decode(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
