//! Glob patterns on request paths, matched on every request: the simple
//! forms (a literal, `lit*`, `*lit`, `*lit*`, where `lit` has no glob
//! metacharacter) by string comparison, the others by a [`GlobSet`]. The
//! same answers as one `GlobSet` of all of them, without its regex for the
//! common patterns (`*/mon/v1/*`, `/health`).

use globset::{Glob, GlobSet, GlobSetBuilder};
use memchr::memmem::Finder;

use super::ConfigError;

/// A set of path patterns (`*` matches across `/`).
#[derive(Debug, Default)]
pub(crate) struct Paths {
    exact: Vec<String>,
    prefix: Vec<String>,
    suffix: Vec<String>,
    /// Prebuilt searchers: no set-up per path.
    contains: Vec<Finder<'static>>,
    globs: Option<GlobSet>,
}

/// Whether `s` has none of globset's metacharacters.
fn literal(s: &str) -> bool {
    !s.contains(['*', '?', '[', ']', '{', '}', '\\'])
}

impl Paths {
    /// The set of `patterns`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Pattern`] for a pattern globset does not accept.
    pub(crate) fn new(patterns: &[String]) -> Result<Self, ConfigError> {
        let mut paths = Paths::default();
        let mut globs = GlobSetBuilder::new();
        let mut any_glob = false;
        for pattern in patterns {
            // Every pattern is checked as a glob, whichever way it matches.
            let glob = Glob::new(pattern).map_err(|e| ConfigError::Pattern {
                pattern: pattern.clone(),
                message: e.to_string(),
            })?;
            let inner = pattern
                .strip_prefix('*')
                .and_then(|p| p.strip_suffix('*'))
                .filter(|p| literal(p) && !p.is_empty());
            if literal(pattern) {
                paths.exact.push(pattern.clone());
            } else if let Some(inner) = inner {
                paths
                    .contains
                    .push(Finder::new(inner.as_bytes()).into_owned());
            } else if let Some(p) = pattern.strip_suffix('*').filter(|p| literal(p)) {
                paths.prefix.push(p.to_owned());
            } else if let Some(s) = pattern.strip_prefix('*').filter(|s| literal(s)) {
                paths.suffix.push(s.to_owned());
            } else {
                globs.add(glob);
                any_glob = true;
            }
        }
        if any_glob {
            paths.globs = Some(globs.build().map_err(|e| ConfigError::Pattern {
                pattern: patterns.join(","),
                message: e.to_string(),
            })?);
        }
        Ok(paths)
    }

    /// Whether `path` matches one of the patterns.
    pub(crate) fn is_match(&self, path: &str) -> bool {
        self.exact.iter().any(|p| p == path)
            || self.prefix.iter().any(|p| path.starts_with(p.as_str()))
            || self.suffix.iter().any(|s| path.ends_with(s.as_str()))
            || self
                .contains
                .iter()
                .any(|c| c.find(path.as_bytes()).is_some())
            || self.globs.as_ref().is_some_and(|g| g.is_match(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_answers_as_one_globset() {
        let patterns: Vec<String> = [
            "/metrics",
            "*/mon/v1/*",
            "/static/*",
            "*.png",
            "*",
            "**",
            "/a/*/b",
            "/x?",
            "/{one,two}",
            "/[ab]c",
            "*/",
            "/",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let paths = [
            "/",
            "/metrics",
            "/metrics/",
            "/mon/v1/state",
            "/api/mon/v1/x",
            "/mon/v1",
            "/static",
            "/static/",
            "/static/a/b.css",
            "/logo.png",
            "/a/x/b",
            "/a/x/y/b",
            "/xy",
            "/x",
            "/one",
            "/two",
            "/three",
            "/ac",
            "/cc",
            "/users/",
            "",
        ];
        for i in 0..patterns.len() {
            for j in i..=patterns.len() {
                let some = &patterns[i..j];
                let ours = Paths::new(some).unwrap();
                let mut b = GlobSetBuilder::new();
                for p in some {
                    b.add(Glob::new(p).unwrap());
                }
                let theirs = b.build().unwrap();
                for path in paths {
                    assert_eq!(
                        ours.is_match(path),
                        theirs.is_match(path),
                        "{some:?} on {path:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_bad_pattern_is_an_error_that_names_it() {
        let err = Paths::new(&["/ok".into(), "/[bad".into()]).unwrap_err();
        assert!(err.to_string().contains("/[bad"), "{err}");
    }
}
