//! The code for a field type of one's own (`#[monsta(field)]`): the
//! compile-time checks of the keys it declares in `Build::KEYS`, and their
//! values in its `FieldConfig`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::{
    ast::Field,
    attr::{OwnKey, OwnValue},
    expand::float,
};

/// The checks, as constants the compiler evaluates: one per key, spanned on
/// the key (an unknown key, a value of the wrong type or out of range), and
/// one on the type for a required key that is missing.
pub fn checks(field: &Field, private: &TokenStream) -> TokenStream {
    let ty = field.ty;
    let keys = &field.attrs.own_keys;
    let per_key = keys.iter().map(|own| {
        let name = own.key.to_string();
        let value = value(own, private);
        quote_spanned! {own.key.span()=>
            const _: () = if let #private::Some(message) =
                #private::fields::key_error::<#ty>(#name, #value)
            {
                #private::panic!("{}", message.as_str())
            };
        }
    });
    let names = keys.iter().map(|own| own.key.to_string());
    quote_spanned! {ty.span()=>
        #(#per_key)*
        const _: () = if let #private::Some(message) =
            #private::fields::missing_error::<#ty>(&[#(#names),*])
        {
            #private::panic!("{}", message.as_str())
        };
    }
}

/// `keys: &[("name", AttrValue::...), ...]` for the field's `FieldConfig`,
/// when it has keys of its own.
pub fn config_entry(field: &Field, private: &TokenStream) -> Option<TokenStream> {
    let keys = &field.attrs.own_keys;
    if keys.is_empty() {
        return None;
    }
    let entries = keys.iter().map(|own| {
        let name = own.key.to_string();
        let value = value(own, private);
        quote!((#name, #value))
    });
    Some(quote!(keys: &[#(#entries),*]))
}

fn value(own: &OwnKey, private: &TokenStream) -> TokenStream {
    match &own.value {
        OwnValue::Number(n) => {
            let value = float(n.value);
            quote!(#private::AttrValue::Number(#value))
        }
        OwnValue::Text(s) => quote!(#private::AttrValue::Text(#s)),
    }
}
