//! [`WebConfig`]: a `web.config.yml` in the format of Prometheus'
//! exporter-toolkit, with monsta's own keys for bearer tokens, address rules
//! and the open health route.

use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use crate::{
    SecurityError,
    security::{Settings, check_bcrypt, parse_token_hash},
};

/// The environment variable that names the `web.config.yml` of the
/// process-wide reporter (and of the examples).
pub const WEB_CONFIG_ENV: &str = "MONSTA_WEB_CONFIG";

/// The security settings of a `web.config.yml`, the file Prometheus'
/// exporters read (exporter-toolkit's format), so the same file works for
/// monsta:
///
/// ```yaml
/// tls_server_config:            # feature `tls`
///   cert_file: server.crt       # relative to the file's directory
///   key_file: server.key
///   min_version: TLS12          # or TLS13; TLS10 and TLS11 are refused
///   # client_auth_type: RequireAndVerifyClientCert
///   # client_ca_file: clients-ca.crt
/// basic_auth_users:
///   prometheus: $2y$10$...      # bcrypt hashes, e.g. `htpasswd -nBC 10 ""`
/// monsta:                       # monsta's own keys
///   bearer_token_sha256:        # SHA-256 of each token, 64 hex digits
///     - 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
///   allow: [10.0.0.0/8, "::1/128"]
///   deny: [10.0.0.66/32]
///   open_health_endpoint: true  # /mon/v1/health without credentials
/// ```
///
/// `tls_server_config` takes `cert_file`, `key_file`, `client_auth_type`
/// (`NoClientCert`, `VerifyClientCertIfGiven`,
/// `RequireAndVerifyClientCert`), `client_ca_file`, `min_version`,
/// `max_version` and `prefer_server_cipher_suites`. Keys rustls cannot
/// honour (`cipher_suites`, `curve_preferences`, TLS 1.0 and 1.1, client
/// certificates that are not verified) are errors that say so, as are
/// unknown keys and bad values; an error names the key, never the value.
///
/// # Examples
///
/// ```
/// use monsta_http::{StatusReporter, WebConfig};
///
/// let config = WebConfig::from_yaml(r#"
/// basic_auth_users:
///   alice: $2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby
/// monsta:
///   allow: [127.0.0.0/8]
/// "#)?;
/// let mon = StatusReporter::builder().web_config(config).build();
/// # let _ = mon;
/// # Ok::<(), monsta_http::SecurityError>(())
/// ```
#[derive(Clone)]
pub struct WebConfig {
    settings: Settings,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut users: Vec<&String> = self.settings.users.keys().collect();
        users.sort();
        f.debug_struct("WebConfig")
            .field("basic_auth_users", &users)
            .field("bearer_tokens", &self.settings.tokens.len())
            .finish_non_exhaustive()
    }
}

impl WebConfig {
    /// Reads and checks the file at `path`; its relative file names are
    /// taken relative to the file's directory.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Read`] if it cannot be read; otherwise as
    /// [`from_yaml`](Self::from_yaml).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SecurityError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SecurityError::Read {
            key: "web config".to_owned(),
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        parse(&text, &path.display().to_string(), &base)
    }

    /// Checks a `web.config.yml` given as text (relative file names are
    /// taken relative to the working directory).
    ///
    /// # Errors
    ///
    /// [`SecurityError::Yaml`] if it is not YAML;
    /// [`SecurityError::UnknownKey`], [`SecurityError::BadValue`],
    /// [`SecurityError::Missing`] and [`SecurityError::Unsupported`] naming
    /// the key; [`SecurityError::TlsFeature`] for `tls_server_config`
    /// without the `tls` feature.
    pub fn from_yaml(text: &str) -> Result<Self, SecurityError> {
        parse(text, "<string>", Path::new(""))
    }

    /// The file named by `MONSTA_WEB_CONFIG`, if it is set and not empty.
    ///
    /// # Errors
    ///
    /// As [`from_file`](Self::from_file).
    pub fn from_env() -> Result<Option<Self>, SecurityError> {
        match std::env::var_os(WEB_CONFIG_ENV) {
            Some(path) if !path.is_empty() => Self::from_file(PathBuf::from(path)).map(Some),
            _ => Ok(None),
        }
    }

    /// Whether it asks for authentication.
    pub fn authenticates(&self) -> bool {
        !self.settings.users.is_empty() || !self.settings.tokens.is_empty()
    }

    pub(crate) fn into_settings(self) -> Settings {
        self.settings
    }
}

fn parse(text: &str, name: &str, base: &Path) -> Result<WebConfig, SecurityError> {
    let value: Value = serde_yaml_ng::from_str(text).map_err(|e| SecurityError::Yaml {
        path: name.to_owned(),
        at: e
            .location()
            .map(|l| format!(" at line {} column {}", l.line(), l.column()))
            .unwrap_or_default(),
    })?;
    let mut settings = Settings::default();
    let Some(top) = mapping_or_null(&value, "web config")? else {
        return Ok(WebConfig { settings });
    };
    for (key, value) in top {
        let key = key_name(key, "")?;
        match key.as_str() {
            "tls_server_config" => tls(value, base, &mut settings)?,
            "basic_auth_users" => {
                let Some(users) = mapping_or_null(value, "basic_auth_users")? else {
                    continue;
                };
                for (user, hash) in users {
                    let user = key_name(user, "basic_auth_users.")?;
                    let at = format!("basic_auth_users.{user}");
                    let hash = string(hash, &at)?;
                    let hash = check_bcrypt(at, hash)?;
                    settings.users.insert(user, hash);
                }
            }
            "monsta" => monsta(value, &mut settings)?,
            "http_server_config" => {
                return Err(SecurityError::Unsupported {
                    key,
                    reason: "not supported by monsta (its server sets its own headers and protocols)",
                });
            }
            "rate_limit" => {
                return Err(SecurityError::Unsupported {
                    key,
                    reason: "not supported by monsta (it limits connections and slows down failed logins itself)",
                });
            }
            _ => return Err(SecurityError::UnknownKey { key }),
        }
    }
    Ok(WebConfig { settings })
}

/// The name of a mapping key, under `prefix`.
fn key_name(key: &Value, prefix: &str) -> Result<String, SecurityError> {
    match key {
        Value::String(s) => Ok(s.clone()),
        _ => Err(SecurityError::bad(
            format!("{prefix}<key>"),
            "keys must be strings",
        )),
    }
}

fn mapping_or_null<'v>(value: &'v Value, key: &str) -> Result<Option<&'v Mapping>, SecurityError> {
    match value {
        Value::Mapping(m) => Ok(Some(m)),
        Value::Null => Ok(None),
        _ => Err(SecurityError::bad(key, "must be a mapping")),
    }
}

fn string<'v>(value: &'v Value, key: &str) -> Result<&'v str, SecurityError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(SecurityError::bad(key, "must be a string")),
    }
}

fn boolean(value: &Value, key: &str) -> Result<bool, SecurityError> {
    match value {
        Value::Bool(b) => Ok(*b),
        _ => Err(SecurityError::bad(key, "must be true or false")),
    }
}

fn strings<'v>(value: &'v Value, key: &str) -> Result<Vec<&'v str>, SecurityError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| string(item, &format!("{key}[{i}]")))
            .collect(),
        _ => Err(SecurityError::bad(key, "must be a list of strings")),
    }
}

fn monsta(value: &Value, settings: &mut Settings) -> Result<(), SecurityError> {
    let Some(section) = mapping_or_null(value, "monsta")? else {
        return Ok(());
    };
    for (key, value) in section {
        let key = format!("monsta.{}", key_name(key, "monsta.")?);
        match key.as_str() {
            "monsta.bearer_token_sha256" => {
                for (i, hex) in strings(value, &key)?.into_iter().enumerate() {
                    settings
                        .tokens
                        .push(parse_token_hash(format!("{key}[{i}]"), hex)?);
                }
            }
            "monsta.allow" | "monsta.deny" => {
                for (i, cidr) in strings(value, &key)?.into_iter().enumerate() {
                    let net = crate::access::parse_cidr(cidr).ok_or_else(|| {
                        SecurityError::bad(
                            format!("{key}[{i}]"),
                            "not a CIDR range such as 10.0.0.0/8 or ::1/128",
                        )
                    })?;
                    if key == "monsta.allow" {
                        settings.rules.allow(net);
                    } else {
                        settings.rules.deny(net);
                    }
                }
            }
            "monsta.open_health_endpoint" => settings.open_health = boolean(value, &key)?,
            _ => return Err(SecurityError::UnknownKey { key }),
        }
    }
    Ok(())
}

#[cfg(not(feature = "tls"))]
fn tls(value: &Value, _base: &Path, _settings: &mut Settings) -> Result<(), SecurityError> {
    if matches!(value, Value::Null) {
        return Ok(());
    }
    Err(SecurityError::TlsFeature {
        key: "tls_server_config".to_owned(),
    })
}

#[cfg(feature = "tls")]
fn tls(value: &Value, base: &Path, settings: &mut Settings) -> Result<(), SecurityError> {
    use crate::{ClientAuth, TlsSettings, TlsVersion};

    let Some(section) = mapping_or_null(value, "tls_server_config")? else {
        return Ok(());
    };
    let file = |v: &Value, key: &str| -> Result<PathBuf, SecurityError> {
        let s = string(v, key)?;
        if s.is_empty() {
            return Err(SecurityError::bad(key, "must not be empty"));
        }
        Ok(base.join(s))
    };
    let version = |v: &Value, key: &str| -> Result<TlsVersion, SecurityError> {
        match string(v, key)? {
            "TLS13" => Ok(TlsVersion::Tls13),
            "TLS12" => Ok(TlsVersion::Tls12),
            "TLS10" | "TLS11" => Err(SecurityError::Unsupported {
                key: key.to_owned(),
                reason: "rustls speaks no TLS below 1.2: use TLS12 or TLS13",
            }),
            _ => Err(SecurityError::bad(key, "must be TLS12 or TLS13")),
        }
    };
    let (mut cert, mut key_file, mut ca) = (None, None, None);
    let (mut min, mut max, mut auth, mut prefer) = (
        TlsVersion::Tls12,
        TlsVersion::Tls13,
        ClientAuth::None,
        false,
    );
    for (key, value) in section {
        let key = format!("tls_server_config.{}", key_name(key, "tls_server_config.")?);
        match key.as_str() {
            "tls_server_config.cert_file" => cert = Some(file(value, &key)?),
            "tls_server_config.key_file" => key_file = Some(file(value, &key)?),
            "tls_server_config.client_ca_file" => {
                if !matches!(value, Value::Null) && !string(value, &key)?.is_empty() {
                    ca = Some(file(value, &key)?);
                }
            }
            "tls_server_config.min_version" => min = version(value, &key)?,
            "tls_server_config.max_version" => max = version(value, &key)?,
            "tls_server_config.prefer_server_cipher_suites" => prefer = boolean(value, &key)?,
            "tls_server_config.client_auth_type" => {
                auth = match string(value, &key)? {
                    "" | "NoClientCert" => ClientAuth::None,
                    "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
                    "RequireAndVerifyClientCert" => ClientAuth::Require,
                    "RequestClientCert" | "RequireAnyClientCert" => {
                        return Err(SecurityError::Unsupported {
                            key,
                            reason: "rustls verifies every client certificate it accepts: use \
                                     VerifyClientCertIfGiven or RequireAndVerifyClientCert",
                        });
                    }
                    _ => {
                        return Err(SecurityError::bad(
                            key,
                            "must be NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert",
                        ));
                    }
                }
            }
            "tls_server_config.cipher_suites" | "tls_server_config.curve_preferences" => {
                return Err(SecurityError::Unsupported {
                    key,
                    reason: "rustls offers only modern cipher suites and curves, in its own order; \
                             remove the key",
                });
            }
            "tls_server_config.client_allowed_sans" => {
                return Err(SecurityError::Unsupported {
                    key,
                    reason: "not supported by monsta: verify client certificates by their CA",
                });
            }
            "tls_server_config.cert" | "tls_server_config.key" => {
                return Err(SecurityError::Unsupported {
                    key,
                    reason: "inline certificates and keys are not supported: use cert_file and key_file",
                });
            }
            _ => return Err(SecurityError::UnknownKey { key }),
        }
    }
    let cert = cert.ok_or_else(|| SecurityError::Missing {
        key: "tls_server_config.cert_file".to_owned(),
    })?;
    let key_file = key_file.ok_or_else(|| SecurityError::Missing {
        key: "tls_server_config.key_file".to_owned(),
    })?;
    let mut tls = TlsSettings::new(cert, key_file)
        .min_version(min)
        .max_version(max)
        .prefer_server_cipher_suites(prefer);
    if auth != ClientAuth::None {
        let ca = ca.ok_or_else(|| SecurityError::Missing {
            key: "tls_server_config.client_ca_file".to_owned(),
        })?;
        tls = tls.client_auth(auth, ca);
    }
    settings.tls = Some(tls);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        WebConfig::from_yaml(text).unwrap_err().to_string()
    }

    #[test]
    fn an_exporter_toolkit_users_file_loads() {
        let config = WebConfig::from_yaml(
            "basic_auth_users:\n  alice: $2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby\n  bob: $2y$18$4VeFDzXIoPHKnKTU3O3GH.N.vZu06CVqczYZ8WvfzrddFU6tGqjR.\n",
        )
        .unwrap();
        assert!(config.authenticates());
        assert_eq!(config.settings.users.len(), 2);
        assert!(WebConfig::from_yaml("").is_ok(), "an empty file");
        assert!(!WebConfig::from_yaml("{}").unwrap().authenticates());
    }

    #[test]
    fn errors_name_the_key_and_never_the_value() {
        let e = err("basic_auth_users:\n  alice: hunter2-secret\n");
        assert!(e.starts_with("basic_auth_users.alice:"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = err("basic_auth_users:\n  alice: [hunter2-secret]\n");
        assert!(
            e.starts_with("basic_auth_users.alice:") && !e.contains("hunter2"),
            "{e}"
        );
        let e = err("basic_auth_user:\n  alice: x\n");
        assert_eq!(e, "basic_auth_user: unknown key");
        let e = err("monsta:\n  bearer_token_sha256: [not-a-hash-secret]\n");
        assert!(
            e.starts_with("monsta.bearer_token_sha256[0]:") && !e.contains("secret"),
            "{e}"
        );
        let e = err("monsta:\n  allow: [10.0.0.0/99]\n");
        assert!(e.starts_with("monsta.allow[0]:"), "{e}");
        let e = err("monsta:\n  tokens: []\n");
        assert_eq!(e, "monsta.tokens: unknown key");
        let e = err("basic_auth_users: [\n");
        assert!(e.contains("not valid YAML"), "{e}");
        assert!(err("http_server_config:\n  http2: false\n").contains("not supported"));
    }

    #[test]
    fn monsta_keys_load() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let config = WebConfig::from_yaml(&format!(
            "monsta:\n  bearer_token_sha256: [{hex}]\n  allow: [127.0.0.0/8, '::1']\n  deny: [127.0.0.2]\n  open_health_endpoint: true\n"
        ))
        .unwrap();
        assert!(config.authenticates());
        assert!(config.settings.open_health);
        assert!(config.settings.rules.admits("127.0.0.1".parse().unwrap()));
        assert!(!config.settings.rules.admits("127.0.0.2".parse().unwrap()));
        assert!(!config.settings.rules.admits("10.0.0.1".parse().unwrap()));
    }

    #[cfg(feature = "tls")]
    #[test]
    fn tls_keys_load_and_unsupported_ones_say_so() {
        let config = WebConfig::from_yaml(
            "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS13\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
        )
        .unwrap();
        let tls = config.settings.tls.unwrap();
        assert_eq!(tls.min_version, crate::TlsVersion::Tls13);
        assert_eq!(tls.client_auth, crate::ClientAuth::Require);
        for (yaml, key) in [
            (
                "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
                "tls_server_config.cipher_suites",
            ),
            (
                "  curve_preferences: [X25519]\n",
                "tls_server_config.curve_preferences",
            ),
            ("  min_version: TLS10\n", "tls_server_config.min_version"),
            ("  min_version: TLS11\n", "tls_server_config.min_version"),
        ] {
            let e = WebConfig::from_yaml(&format!(
                "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n{yaml}"
            ))
            .unwrap_err();
            assert!(matches!(e, SecurityError::Unsupported { .. }), "{e}");
            assert!(e.to_string().starts_with(key), "{e}");
        }
        let e = err("tls_server_config:\n  cert_file: a.crt\n");
        assert_eq!(e, "tls_server_config.key_file: missing");
        let e = err(
            "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: RequireAndVerifyClientCert\n",
        );
        assert_eq!(e, "tls_server_config.client_ca_file: missing");
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn tls_without_the_feature_is_an_error() {
        let e = err("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n");
        assert!(e.contains("`tls` feature"), "{e}");
    }
}
