//! Code generation: input → checks → the snapshot struct, the transaction
//! alias, the inherent constructors and the `AppState`, `Serialize` and
//! `Default` impls.

use monsta_core::FieldKind;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{DeriveInput, Expr, Lit, spanned::Spanned};

use crate::{
    ast::{self, Field, Input, Kind, Role},
    attr::{self, Errors},
    docs::InherentDocs,
    fallback, own, valid,
};

/// The derive's output: the implementation, or the errors and stubs.
pub fn derive(node: &DeriveInput) -> TokenStream {
    match try_expand(node) {
        Ok(tokens) => tokens,
        Err(error) => fallback::expand(node, error),
    }
}

fn try_expand(node: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    // `None` only after an error was recorded: `finish` returns it.
    let Some(input) = Input::from_syn(node, &mut errors) else {
        return errors.finish().map(|()| TokenStream::new());
    };
    valid::check(&input, &mut errors);
    errors.finish()?;
    Ok(expand(&input))
}

/// Names of the locals of generated functions: mixed-site, so a user's
/// `default = ...` expression can neither see nor shadow them.
struct Locals {
    clock: Ident,
    visitor: Ident,
    locks: Ident,
    fields: Ident,
    map: Ident,
    state: Ident,
}

impl Locals {
    fn new() -> Self {
        let local = |name| Ident::new(name, Span::mixed_site());
        Locals {
            clock: local("__clock"),
            map: local("__map"),
            visitor: local("__visitor"),
            locks: local("__locks"),
            fields: local("__fields"),
            state: local("__state"),
        }
    }
}

/// The pieces each field contributes to the generated items.
#[derive(Default)]
struct Parts {
    /// `name: <expr>` in `try_with_clock`'s struct literal.
    build: Vec<TokenStream>,
    /// The snapshot struct's fields.
    snapshot_fields: Vec<TokenStream>,
    /// `name: <expr>` in `snapshot_unlocked`'s struct literal.
    snapshot_values: Vec<TokenStream>,
    /// Statements of `describe`.
    describe: Vec<TokenStream>,
    /// Statements of `visit`.
    visit: Vec<TokenStream>,
    /// Statements of `collect_locks`.
    locks: Vec<TokenStream>,
    /// Statements of `serialize_fields`.
    entries: Vec<TokenStream>,
    /// The entries of `KEYS`.
    keys: Vec<TokenStream>,
    /// The same, for the key check outside the impls: a flattened child's
    /// through the call its assertion makes, so that a child that isn't a
    /// state gets one error.
    check_keys: Vec<TokenStream>,
    /// Per field, an assertion of the trait its type needs, spanned on the
    /// type: the one error a wrong type gets (see [`Parts::guards`]).
    asserts: Vec<TokenStream>,
    /// Per field, the same bound as a `where` predicate of every generated
    /// impl. Higher-ranked, so the compiler doesn't check it where it is
    /// written but assumes it inside: a type that lacks the trait fails the
    /// assertion, not every use in the expansion.
    guards: Vec<TokenStream>,
}

fn expand(input: &Input) -> TokenStream {
    let krate = &input.krate;
    let private = quote!(#krate::__private);
    let ident = input.ident;
    let vis = input.vis;
    let snapshot = format_ident!("{}Snapshot", ident);
    let tx = format_ident!("{}Tx", ident);
    let locals = Locals::new();
    let Locals {
        clock,
        visitor,
        locks,
        fields,
        map,
        state,
    } = &locals;

    let mut parts = Parts::default();
    for field in &input.fields {
        field_parts(field, input, &private, &locals, &mut parts);
    }
    let Parts {
        build,
        snapshot_fields,
        snapshot_values,
        describe,
        visit,
        locks: lock_children,
        entries,
        keys,
        check_keys,
        asserts,
        guards,
    } = parts;
    let guards = quote!(where #(for<'__m> #guards,)*);

    let prefix = input.prefix.as_ref().map(
        |prefix| quote!(const PREFIX: #private::Option<&'static str> = #private::Some(#prefix);),
    );

    let prefix_value = match &input.prefix {
        Some(prefix) => quote!(#private::Some(#prefix)),
        None => quote!(#private::None),
    };
    let name = ident.to_string();
    // Every JSON key of the state, flattened children's included, differs:
    // checked by the compiler, where the children's keys are known.
    let key_check = quote! {
        const _: () = if let #private::Some(message) =
            #private::keys::duplicate(#name, &[#(#check_keys),*])
        {
            #private::panic!("{}", message.as_str())
        };
        // No two fields export one metric name (Prometheus would read them
        // as one series): checked the same way.
        const _: () = if let #private::Some(message) = #private::keys::metric_clash(
            #name,
            #prefix_value,
            &[#(#check_keys),*],
        ) {
            #private::panic!("{}", message.as_str())
        };
    };

    let serde_crate = format!("{}::serde", private);
    let snapshot_doc = format!(
        "A consistent copy of every field of [`{name}`], as [`{name}::snapshot`] returns it.\n\n\
         Plain data: it serializes to the same JSON as the state, and that JSON \
         deserializes back into it. Generated by `#[derive(AppState)]`."
    );
    let tx_doc = format!(
        "A transaction on [`{name}`], as [`{name}::transaction`] hands it to its closure.\n\n\
         It derefs to the state, so fields are reached by their names, while the state's \
         lock is held: no snapshot observes part of a transaction. Generated by \
         `#[derive(AppState)]`."
    );
    let docs = InherentDocs::new(&name, &snapshot.to_string(), &tx.to_string());
    let InherentDocs {
        new,
        try_new,
        with_clock,
        try_with_clock,
        snapshot: snapshot_fn,
        transaction,
    } = &docs;

    quote! {
        #(#asserts)*

        #[doc = #snapshot_doc]
        #[derive(
            #private::serde::Serialize,
            #private::serde::Deserialize,
            ::core::clone::Clone,
            ::core::fmt::Debug,
            ::core::cmp::PartialEq,
        )]
        #[serde(crate = #serde_crate)]
        #[allow(unused_qualifications)]
        #vis struct #snapshot #guards {
            #(#snapshot_fields,)*
        }

        #[doc = #tx_doc]
        #[allow(dead_code, unused_qualifications)]
        #vis type #tx<'a> = #private::Tx<'a, #ident>;

        #[automatically_derived]
        #[allow(dead_code, unused_qualifications)]
        impl #ident #guards {
            #[doc = #new]
            #[track_caller]
            #vis fn new() -> Self {
                match <Self as #private::AppState>::try_with_clock(&#private::Clock::system()) {
                    #private::Ok(state) => state,
                    #private::Err(error) => #private::panic!("cannot build `{}`: {}", #name, error),
                }
            }

            #[doc = #try_new]
            #vis fn try_new() -> #private::Result<Self, #private::Error> {
                <Self as #private::AppState>::try_with_clock(&#private::Clock::system())
            }

            #[doc = #with_clock]
            #[track_caller]
            #vis fn with_clock(clock: &#private::Clock) -> Self {
                match <Self as #private::AppState>::try_with_clock(clock) {
                    #private::Ok(state) => state,
                    #private::Err(error) => #private::panic!("cannot build `{}`: {}", #name, error),
                }
            }

            #[doc = #try_with_clock]
            #vis fn try_with_clock(clock: &#private::Clock) -> #private::Result<Self, #private::Error> {
                <Self as #private::AppState>::try_with_clock(clock)
            }

            #[doc = #snapshot_fn]
            #vis fn snapshot(&self) -> #snapshot {
                <Self as #private::AppState>::snapshot(self)
            }

            #[doc = #transaction]
            #[inline]
            #vis fn transaction<R>(&self, f: impl ::core::ops::FnOnce(&#tx<'_>) -> R) -> R {
                <Self as #private::AppState>::transaction(self, f)
            }
        }

        #key_check

        const _: () = {
            #[automatically_derived]
            #[allow(unused_qualifications)]
            impl #private::AppState for #ident #guards {
                type Snapshot = #snapshot;
                #prefix

                const KEYS: &'static [#private::Key] = &[#(#keys),*];

                fn try_with_clock(#clock: &#private::Clock) -> #private::Result<Self, #private::Error> {
                    let #state = Self {
                        #(#build,)*
                    };
                    // Keys of a flattened hand-written state: only now.
                    if #private::keys::has_unknown(<Self as #private::AppState>::KEYS) {
                        #private::state::check_keys_at_run_time(&#state)?;
                    }
                    #private::Ok(#state)
                }

                fn describe() -> #private::Vec<#private::FieldInfo> {
                    #[allow(unused_mut)]
                    let mut #fields = #private::Vec::new();
                    #(#describe)*
                    #fields
                }

                fn visit(&self, #visitor: &mut dyn #private::Visitor) {
                    #(#visit)*
                }

                fn snapshot_unlocked(&self) -> #snapshot {
                    #snapshot {
                        #(#snapshot_values,)*
                    }
                }

                #[inline]
                fn collect_locks(&self, #locks: &mut #private::LockSet) {
                    #locks.add(self);
                    #(#lock_children)*
                }

                fn serialize_fields<__M>(&self, #map: &mut __M) -> #private::Result<(), __M::Error>
                where
                    __M: #private::serde::ser::SerializeMap,
                {
                    #(#entries)*
                    #private::Ok(())
                }
            }

            #[automatically_derived]
            #[allow(unused_qualifications)]
            impl #private::serde::Serialize for #ident #guards {
                fn serialize<__S>(&self, serializer: __S) -> #private::Result<__S::Ok, __S::Error>
                where
                    __S: #private::serde::Serializer,
                {
                    // Each field straight from its atomics, under the lock:
                    // the same JSON as the snapshot's, without building it.
                    let _guard = <Self as #private::AppState>::lock(self);
                    let mut map = #private::serde::Serializer::serialize_map(serializer, #private::None)?;
                    <Self as #private::AppState>::serialize_fields(self, &mut map)?;
                    #private::serde::ser::SerializeMap::end(map)
                }
            }

            #[automatically_derived]
            #[allow(unused_qualifications)]
            impl #private::Default for #ident #guards {
                /// Same as `new()`.
                #[track_caller]
                fn default() -> Self {
                    Self::new()
                }
            }
        };
    }
}

fn field_parts(
    field: &Field,
    input: &Input,
    private: &TokenStream,
    locals: &Locals,
    out: &mut Parts,
) {
    let Locals {
        clock,
        visitor,
        locks,
        fields,
        map,
        ..
    } = locals;
    let vis = input.vis;
    let name = field.ident;
    let ty = field.ty;
    let span = ty.span();
    let ident_text = name.to_string();
    let help = field.help();
    let docs = attr::docs(&field.original.attrs);
    let default_doc = (docs.is_empty()).then(|| {
        let text = format!("The value of `{}::{ident_text}`.", input.ident);
        quote!(#[doc = #text])
    });

    match field.role() {
        Role::Skip => {
            out.build
                .push(quote_spanned!(span=> #name: <#ty as #private::Default>::default()));
        }
        Role::Flatten => {
            let child_keys = quote_spanned!(span=> #private::state_keys::<#ty>());
            out.asserts
                .push(quote_spanned!(span=> const _: &[#private::Key] = #child_keys;));
            out.check_keys
                .push(quote!(#private::Key::Flatten(#ident_text, #child_keys)));
            out.guards.push(quote!(#ty: #private::AppState));
            let state = quote_spanned!(span=> <#ty as #private::AppState>);
            out.build
                .push(quote!(#name: #state::try_with_clock(#clock)?));
            out.snapshot_fields.push(quote! {
                #(#docs)*
                #default_doc
                #[serde(flatten)]
                #vis #name: #state::Snapshot
            });
            out.snapshot_values
                .push(quote!(#name: #state::snapshot_unlocked(&self.#name)));
            let info = quote! {
                #private::FieldInfo::new(#ident_text, #ident_text, #private::FieldKind::Flatten, #help)
            };
            out.describe.push(quote! {
                #fields.push(#info);
                #fields.extend(#state::describe());
            });
            out.visit.push(quote! {
                {
                    let info = #info;
                    #visitor.enter(&info);
                    #state::visit(&self.#name, #visitor);
                    #visitor.leave(&info);
                }
            });
            out.locks
                .push(quote!(#state::collect_locks(&self.#name, #locks);));
            out.entries
                .push(quote!(#state::serialize_fields(&self.#name, #map)?;));
            out.keys
                .push(quote!(#private::Key::Flatten(#ident_text, #state::KEYS)));
        }
        Role::Field(kind) => {
            out.asserts.push(assertion(field, kind, private));
            if kind == Kind::Own {
                out.asserts.push(own::key_checks(field, private));
            }
            // `Build` implies `Field`, which implies `Serialize`.
            out.guards.push(if field.attrs.default.is_none() {
                quote!(#ty: #private::Build)
            } else {
                quote!(#ty: #private::Field)
            });
            let as_field = quote_spanned!(span=> <#ty as #private::Field>);
            let value = build(field, kind, private, clock);
            out.build.push(quote!(#name: #value));
            let json = field.json_name();
            let key_unit = match &field.attrs.unit {
                Some(unit) => quote!(#private::Some(#unit)),
                None => quote!(#private::None),
            };
            out.keys.push(quote! {
                #private::Key::Field(#json, #ident_text, #key_unit, #as_field::FAMILIES)
            });
            // Outside the impls, the families come through a call whose
            // bound repeats the field's assertion (one error, not two); a
            // `Value<T>`'s do not depend on `T`.
            let families = if kind.is(FieldKind::Value) {
                quote!(#private::value_families())
            } else {
                quote_spanned!(span=> #private::field_families::<#ty>())
            };
            out.check_keys.push(quote! {
                #private::Key::Field(#json, #ident_text, #key_unit, #families)
            });
            let rename = field
                .attrs
                .rename
                .as_ref()
                .map(|_| quote!(#[serde(rename = #json)]));
            let deserialize_with = format!(
                "{} :: deserialize_snapshot",
                quote!(<#ty as #private::Field>)
            );
            out.snapshot_fields.push(quote! {
                #(#docs)*
                #default_doc
                #rename
                #[serde(deserialize_with = #deserialize_with)]
                #vis #name: #as_field::Snapshot
            });
            out.snapshot_values
                .push(quote!(#name: #as_field::snapshot(&self.#name)));
            out.entries.push(quote! {
                #private::serde::ser::SerializeMap::serialize_entry(#map, #json, &self.#name)?;
            });
            let unit = field
                .attrs
                .unit
                .as_ref()
                .map(|unit| quote!(.with_unit(#unit)));
            let info = quote! {
                #private::FieldInfo::new(#json, #ident_text, #as_field::KIND, #help)#unit
            };
            out.describe.push(quote!(#fields.push(#info);));
            out.visit
                .push(quote!(#visitor.field(&#info, #as_field::as_field_ref(&self.#name));));
        }
    }
}

/// The assertion that a field's type is a monsta field, spanned on the type:
/// for `Value<T>`, that `T` has what a value needs.
fn assertion(field: &Field, kind: Kind, private: &TokenStream) -> TokenStream {
    let ty = field.ty;
    let span = ty.span();
    if kind.is(FieldKind::Value)
        && let Some(arg) = ast::value_arg(ty)
    {
        let default = field
            .attrs
            .default
            .is_none()
            .then(|| quote_spanned!(span=> #private::assert_default_value::<#arg>();));
        return quote_spanned! {span=>
            const _: () = {
                #private::assert_value::<#arg>();
                #default
            };
        };
    }
    let assert = if field.attrs.default.is_none() {
        quote_spanned!(span=> assert_build)
    } else {
        quote_spanned!(span=> assert_field)
    };
    if kind == Kind::Own {
        let missing = own::missing_check(field, private);
        return quote_spanned!(span=> const _: () = { #private::#assert::<#ty>(); #missing };);
    }
    quote_spanned!(span=> const _: () = #private::#assert::<#ty>();)
}

/// The expression that builds a monsta field.
fn build(field: &Field, kind: Kind, private: &TokenStream, clock: &Ident) -> TokenStream {
    let ty = field.ty;
    let span = ty.span();
    if let Some(default) = &field.attrs.default {
        let value = default_value(default, kind);
        let ctor = if kind.is(FieldKind::Value) {
            quote!(new)
        } else {
            quote!(with_value)
        };
        return quote_spanned!(span=> <#ty>::#ctor(#value));
    }
    let config = config(field, private);
    quote_spanned!(span=> <#ty as #private::Build>::build(#config, #clock)?)
}

/// A `default = ...` value: a string literal converts with `From`, an
/// integer literal for a `Gauge` becomes an `f64`, anything else is used as
/// written.
fn default_value(expr: &Expr, kind: Kind) -> TokenStream {
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Str(s), ..
    }) = expr
    {
        return quote!(::core::convert::From::from(#s));
    }
    if kind.is(FieldKind::Gauge)
        && let Some(n) = attr::number(expr)
    {
        return float(n.value);
    }
    quote!(#expr)
}

/// `&FieldConfig { ... }` with the keys the field sets.
fn config(field: &Field, private: &TokenStream) -> TokenStream {
    let a = &field.attrs;
    let mut entries = Vec::new();
    if let Some(Ok(d)) = a.window.as_ref().map(valid::window) {
        let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
        entries.push(quote!(window: #private::Some(#private::Duration::new(#secs, #nanos))));
    }
    if let Some(r) = &a.reset_at {
        let lit = r;
        entries.push(quote!(reset_at: #private::Some(#private::params::parse_time_of_day(#lit)?)));
    }
    if let Some(tz) = &a.tz {
        let lit = tz;
        entries.push(quote!(tz: #private::Some(#lit)));
    }
    let numbers = [
        ("alpha", &a.alpha),
        ("preset", &a.preset),
        ("zero", &a.zero),
        ("capacity", &a.capacity),
        ("leak_rate", &a.leak_rate),
    ];
    for (key, setting) in numbers {
        if let Some(n) = setting {
            let key = Ident::new(key, Span::call_site());
            let value = float(n.value);
            entries.push(quote!(#key: #private::Some(#value)));
        }
    }
    if let Some(q) = &a.quantiles {
        let values = q.list.iter().map(|n| float(n.value));
        entries.push(quote!(quantiles: #private::Some(&[#(#values),*])));
    }
    if let Some(m) = &a.max_samples {
        let n = Literal::usize_suffixed(m.value);
        entries.push(quote!(max_samples: #private::Some(#n)));
    }
    if let Some(Ok(values)) = a.buckets.as_ref().map(|b| &b.values) {
        let values = values.iter().map(|v| float(*v));
        entries.push(quote!(buckets: #private::Some(&[#(#values),*])));
    }
    if let Some(l) = &a.labels {
        let names = &l.names;
        entries.push(quote!(labels: #private::Some(&[#(#names),*])));
    }
    if let Some(m) = &a.max_series {
        let n = Literal::usize_suffixed(m.value);
        entries.push(quote!(max_series: #private::Some(#n)));
    }
    if let Some(Ok(d)) = a.expire_after.as_ref().map(valid::window) {
        let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
        entries.push(quote!(expire_after: #private::Some(#private::Duration::new(#secs, #nanos))));
    }
    entries.extend(own::config_entry(field, private));
    if entries.is_empty() {
        quote!(&<#private::FieldConfig as #private::Default>::default())
    } else {
        quote!(&#private::FieldConfig { #(#entries,)* ..#private::Default::default() })
    }
}

/// An `f64` literal (validated finite), negated with a `-` token.
pub fn float(value: f64) -> TokenStream {
    let lit = Literal::f64_suffixed(value.abs());
    if value.is_sign_negative() {
        quote!(-#lit)
    } else {
        quote!(#lit)
    }
}
