//! Parsing of `#[monsta(...)]` attributes and doc comments.
//!
//! This module checks syntax and the type of each value (a string, a number, a
//! list); [`crate::valid`] checks what the values mean. Errors are collected in
//! [`Errors`] so that one compilation reports every mistake of an input.

use std::fmt::Display;

use quote::ToTokens;
use syn::{Attribute, Expr, Ident, Lit, LitInt, LitStr, Path, Token, UnOp, meta::ParseNestedMeta};

/// The attribute's name: `#[monsta(...)]`.
pub const MONSTA: &str = "monsta";

/// The key names and their examples: monsta-core's table of kinds and keys.
pub use monsta_core::kinds::{
    ALPHA, BUCKETS, CAPACITY, CONTAINER_KEYS, CRATE, EXPIRE_AFTER, FIELD, FIELD_KEYS, FLATTEN,
    HELP, LABELS, LEAK_RATE, MAX_SAMPLES, MAX_SERIES, PREFIX, PRESET, QUANTILES, RENAME, RESET_AT,
    SKIP, TZ, UNIT, WINDOW, ZERO, example,
};

/// The errors of one input, reported together (serde's `Ctxt`).
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Records an error.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records an error spanning `tokens`.
    pub fn error(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records every error of `other`.
    pub fn extend(&mut self, other: &Errors) {
        if let Some(e) = &other.0 {
            self.push(e.clone());
        }
    }

    /// `Err` with every recorded error, if there is one.
    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// A number literal, possibly negated.
pub struct Number {
    /// Its value.
    pub value: f64,
    /// The expression, for spans.
    pub expr: Expr,
}

/// The value of `window`.
pub enum Window {
    /// A duration string such as `"60s"`.
    Text(LitStr),
    /// A number of seconds.
    Secs(Number),
}

/// The value of `quantiles`.
pub struct Quantiles {
    /// The numbers in the list.
    pub list: Vec<Number>,
    /// The whole list, for spans.
    pub expr: Expr,
}

/// The value of `buckets`: a list, or a call of `exponential_buckets` or
/// `linear_buckets` with number literals.
pub struct Buckets {
    /// The bounds it stands for, or why it stands for none.
    pub values: Result<Vec<f64>, monsta_core::Error>,
    /// The whole value, for spans.
    pub expr: Expr,
}

/// The value of `labels`.
pub struct LabelNames {
    /// The names.
    pub names: Vec<LitStr>,
    /// The whole list, for spans.
    pub expr: Expr,
}

/// The value of `max_samples`.
pub struct Count {
    /// Its value.
    pub value: usize,
    /// The literal, for spans.
    pub lit: LitInt,
}

/// A key of a field type's own (`#[monsta(field, buckets = 10)]`), checked
/// against the type's `Build::KEYS` by the compiler.
pub struct OwnKey {
    /// The key.
    pub key: Ident,
    /// Its value.
    pub value: OwnValue,
}

/// The value of an [`OwnKey`].
pub enum OwnValue {
    /// A number literal, possibly negated.
    Number(Number),
    /// A string literal.
    Text(LitStr),
}

/// The `#[monsta(...)]` keys of one field.
#[derive(Default)]
pub struct FieldAttrs {
    pub window: Option<Window>,
    pub reset_at: Option<LitStr>,
    pub tz: Option<LitStr>,
    pub alpha: Option<Number>,
    pub preset: Option<Number>,
    pub zero: Option<Number>,
    pub capacity: Option<Number>,
    pub leak_rate: Option<Number>,
    pub quantiles: Option<Quantiles>,
    pub max_samples: Option<Count>,
    pub buckets: Option<Buckets>,
    pub labels: Option<LabelNames>,
    pub max_series: Option<Count>,
    pub expire_after: Option<Window>,
    pub default: Option<Expr>,
    pub rename: Option<LitStr>,
    pub help: Option<LitStr>,
    pub unit: Option<LitStr>,
    pub skip: Option<Ident>,
    pub flatten: Option<Ident>,
    /// `field`: a field type of one's own.
    pub field: Option<Ident>,
    /// With `field`, the keys that are not monsta's, in the order written.
    pub own_keys: Vec<OwnKey>,
    /// Every key given (valid or not), in the order written.
    pub keys: Vec<(&'static str, Ident)>,
}

/// The `#[monsta(...)]` keys of the struct.
#[derive(Default)]
pub struct ContainerAttrs {
    /// `crate = "path"`.
    pub krate: Option<Path>,
    /// `prefix = "name"`, checked by [`crate::valid`].
    pub prefix: Option<LitStr>,
}

fn is_monsta(attr: &Attribute) -> bool {
    attr.path().is_ident(MONSTA)
}

/// Parses the struct's `#[monsta(...)]` attributes.
pub fn container(attrs: &[Attribute], errors: &mut Errors) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    let mut seen: Vec<&str> = Vec::new();
    for attr in attrs.iter().filter(|a| is_monsta(a)) {
        let result = attr.parse_nested_meta(|meta| {
            let name = meta
                .path
                .get_ident()
                .map(Ident::to_string)
                .and_then(|n| CONTAINER_KEYS.iter().copied().find(|k| *k == n));
            let Some(name) = name else {
                errors.error(
                    &meta.path,
                    format_args!(
                        "unknown monsta container attribute `{}`; expected one of: {}",
                        path_text(&meta.path),
                        CONTAINER_KEYS.join(", ")
                    ),
                );
                return skip_value(&meta);
            };
            let key = first_ident(&meta.path);
            let value = value_expr(&meta, &key, errors)?;
            if seen.contains(&name) {
                errors.error(&key, format_args!("duplicate monsta attribute `{name}`"));
                return Ok(());
            }
            seen.push(name);
            let Some(lit) = value.and_then(|v| string(&v, name, errors)) else {
                return Ok(());
            };
            if name == PREFIX {
                out.prefix = Some(lit);
                return Ok(());
            }
            match lit.parse::<Path>() {
                Ok(path) => out.krate = Some(path),
                Err(_) => errors.error(
                    &lit,
                    format_args!(
                        "`crate` must be a path to the monsta crate, such as `{}`",
                        example(CRATE)
                    ),
                ),
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}

/// Parses a field's `#[monsta(...)]` attributes.
pub fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    let own = has_field_key(attrs);
    for attr in attrs.iter().filter(|a| is_monsta(a)) {
        let result = attr.parse_nested_meta(|meta| {
            if own
                && let Some(ident) = meta.path.get_ident()
                && !FIELD_KEYS.iter().any(|k| ident == k)
            {
                return own_key(&meta, ident, &mut out, errors);
            }
            field_key(&meta, &mut out, errors)
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}

/// Whether the attributes have `field` (wherever it is written): the
/// field's type then takes keys of its own.
fn has_field_key(attrs: &[Attribute]) -> bool {
    let mut found = false;
    for attr in attrs.iter().filter(|a| is_monsta(a)) {
        // Errors are reported by the real parse.
        let _ = attr.parse_nested_meta(|meta| {
            found |= meta.path.is_ident(FIELD);
            skip_value(&meta)
        });
    }
    found
}

/// A key of a field type's own: a number or a string, checked by the
/// compiler against the type's keys.
fn own_key(
    meta: &ParseNestedMeta,
    ident: &Ident,
    out: &mut FieldAttrs,
    errors: &mut Errors,
) -> syn::Result<()> {
    if out.own_keys.iter().any(|k| k.key == *ident) {
        errors.error(ident, format_args!("duplicate monsta attribute `{ident}`"));
        return skip_value(meta);
    }
    if !meta.input.peek(Token![=]) {
        errors.error(
            ident,
            format_args!("`{ident}` needs a value, such as `{ident} = 10` or `{ident} = \"text\"`"),
        );
        return skip_value(meta);
    }
    let expr: Expr = meta.value()?.parse()?;
    let value = match (number(&expr), ungroup(&expr)) {
        (Some(n), _) => OwnValue::Number(n),
        (
            None,
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }),
        ) => OwnValue::Text(s.clone()),
        _ => {
            errors.error(
                &expr,
                format_args!(
                    "expected a number or a string for `{ident}`, such as `{ident} = 10` or \
                     `{ident} = \"text\"`"
                ),
            );
            return Ok(());
        }
    };
    out.own_keys.push(OwnKey {
        key: ident.clone(),
        value,
    });
    Ok(())
}

fn field_key(meta: &ParseNestedMeta, out: &mut FieldAttrs, errors: &mut Errors) -> syn::Result<()> {
    let name = meta
        .path
        .get_ident()
        .map(Ident::to_string)
        .and_then(|n| FIELD_KEYS.iter().copied().find(|k| *k == n));
    let Some(name) = name else {
        errors.error(
            &meta.path,
            format_args!(
                "unknown monsta field attribute `{}`; expected one of: {}",
                path_text(&meta.path),
                FIELD_KEYS.join(", ")
            ),
        );
        return skip_value(meta);
    };
    let key = first_ident(&meta.path);
    if out.keys.iter().any(|(k, _)| *k == name) {
        errors.error(&key, format_args!("duplicate monsta attribute `{name}`"));
        return skip_value(meta);
    }
    out.keys.push((name, key.clone()));

    if name == SKIP || name == FLATTEN || name == FIELD {
        if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
            errors.error(
                &key,
                format_args!("`{name}` takes no value: write `#[monsta({name})]`"),
            );
            skip_value(meta)?;
        }
        let slot = match name {
            SKIP => &mut out.skip,
            FLATTEN => &mut out.flatten,
            _ => &mut out.field,
        };
        *slot = Some(key);
        return Ok(());
    }

    let Some(expr) = value_expr(meta, &key, errors)? else {
        return Ok(());
    };
    match name {
        WINDOW => out.window = window(&expr, errors),
        RESET_AT => out.reset_at = string(&expr, name, errors),
        TZ => out.tz = string(&expr, name, errors),
        RENAME => out.rename = string(&expr, name, errors),
        HELP => out.help = string(&expr, name, errors),
        UNIT => out.unit = string(&expr, name, errors),
        ALPHA => out.alpha = number_or_error(&expr, name, errors),
        PRESET => out.preset = number_or_error(&expr, name, errors),
        ZERO => out.zero = number_or_error(&expr, name, errors),
        CAPACITY => out.capacity = number_or_error(&expr, name, errors),
        LEAK_RATE => out.leak_rate = number_or_error(&expr, name, errors),
        QUANTILES => out.quantiles = quantiles(expr, errors),
        MAX_SAMPLES => out.max_samples = count(&expr, name, errors),
        BUCKETS => out.buckets = buckets(expr, errors),
        LABELS => out.labels = label_names(expr, errors),
        MAX_SERIES => out.max_series = count(&expr, name, errors),
        EXPIRE_AFTER => out.expire_after = duration(&expr, EXPIRE_AFTER, errors),
        _ => out.default = Some(expr),
    }
    Ok(())
}

/// The help text a doc comment gives: its first paragraph, lines joined by
/// spaces.
pub fn doc_help(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
        {
            lines.extend(s.value().split('\n').map(|l| l.trim().to_owned()));
        }
    }
    lines
        .iter()
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The doc attributes of a field, to copy onto its snapshot field.
pub fn docs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("doc")).collect()
}

fn first_ident(path: &Path) -> Ident {
    path.segments[0].ident.clone()
}

fn path_text(path: &Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// Parses `= <expr>` after a key that needs a value.
fn value_expr(
    meta: &ParseNestedMeta,
    key: &Ident,
    errors: &mut Errors,
) -> syn::Result<Option<Expr>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(meta.value()?.parse()?));
    }
    let name = key.to_string();
    errors.error(
        key,
        format_args!("`{name}` needs a value, such as `{}`", example(&name)),
    );
    skip_value(meta)?;
    Ok(None)
}

/// Consumes whatever follows a key that is being rejected: `= <expr>` or a
/// parenthesized list.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

fn ungroup(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(g) => ungroup(&g.expr),
        Expr::Paren(p) => ungroup(&p.expr),
        e => e,
    }
}

fn string(expr: &Expr, key: &str, errors: &mut Errors) -> Option<LitStr> {
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Str(s), ..
    }) = ungroup(expr)
    {
        return Some(s.clone());
    }
    errors.error(
        expr,
        format_args!("expected a string for `{key}`, such as `{}`", example(key)),
    );
    None
}

/// A number literal, optionally negated; `None` if `expr` is not one.
pub fn number(expr: &Expr) -> Option<Number> {
    let (negative, lit) = match ungroup(expr) {
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => (true, ungroup(&u.expr)),
        e => (false, e),
    };
    let value: f64 = match lit {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse().ok()?,
        Expr::Lit(syn::ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse().ok()?,
        _ => return None,
    };
    Some(Number {
        value: if negative { -value } else { value },
        expr: expr.clone(),
    })
}

fn number_or_error(expr: &Expr, key: &str, errors: &mut Errors) -> Option<Number> {
    let n = number(expr);
    if n.is_none() {
        errors.error(
            expr,
            format_args!("expected a number for `{key}`, such as `{}`", example(key)),
        );
    }
    n
}

fn window(expr: &Expr, errors: &mut Errors) -> Option<Window> {
    duration(expr, WINDOW, errors)
}

fn duration(expr: &Expr, key: &str, errors: &mut Errors) -> Option<Window> {
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Str(s), ..
    }) = ungroup(expr)
    {
        return Some(Window::Text(s.clone()));
    }
    if let Some(n) = number(expr) {
        return Some(Window::Secs(n));
    }
    let example = if key == WINDOW { "60s" } else { "10m" };
    let secs = if key == WINDOW { "60" } else { "600" };
    errors.error(
        expr,
        format_args!(
            "expected a duration for `{key}`: a string such as `{key} = \"{example}\"` \
             (units ms, s, m, h) or a number of seconds such as `{key} = {secs}`"
        ),
    );
    None
}

/// `buckets = [..]`, `buckets = exponential_buckets(start, factor, count)`
/// or `buckets = linear_buckets(start, width, count)`.
fn buckets(expr: Expr, errors: &mut Errors) -> Option<Buckets> {
    let help = "expected a list of upper bounds for `buckets`, such as \
                `buckets = [0.01, 0.1, 1]`, or `buckets = exponential_buckets(0.001, 2, 12)` \
                or `buckets = linear_buckets(10, 10, 5)` (start, factor or width, count)";
    match ungroup(&expr) {
        Expr::Array(array) => {
            let mut list = Vec::new();
            for elem in &array.elems {
                match number(elem) {
                    Some(n) => list.push(n.value),
                    None => {
                        errors.error(elem, help);
                        return None;
                    }
                }
            }
            let values = monsta_core::params::check_buckets(&list).map(|()| list);
            Some(Buckets { values, expr })
        }
        Expr::Call(call) => {
            let name = match ungroup(&call.func) {
                Expr::Path(p) => p.path.get_ident().map(Ident::to_string),
                _ => None,
            };
            let args: Option<Vec<f64>> = call
                .args
                .iter()
                .map(|a| number(a).map(|n| n.value))
                .collect();
            let (Some(name), Some(args)) = (name, args) else {
                errors.error(&expr, help);
                return None;
            };
            let count = match args.get(2) {
                Some(&c) if args.len() == 3 && c >= 0.0 && c.fract() == 0.0 => c as usize,
                _ => {
                    errors.error(
                        &expr,
                        format_args!(
                            "`{name}` takes three numbers: start, {}, and a whole count",
                            if name == "linear_buckets" {
                                "width"
                            } else {
                                "factor"
                            }
                        ),
                    );
                    return None;
                }
            };
            let values = match name.as_str() {
                "exponential_buckets" => {
                    monsta_core::params::exponential_buckets(args[0], args[1], count)
                }
                "linear_buckets" => monsta_core::params::linear_buckets(args[0], args[1], count),
                _ => {
                    errors.error(&call.func, help);
                    return None;
                }
            };
            Some(Buckets { values, expr })
        }
        _ => {
            errors.error(&expr, help);
            None
        }
    }
}

/// `labels = ["method", "route"]`.
fn label_names(expr: Expr, errors: &mut Errors) -> Option<LabelNames> {
    let help = format_args!(
        "expected a list of label names for `{LABELS}`, such as `{}`",
        example(LABELS)
    )
    .to_string();
    let Expr::Array(array) = ungroup(&expr) else {
        errors.error(&expr, help);
        return None;
    };
    let mut names = Vec::new();
    for elem in &array.elems {
        match ungroup(elem) {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => names.push(s.clone()),
            _ => {
                errors.error(elem, &help);
                return None;
            }
        }
    }
    Some(LabelNames { names, expr })
}

fn quantiles(expr: Expr, errors: &mut Errors) -> Option<Quantiles> {
    let Expr::Array(array) = ungroup(&expr) else {
        errors.error(
            &expr,
            format_args!(
                "expected a list of numbers for `{QUANTILES}`, such as `{}`",
                example(QUANTILES)
            ),
        );
        return None;
    };
    let mut list = Vec::new();
    let mut ok = true;
    for elem in &array.elems {
        match number(elem) {
            Some(n) => list.push(n),
            None => {
                ok = false;
                errors.error(
                    elem,
                    format_args!(
                        "expected a number (a percentile from 0 to 100) in `{QUANTILES}`, such as `{}`",
                        example(QUANTILES)
                    ),
                );
            }
        }
    }
    ok.then_some(Quantiles { list, expr })
}

fn count(expr: &Expr, key: &str, errors: &mut Errors) -> Option<Count> {
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Int(i), ..
    }) = ungroup(expr)
        && let Ok(value) = i.base10_parse::<usize>()
    {
        return Some(Count {
            value,
            lit: i.clone(),
        });
    }
    errors.error(
        expr,
        format_args!(
            "expected a positive integer for `{key}`, such as `{}`",
            example(key)
        ),
    );
    None
}
