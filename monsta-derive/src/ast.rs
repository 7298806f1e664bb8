//! The derive's input, read from syn's syntax tree: the struct, its fields,
//! their recognized types and parsed attributes.

use proc_macro2::Span;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Path, Type, Visibility};

use monsta_core::{
    FieldKind,
    kinds::{self, KindSpec},
};

use crate::attr::{self, ContainerAttrs, Errors, FieldAttrs};

/// A struct deriving `AppState`.
pub struct Input<'a> {
    /// The struct's name.
    pub ident: &'a Ident,
    /// The struct's visibility, given to the generated public items.
    pub vis: &'a Visibility,
    /// The path of the monsta crate (`::monsta` unless `crate = "..."`).
    pub krate: Path,
    /// `#[monsta(prefix = "...")]`: the metric name prefix.
    pub prefix: Option<LitStr>,
    /// The named fields, in declaration order.
    pub fields: Vec<Field<'a>>,
}

/// One named field of the struct.
pub struct Field<'a> {
    /// The field as written, for spans and doc comments.
    pub original: &'a syn::Field,
    /// Its name.
    pub ident: &'a Ident,
    /// Its type.
    pub ty: &'a Type,
    /// The monsta field kind: `#[monsta(field)]`, or the built-in kind the
    /// type's name says.
    pub kind: Option<Kind>,
    /// Its `#[monsta(...)]` keys.
    pub attrs: FieldAttrs,
    /// The help text from the doc comment (used unless `help = "..."`).
    pub doc_help: String,
    /// The errors in its attributes, reported with its other errors so that
    /// errors come in source order.
    pub attr_errors: Errors,
}

/// What a field is to the state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// `#[monsta(skip)]`: built with `Default`, not part of the state.
    Skip,
    /// `#[monsta(flatten)]`: a nested state serialized inline.
    Flatten,
    /// A monsta field.
    Field(Kind),
}

/// A field's kind: one of monsta's own, or a type of one's own.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A built-in kind: its entry of monsta-core's table of kinds, found by
    /// the last segment of the type's path.
    Builtin(&'static KindSpec),
    /// `#[monsta(field)]`: a type that implements `Field` and `Build`
    /// itself, whatever its name.
    Own,
}

impl Kind {
    /// Every built-in kind, in the documentation's order.
    pub const ALL: &'static [KindSpec] = kinds::KINDS;

    /// The kind's name in messages: the type's name as users write it
    /// (`Value<T>`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Builtin(spec) => spec.display,
            Kind::Own => "a type of one's own",
        }
    }

    /// Whether this is the built-in kind `kind`: for what the derive still
    /// does differently for one kind (the generic argument of `Value<T>`,
    /// the integer `default` of a `Gauge`).
    pub fn is(self, kind: FieldKind) -> bool {
        matches!(self, Kind::Builtin(spec) if spec.kind == kind)
    }

    /// The built-in kind of a field's type: a path whose last segment names
    /// a monsta field (`Ewma`, `monsta::fields::Ewma`, `Value<String>`).
    /// Generic arguments are left to the compiler to check.
    pub fn of(ty: &Type) -> Option<Kind> {
        let path = match ty {
            Type::Group(g) => return Kind::of(&g.elem),
            Type::Paren(p) => return Kind::of(&p.elem),
            Type::Path(p) if p.qself.is_none() => &p.path,
            _ => return None,
        };
        let last = path.segments.last()?;
        kinds::by_type_name(&last.ident.to_string()).map(Kind::Builtin)
    }
}

impl<'a> Input<'a> {
    /// Reads the input, recording every error in `errors`. `None` when the
    /// input is not a struct with named fields (nothing else can be checked).
    pub fn from_syn(input: &'a DeriveInput, errors: &mut Errors) -> Option<Self> {
        let container: ContainerAttrs = attr::container(&input.attrs, errors);
        let krate = container.krate.unwrap_or_else(default_krate);
        let prefix = container.prefix;

        let generics = &input.generics;
        if generics.lt_token.is_some() || generics.where_clause.is_some() {
            let message = "`#[derive(AppState)]` does not support generic parameters or where \
                           clauses: a state is built from its attributes, so its field types \
                           must be concrete";
            match (&generics.lt_token, &generics.where_clause) {
                (None, Some(where_clause)) => errors.error(where_clause, message),
                _ => errors.error(generics, message),
            }
        }

        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => &named.named,
                Fields::Unnamed(unnamed) => {
                    errors.error(
                        unnamed,
                        "`#[derive(AppState)]` needs a struct with named fields, \
                         such as `struct MyState { requests: Counter }`, not a tuple struct",
                    );
                    return None;
                }
                Fields::Unit => {
                    errors.error(
                        &input.ident,
                        "`#[derive(AppState)]` needs a struct with named fields, \
                         such as `struct MyState { requests: Counter }`, not a unit struct",
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                errors.error(
                    data.enum_token,
                    "`#[derive(AppState)]` needs a struct with named fields, \
                     such as `struct MyState { requests: Counter }`, not an enum",
                );
                return None;
            }
            Data::Union(data) => {
                errors.error(
                    data.union_token,
                    "`#[derive(AppState)]` needs a struct with named fields, \
                     such as `struct MyState { requests: Counter }`, not a union",
                );
                return None;
            }
        };

        let fields = fields
            .iter()
            .filter_map(|original| {
                let mut attr_errors = Errors::default();
                let attrs = attr::field(&original.attrs, &mut attr_errors);
                // `field` says the type is one's own, even if its name is
                // that of a built-in kind.
                let kind = match attrs.field {
                    Some(_) => Some(Kind::Own),
                    None => Kind::of(&original.ty),
                };
                Some(Field {
                    original,
                    ident: original.ident.as_ref()?,
                    ty: &original.ty,
                    kind,
                    attrs,
                    doc_help: attr::doc_help(&original.attrs),
                    attr_errors,
                })
            })
            .collect();

        Some(Input {
            ident: &input.ident,
            vis: &input.vis,
            krate,
            prefix,
            fields,
        })
    }
}

impl Field<'_> {
    /// What the field is, once [`crate::valid`] has passed.
    pub fn role(&self) -> Role {
        if self.attrs.skip.is_some() {
            Role::Skip
        } else if self.attrs.flatten.is_some() {
            Role::Flatten
        } else {
            // `valid` rejects a field that is none of the three.
            self.kind.map_or(Role::Skip, Role::Field)
        }
    }

    /// The field's name in JSON: `rename`, else the identifier without `r#`.
    pub fn json_name(&self) -> String {
        match &self.attrs.rename {
            Some(r) => r.value(),
            None => syn::ext::IdentExt::unraw(self.ident).to_string(),
        }
    }

    /// The help text: `help = "..."`, else the doc comment's first paragraph.
    pub fn help(&self) -> String {
        match &self.attrs.help {
            Some(h) => h.value(),
            None => self.doc_help.clone(),
        }
    }
}

/// The `T` of a `Value<T>` as written.
pub fn value_arg(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let syn::PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(arg) if args.args.len() == 1 => Some(arg),
        _ => None,
    }
}

/// The label set and child types of a `Family<L, F>` as written.
pub fn family_args(ty: &syn::Type) -> Option<(&syn::Type, &syn::Type)> {
    let ty = match ty {
        syn::Type::Group(g) => return family_args(&g.elem),
        syn::Type::Paren(p) => return family_args(&p.elem),
        ty => ty,
    };
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let syn::PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    Some((types.next()?, types.next()?))
}

/// How many label values a label set type written as a tuple, a string or
/// a primitive has; `None` for a type of its own (which names its labels).
pub fn tuple_len(ty: &syn::Type) -> Option<usize> {
    match ty {
        syn::Type::Group(g) => tuple_len(&g.elem),
        syn::Type::Paren(p) => tuple_len(&p.elem),
        syn::Type::Tuple(t) => Some(t.elems.len()),
        syn::Type::Reference(_) => Some(1),
        syn::Type::Path(p) if p.qself.is_none() => {
            const PLAIN: &[&str] = &[
                "String", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
                "i64", "i128", "isize", "bool",
            ];
            let last = p.path.segments.last()?.ident.to_string();
            PLAIN.contains(&last.as_str()).then_some(1)
        }
        _ => None,
    }
}

/// `::monsta`.
pub fn default_krate() -> Path {
    let mut path = Path::from(Ident::new("monsta", Span::call_site()));
    path.leading_colon = Some(Default::default());
    path
}
