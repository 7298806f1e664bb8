//! The code for a field type of one's own (`#[monsta(field)]`): the
//! compile-time checks of the keys it declares in `Build::KEYS`, and their
//! values in its `FieldConfig`.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::quote;
use syn::spanned::Spanned;

use crate::{
    ast::Field,
    attr::{OwnKey, OwnValue},
    expand::float,
};

/// The checks of the keys given, as constants the compiler evaluates: one
/// per key, spanned on the key (an unknown key, a value of the wrong type
/// or out of range).
pub fn key_checks(field: &Field, private: &TokenStream) -> TokenStream {
    let ty = field.ty;
    field
        .attrs
        .own_keys
        .iter()
        .map(|own| {
            let name = own.key.to_string();
            let value = value(own, private);
            let check = quote! {
                const _: () = if let #private::Some(message) =
                    #private::fields::key_error::<#ty>(#name, #value)
                {
                    #private::panic!("{}", message.as_str())
                };
            };
            respan(check, own.key.span())
        })
        .collect()
}

/// The check that no key the type requires is missing, spanned on the
/// type: a statement of the constant that asserts the type is a field, so
/// that a type that is none gets no error of its own from it.
pub fn missing_check(field: &Field, private: &TokenStream) -> TokenStream {
    let ty = field.ty;
    let names = field.attrs.own_keys.iter().map(|own| own.key.to_string());
    let check = quote! {
        if let #private::Some(message) = #private::fields::missing_error::<#ty>(&[#(#names),*]) {
            #private::panic!("{}", message.as_str())
        }
    };
    respan(check, ty.span())
}

/// `tokens`, every one spanned at `span`: a panic in a constant is
/// reported where its `panic!` is.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                TokenTree::Group(group)
            }
            mut tt => {
                tt.set_span(span);
                tt
            }
        })
        .collect()
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
