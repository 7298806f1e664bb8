//! `#[derive(AppState)]` for monsta. Use it through the `monsta` crate, where
//! it is documented (`monsta::AppState`).
//!
//! The derive reads the input (`ast`, `attr`), checks it (`valid`) and
//! generates the code (`expand`, with the methods' docs from `docs`, and
//! the checks of a field type's own keys from `own`), or, on
//! error, the errors and stubs (`fallback`).

mod ast;
mod attr;
mod docs;
mod expand;
mod fallback;
mod labels;
mod own;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `monsta::AppState`; see the `monsta` crate's documentation.
#[proc_macro_derive(AppState, attributes(monsta))]
pub fn derive_app_state(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

/// Derives `monsta::fields::Labels`; see the `monsta` crate's documentation.
#[proc_macro_derive(Labels, attributes(monsta))]
pub fn derive_labels(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    labels::derive(&input).into()
}
