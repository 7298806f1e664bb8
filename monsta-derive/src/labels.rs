//! `#[derive(Labels)]`: a struct whose fields are the labels of a family's
//! series, or a fieldless enum that is one label value.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::ast::default_krate;

/// The derive's output: the impls, or the errors.
pub fn derive(input: &DeriveInput) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn label_attr(input: &DeriveInput) -> syn::Result<Option<LitStr>> {
    let mut label = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("monsta")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("label") {
                label = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown monsta attribute of a label set; expected `label = \"name\"` (on a \
                     fieldless enum: the name of its label)",
                ))
            }
        })?;
    }
    Ok(label)
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let krate = default_krate();
    let private = quote!(#krate::__private);
    let ident = &input.ident;
    if input.generics.lt_token.is_some() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "`#[derive(Labels)]` does not support generic parameters",
        ));
    }
    let label = label_attr(input)?;
    let query = quote! {
        #[automatically_derived]
        impl #private::fields::LabelQuery<#ident> for #ident {
            #[inline]
            fn matches(&self, stored: &#ident) -> bool {
                self == stored
            }
            fn to_labels(&self) -> #ident {
                ::core::clone::Clone::clone(self)
            }
        }
    };
    match &input.data {
        Data::Struct(data) => {
            let Fields::Named(named) = &data.fields else {
                return Err(syn::Error::new_spanned(
                    ident,
                    "`#[derive(Labels)]` needs a struct with named fields (each field a label, \
                     named after it), such as `struct Route { method: &'static str, path: String }`, \
                     or a fieldless enum",
                ));
            };
            if let Some(label) = label {
                return Err(syn::Error::new_spanned(
                    label,
                    "`label = \"...\"` names the label of a fieldless enum; a struct's labels \
                     are named after its fields",
                ));
            }
            let mut names = Vec::new();
            let mut values = Vec::new();
            let mut each = Vec::new();
            let mut idents = Vec::new();
            let mut types = Vec::new();
            let mut errors: Option<syn::Error> = None;
            for field in &named.named {
                let Some(f) = &field.ident else { continue };
                let name = syn::ext::IdentExt::unraw(f).to_string();
                if let Err(e) = monsta_core::params::check_label_name(&name) {
                    let e = syn::Error::new_spanned(f, format!("label {e}"));
                    match &mut errors {
                        Some(all) => all.combine(e),
                        None => errors = Some(e),
                    }
                }
                names.push(name);
                let ty = &field.ty;
                values.push(quote_spanned_value(f, ty, &private));
                each.push(quote! {
                    <#ty as #private::fields::LabelValue>::with_value(&self.#f, f);
                });
                idents.push(f.clone());
                types.push(ty.clone());
            }
            if let Some(e) = errors {
                return Err(e);
            }
            let len = names.len();
            // A tuple of the fields' values in order, with borrowed strings
            // (`("GET", "/users")` for `Route { method: String, path: String }`),
            // looks the struct up: it hashes as the struct's derived `Hash`
            // does, field after field.
            let qs: Vec<syn::Ident> = (0..len)
                .map(|i| quote::format_ident!("__MonstaQ{}", i))
                .collect();
            let index: Vec<syn::Index> = (0..len).map(syn::Index::from).collect();
            let borrowed = (len > 0).then(|| {
                quote! {
                    #[automatically_derived]
                    impl<#(#qs: #private::fields::LabelPart<#types>),*>
                        #private::fields::LabelQuery<#ident> for (#(#qs,)*)
                    {
                        #[inline]
                        fn matches(&self, stored: &#ident) -> bool {
                            #(#private::fields::LabelPart::is(&self.#index, &stored.#idents))&&*
                        }
                        fn to_labels(&self) -> #ident {
                            #ident {
                                #(#idents: #private::fields::LabelPart::to_stored(&self.#index),)*
                            }
                        }
                    }
                }
            });
            Ok(quote! {
                #[automatically_derived]
                impl #private::fields::Labels for #ident {
                    const NAMES: ::core::option::Option<&'static [&'static str]> =
                        ::core::option::Option::Some(&[#(#names),*]);
                    const LEN: usize = #len;
                    fn values(&self) -> ::std::vec::Vec<::std::borrow::Cow<'_, str>> {
                        ::std::vec![#(#values),*]
                    }
                    fn each_value(&self, f: &mut impl ::core::ops::FnMut(&str)) {
                        #(#each)*
                    }
                }
                #query
                #borrowed
            })
        }
        Data::Enum(data) => {
            let mut arms = Vec::new();
            for v in &data.variants {
                if !matches!(v.fields, Fields::Unit) {
                    return Err(syn::Error::new_spanned(
                        &v.fields,
                        "`#[derive(Labels)]` on an enum needs fieldless variants: each is one \
                         label value, its name",
                    ));
                }
                let name = &v.ident;
                let text = name.to_string();
                arms.push(quote!(#ident::#name => #text));
            }
            let label = label.map_or_else(|| snake_case(&ident.to_string()), |l| l.value());
            if let Err(e) = monsta_core::params::check_label_name(&label) {
                return Err(syn::Error::new_spanned(ident, format!("label {e}")));
            }
            Ok(quote! {
                #[automatically_derived]
                impl #private::fields::LabelValue for #ident {
                    fn label_value(&self) -> ::std::borrow::Cow<'_, str> {
                        ::std::borrow::Cow::Borrowed(match self { #(#arms,)* })
                    }
                }
                #[automatically_derived]
                impl #private::fields::LabelPart<#ident> for #ident {
                    #[inline]
                    fn is(&self, stored: &#ident) -> bool {
                        self == stored
                    }
                    fn to_stored(&self) -> #ident {
                        ::core::clone::Clone::clone(self)
                    }
                }
                #[automatically_derived]
                impl #private::fields::Labels for #ident {
                    const NAMES: ::core::option::Option<&'static [&'static str]> =
                        ::core::option::Option::Some(&[#label]);
                    const LEN: usize = 1;
                    fn values(&self) -> ::std::vec::Vec<::std::borrow::Cow<'_, str>> {
                        ::std::vec![#private::fields::LabelValue::label_value(self)]
                    }
                    fn each_value(&self, f: &mut impl ::core::ops::FnMut(&str)) {
                        f(match self { #(#arms,)* });
                    }
                }
                #query
            })
        }
        Data::Union(u) => Err(syn::Error::new_spanned(
            u.union_token,
            "`#[derive(Labels)]` needs a struct with named fields or a fieldless enum, not a union",
        )),
    }
}

/// `LabelValue::label_value(&self.field)`, spanned on the field's type so
/// that a type that cannot be a label value is reported there.
fn quote_spanned_value(f: &syn::Ident, ty: &syn::Type, private: &TokenStream) -> TokenStream {
    use syn::spanned::Spanned;
    let span = ty.span();
    quote::quote_spanned!(span=> <#ty as #private::fields::LabelValue>::label_value(&self.#f))
}
