//! Checks what the attributes mean: whether each key fits the field's type,
//! and each value with the very functions the run-time constructors call
//! (`monsta_core::params`), so an attribute compiles exactly when the same
//! value would be accepted at run time.

use std::{collections::HashMap, time::Duration};

use monsta_core::{
    FieldKind,
    kinds::{self, KindSpec},
    params,
};
use quote::ToTokens;

use crate::{
    ast::{self, Field, Input, Kind},
    attr::{self, Errors, Number, Window},
};

/// A check of `monsta_core::params` for a number.
type NumberCheck = fn(f64) -> Result<f64, monsta_core::Error>;

/// Records every error of `input` in `errors`.
pub fn check(input: &Input, errors: &mut Errors) {
    if let Some(prefix) = &input.prefix {
        check_metric_word(prefix, attr::PREFIX, "a metric name prefix", errors);
    }
    let mut names: HashMap<String, &syn::Ident> = HashMap::new();
    for field in &input.fields {
        errors.extend(&field.attr_errors);
        check_field(field, errors);
        if field.attrs.skip.is_some() || field.attrs.flatten.is_some() {
            continue;
        }
        if let Some(rename) = field.attrs.rename.as_ref().filter(|r| r.value().is_empty()) {
            errors.error(
                rename,
                "`rename` must not be empty: the field needs a JSON key, such as \
                 `rename = \"requests\"`",
            );
            continue;
        }
        let name = field.json_name();
        if let Some(first) = names.get(&name) {
            let message = format!(
                "duplicate JSON name `{name}`: field `{first}` already serializes as `{name}`; \
                 give one of them another name with `rename = \"...\"`"
            );
            match &field.attrs.rename {
                Some(r) => errors.error(r, message),
                None => errors.error(field.ident, message),
            }
        } else {
            names.insert(name, field.ident);
        }
    }
}

/// "`A`", "`A` and `B`", "`A`, `B` and `C`".
fn type_list<'a>(kinds: impl IntoIterator<Item = &'a KindSpec>) -> String {
    let names: Vec<String> = kinds
        .into_iter()
        .map(|k| format!("`{}`", k.display))
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

fn check_field(field: &Field, errors: &mut Errors) {
    let attrs = &field.attrs;
    if attrs.skip.is_some() {
        for (key, ident) in attrs.keys.iter().filter(|(k, _)| *k != attr::SKIP) {
            errors.error(
                ident,
                format_args!(
                    "`{key}` does not apply to a skipped field: `skip` leaves the field out of \
                     the state and builds it with `Default::default()`"
                ),
            );
        }
        return;
    }
    if attrs.flatten.is_some() {
        let other = |(k, _): &&(&str, syn::Ident)| *k != attr::FLATTEN && *k != attr::HELP;
        for (key, ident) in attrs.keys.iter().filter(other) {
            errors.error(
                ident,
                format_args!(
                    "`{key}` does not apply to a flattened field: its fields are serialized \
                     inline and take their own attributes (only `help` applies here)"
                ),
            );
        }
        return;
    }
    let Some(kind) = field.kind else {
        errors.error(
            field.ty,
            format_args!(
                "`{}` is not a monsta field type: expected {}; for a plain serde value use \
                 `Value<T>`, for a nested `AppState` add `#[monsta(flatten)]`, to leave the \
                 field out of the state add `#[monsta(skip)]`",
                type_text(field.ty),
                type_list(Kind::ALL).replacen(" and ", " or ", 1),
            ),
        );
        return;
    };
    let spec = match kind {
        Kind::Builtin(spec) => spec,
        Kind::Own => return check_own(field, errors),
    };
    let child = (spec.kind == FieldKind::Family)
        .then(|| ast::family_args(field.ty).and_then(|(_, child)| Kind::of(child)))
        .flatten()
        .and_then(|k| match k {
            Kind::Builtin(spec) => Some(spec),
            Kind::Own => None,
        });
    let takes = |key: &str| {
        spec.takes(key) || (key != kinds::DEFAULT && child.is_some_and(|c| c.takes(key)))
    };
    for (key, ident) in &attrs.keys {
        if let Some(kinds) = kinds::applies_to(key)
            && !takes(key)
        {
            let what = match child {
                Some(c) => format!("`Family<L, {}>`", c.display),
                None => format!("`{}`", kind.name()),
            };
            errors.error(
                ident,
                format_args!(
                    "`{key}` applies only to {} fields, not to {what}",
                    type_list(kinds),
                ),
            );
        }
    }
    check_values(field, spec, child, &takes, errors);
    if spec.kind == FieldKind::Family {
        check_family(field, errors);
    }
}

/// The label names of a family: valid, distinct, and given (as many as
/// the tuple has values) when the label set is a tuple or a plain value.
fn check_family(field: &Field, errors: &mut Errors) {
    let attrs = &field.attrs;
    let labels = ast::family_args(field.ty).map(|(labels, _)| labels);
    if let Some(names) = &attrs.labels {
        let mut seen: Vec<String> = Vec::new();
        for name in &names.names {
            let text = name.value();
            if let Err(e) = params::check_label_name(&text) {
                errors.error(name, e);
            } else if seen.contains(&text) {
                errors.error(name, format_args!("duplicate label name `{text}`"));
            }
            seen.push(text);
        }
        if let Some(len) = labels.and_then(ast::tuple_len)
            && len != names.names.len()
        {
            errors.error(
                &names.expr,
                format_args!(
                    "`labels` must name each of the {len} values of the label set, got {} name{}",
                    names.names.len(),
                    if names.names.len() == 1 { "" } else { "s" }
                ),
            );
        }
    } else if let Some(labels) = labels
        && let Some(len) = ast::tuple_len(labels)
    {
        let example: Vec<String> = (1..=len).map(|i| format!("\"label{i}\"")).collect();
        errors.error(
            labels,
            format_args!(
                "a `Family` of `{}` needs its label names: add `#[monsta(labels = [{}])]`, or \
                 use a struct with `#[derive(monsta::Labels)]`",
                type_text(labels),
                example.join(", ")
            ),
        );
    }
    if let Some(m) = &attrs.max_series {
        report(errors, &m.lit, params::check_max_series(m.value).map(drop));
    }
    if let Some(w) = &attrs.expire_after
        && let Err(e) = window(w)
    {
        // The checks are a window's; the message names the key.
        let message = e.to_string().replacen("window", "expire_after", 1);
        match &w {
            Window::Text(s) => errors.error(s, message),
            Window::Secs(n) => errors.error(&n.expr, message),
        }
    }
}

/// A `#[monsta(field)]` field: of monsta's keys, only those every field
/// takes. Keys of the type's own are checked by the compiler (see
/// `own::key_checks`).
fn check_own(field: &Field, errors: &mut Errors) {
    let common = |key: &str| key == attr::FIELD || kinds::COMMON_KEYS.contains(&key);
    for (key, ident) in field.attrs.keys.iter().filter(|(k, _)| !common(k)) {
        errors.error(
            ident,
            format_args!(
                "`{key}` does not apply to a `#[monsta(field)]` field: a field type of one's own \
                 takes `rename`, `help`, `unit` and the keys its `Build::KEYS` declares"
            ),
        );
    }
    if let Some(unit) = &field.attrs.unit {
        check_metric_word(unit, attr::UNIT, "a unit name", errors);
    }
}

/// Whether `text` is kept as it is by exporters' name mapping (monsta
/// prometheus's `metric_name`): ASCII letters, digits and `_`, not empty,
/// not starting with a digit.
fn is_metric_word(text: &str) -> bool {
    !text.starts_with(|c: char| c.is_ascii_digit())
        && !text.is_empty()
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks a `prefix` or `unit`: a word that goes into metric names as
/// written, rather than one an exporter would have to map.
fn check_metric_word(lit: &syn::LitStr, key: &str, what: &str, errors: &mut Errors) {
    let text = lit.value();
    if !is_metric_word(&text) {
        errors.error(
            lit,
            format_args!(
                "`{key}` must be {what}: ASCII letters, digits and `_`, not starting with a \
                 digit, such as `{}`; got `{}`",
                attr::example(key),
                text.escape_debug()
            ),
        );
    }
}

fn check_values(
    field: &Field,
    kind: &KindSpec,
    child: Option<&KindSpec>,
    takes: &dyn Fn(&str) -> bool,
    errors: &mut Errors,
) {
    let attrs = &field.attrs;
    let applies = |key| takes(key);
    if let Some(b) = attrs.buckets.as_ref().filter(|_| applies(attr::BUCKETS))
        && let Err(e) = &b.values
    {
        errors.error(&b.expr, e);
    }
    // A family needs what its child needs.
    let kind = child.unwrap_or(kind);
    if let Some(unit) = &attrs.unit {
        check_metric_word(unit, attr::UNIT, "a unit name", errors);
    }
    if let Some(w) = attrs.window.as_ref().filter(|_| applies(attr::WINDOW)) {
        let result = window(w).map(drop);
        match &w {
            Window::Text(s) => report(errors, s, result),
            Window::Secs(n) => report(errors, &n.expr, result),
        }
    }
    if let Some(r) = attrs.reset_at.as_ref().filter(|_| applies(attr::RESET_AT)) {
        report(errors, r, params::parse_time_of_day(&r.value()).map(drop));
    }
    if let Some(tz) = attrs.tz.as_ref().filter(|_| applies(attr::TZ)) {
        report(errors, tz, params::time_zone(&tz.value()).map(drop));
    }
    let numbers: [(&str, &Option<Number>, NumberCheck); 5] = [
        (attr::ALPHA, &attrs.alpha, params::check_alpha),
        (attr::PRESET, &attrs.preset, |v| {
            params::check_finite("preset", v)
        }),
        (attr::ZERO, &attrs.zero, |v| params::check_finite("zero", v)),
        (attr::CAPACITY, &attrs.capacity, params::check_capacity),
        (attr::LEAK_RATE, &attrs.leak_rate, params::check_leak_rate),
    ];
    for (key, setting, check) in numbers {
        if let Some(n) = setting.as_ref().filter(|_| applies(key)) {
            report(errors, &n.expr, check(n.value).map(drop));
        }
    }
    if let Some(q) = attrs
        .quantiles
        .as_ref()
        .filter(|_| applies(attr::QUANTILES))
    {
        let values: Vec<f64> = q.list.iter().map(|n| n.value).collect();
        if values.is_empty() {
            report(errors, &q.expr, params::check_quantiles(&values));
        }
        for n in &q.list {
            report(errors, &n.expr, params::check_quantile(n.value).map(drop));
        }
    }
    if let Some(m) = attrs
        .max_samples
        .as_ref()
        .filter(|_| applies(attr::MAX_SAMPLES))
    {
        report(errors, &m.lit, params::check_max_samples(m.value).map(drop));
    }
    // A key given with a bad value was reported as such, not as missing.
    let missing: Vec<&str> = (kind.required.iter().copied())
        .filter(|&key| !attrs.keys.iter().any(|(k, _)| *k == key))
        .collect();
    if !missing.is_empty() {
        let example: Vec<&str> = kind.required.iter().map(|k| attr::example(k)).collect();
        errors.error(
            field.ty,
            format_args!(
                "a `{}` field needs `{}`: {}, such as `#[monsta({})]`",
                kind.display,
                missing.join("` and `"),
                kind.required_why,
                example.join(", ")
            ),
        );
    }
}

/// Records the error of a check, spanned on the value.
fn report(errors: &mut Errors, value: &dyn ToTokens, result: Result<(), monsta_core::Error>) {
    if let Err(e) = result {
        errors.error(value.to_token_stream(), e);
    }
}

/// The duration a `window` value stands for.
pub fn window(w: &Window) -> Result<Duration, monsta_core::Error> {
    match w {
        Window::Text(s) => params::parse_duration(&s.value()),
        Window::Secs(n) => params::window_from_secs(n.value),
    }
}

/// A type as written, without the spaces token streams print.
fn type_text(ty: &syn::Type) -> String {
    let mut out = String::new();
    for c in ty.to_token_stream().to_string().chars() {
        let prev = out.chars().last();
        if c == ' ' {
            out.push(c);
            continue;
        }
        if prev == Some(' ') && matches!(c, '<' | '>' | ':' | ',' | ';' | ')' | ']') {
            out.pop();
        }
        if matches!(out.chars().last(), Some(' '))
            && matches!(out.chars().rev().nth(1), Some('<' | ':' | '(' | '[' | '&'))
        {
            out.pop();
        }
        out.push(c);
    }
    out
}
