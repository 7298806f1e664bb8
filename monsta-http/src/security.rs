//! What secures a reporter's endpoints: address rules, credentials, the
//! open health route and (feature `tls`) the TLS settings; the builder's
//! setters for them, and the one error type of all of it, which names keys
//! and options but never a value.

use std::{collections::HashMap, fmt, io, path::PathBuf, sync::Arc};

use sha2::{Digest, Sha256};

use crate::{StatusReporterBuilder, access::AddressRules, auth::Checks};

/// The path of the health route: `200 ok`, without authentication when
/// [`open_health_endpoint`](StatusReporterBuilder::open_health_endpoint) is
/// set.
pub const HEALTH_ENDPOINT: &str = "/mon/v1/health";

/// A security setting could not be used: an address rule, a credential, a
/// TLS file or a key of a `web.config.yml`. The message names the option or
/// the key (`tls_server_config.cert_file`, `basic_auth_users.alice`), never
/// a value, so that no secret ends up in a log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityError {
    /// A file could not be read.
    #[error("{key}: could not read {path}: {source}")]
    Read {
        /// The option or key that names the file.
        key: String,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The web config is not valid YAML.
    #[error("{path}: not valid YAML{at}")]
    Yaml {
        /// The file, or `<string>`.
        path: String,
        /// ` at line L column C`, where known.
        at: String,
    },
    /// A key that is not part of the format.
    #[error("{key}: unknown key")]
    UnknownKey {
        /// The key, with its section.
        key: String,
    },
    /// A value of the wrong kind, or out of range.
    #[error("{key}: {expected}")]
    BadValue {
        /// The key or option.
        key: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A key that is required is missing.
    #[error("{key}: missing")]
    Missing {
        /// The key.
        key: String,
    },
    /// A setting of Prometheus' exporter-toolkit that monsta cannot honour
    /// (rustls chooses cipher suites and curves itself, and speaks no TLS
    /// below 1.2).
    #[error("{key}: {reason}")]
    Unsupported {
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// A certificate, key or CA file could not be used.
    #[error("{key}: {reason}")]
    Tls {
        /// The key or option that names the file.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// TLS settings were given to a build without the `tls` feature.
    #[error("{key}: TLS needs monsta's `tls` feature")]
    TlsFeature {
        /// The key.
        key: String,
    },
}

impl SecurityError {
    pub(crate) fn bad(key: impl Into<String>, expected: &'static str) -> Self {
        SecurityError::BadValue {
            key: key.into(),
            expected,
        }
    }
}

/// The SHA-256 of a bearer token: what is kept of it.
pub(crate) type TokenHash = [u8; 32];

/// The security settings and the state of their checks; cheap to clone
/// (clones share the checks' state: the cache of verified credentials and
/// the table of failures).
#[derive(Clone, Default)]
pub(crate) struct Security(Arc<Settings>);

#[derive(Clone, Default)]
pub(crate) struct Settings {
    pub(crate) rules: AddressRules,
    /// User name to bcrypt hash.
    pub(crate) users: HashMap<String, String>,
    pub(crate) tokens: Vec<TokenHash>,
    pub(crate) open_health: bool,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsSettings>,
    pub(crate) checks: Arc<Checks>,
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&String> = self.0.users.keys().collect();
        users.sort();
        let mut s = f.debug_struct("Security");
        s.field("rules", &self.0.rules)
            .field("basic_auth_users", &users)
            .field("bearer_tokens", &self.0.tokens.len())
            .field("open_health", &self.0.open_health);
        #[cfg(feature = "tls")]
        s.field("tls", &self.0.tls);
        s.finish()
    }
}

impl Security {
    pub(crate) fn settings(&self) -> &Settings {
        &self.0
    }

    fn edit(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.0)
    }

    /// Whether requests need a credential.
    pub(crate) fn authenticates(&self) -> bool {
        !self.0.users.is_empty() || !self.0.tokens.is_empty()
    }

    /// Whether a client at `ip` may connect; a refusal is counted.
    pub(crate) fn admits(&self, ip: std::net::IpAddr) -> bool {
        let admitted = self.0.rules.admits(ip);
        if !admitted {
            self.0.checks.count_refused(ip);
        }
        admitted
    }

    /// The TLS settings, if the server is to speak TLS.
    #[cfg(feature = "tls")]
    pub(crate) fn tls(&self) -> Option<&crate::tls::TlsSettings> {
        self.0.tls.as_ref()
    }

    /// Merges `other` into these settings: its rules, users, tokens and
    /// TLS settings are added (a user of the same name is replaced).
    pub(crate) fn merge(&mut self, other: Settings) {
        let settings = self.edit();
        for net in other.rules.allowed() {
            settings.rules.allow(*net);
        }
        for net in other.rules.denied() {
            settings.rules.deny(*net);
        }
        settings.users.extend(other.users);
        settings.tokens.extend(other.tokens);
        settings.open_health |= other.open_health;
        #[cfg(feature = "tls")]
        if other.tls.is_some() {
            settings.tls = other.tls;
        }
    }
}

/// Logs one warning if a server on `addr`, which is not a loopback address,
/// serves without authentication.
pub(crate) fn warn_if_open(addr: std::net::SocketAddr, security: &Security) {
    if addr.ip().is_loopback() || security.authenticates() {
        return;
    }
    tracing::warn!(
        target: "monsta",
        "serving {addr} without authentication: anyone who can reach it sees the service's internals; \
         add basic_auth_users or bearer tokens (a web.config.yml named by MONSTA_WEB_CONFIG, or the \
         builder's basic_auth_user / bearer_token), or listen on 127.0.0.1"
    );
}

/// `hash` if it is a bcrypt hash (`$2a$`, `$2b$`, `$2x$` or `$2y$`, as
/// `htpasswd -B` and Python's `bcrypt` write them).
pub(crate) fn check_bcrypt(key: impl Into<String>, hash: &str) -> Result<String, SecurityError> {
    match hash.parse::<bcrypt::HashParts>() {
        Ok(_) => Ok(hash.to_owned()),
        Err(_) => Err(SecurityError::bad(
            key,
            "not a bcrypt hash (such as `htpasswd -nBC 10 \"\" | tr -d ':\\n'` prints)",
        )),
    }
}

/// The SHA-256 of `token`.
pub(crate) fn token_hash(token: &[u8]) -> TokenHash {
    Sha256::digest(token).into()
}

/// `hex` (64 hex digits, optionally after `sha256:`) as a token hash.
pub(crate) fn parse_token_hash(
    key: impl Into<String>,
    hex: &str,
) -> Result<TokenHash, SecurityError> {
    let key = key.into();
    let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
    let bad = || {
        SecurityError::bad(
            key.clone(),
            "not a SHA-256 hash: 64 hex digits, optionally after `sha256:`",
        )
    };
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(out)
}

/// The security options of the builder.
///
/// Authentication applies to every route of monsta's own server and of
/// [`service`](crate::StatusReporter::service) and
/// [`router`](https://docs.rs/monsta-http/latest/monsta_http/struct.StatusReporter.html#method.router) (so a host app that mounts them
/// gets it too), and [`StatusReporter::auth_layer`](crate::StatusReporter::auth_layer)
/// puts it in front of other routes of the host. A request with no valid
/// credential is answered `401 Unauthorized` with `WWW-Authenticate`.
impl StatusReporterBuilder {
    /// Accepts HTTP basic auth for `user` with the password whose bcrypt
    /// hash is `bcrypt_hash`, as in the `basic_auth_users` of Prometheus'
    /// `web.config.yml` (`htpasswd -nBC 10 "" | tr -d ':\n'` makes one). A
    /// verified password is cached (as its SHA-256), so a scraper costs one
    /// bcrypt check, not one per scrape. Calling it again for the same user
    /// replaces the hash.
    ///
    /// # Errors
    ///
    /// [`SecurityError::BadValue`] if `bcrypt_hash` is not a bcrypt hash.
    ///
    /// # Examples
    ///
    /// ```
    /// use monsta_http::StatusReporter;
    ///
    /// let mon = StatusReporter::builder()
    ///     // The bcrypt hash of "alice123", cost 12.
    ///     .basic_auth_user("alice", "$2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby")?
    ///     .build();
    /// # Ok::<(), monsta_http::SecurityError>(())
    /// ```
    pub fn basic_auth_user(
        mut self,
        user: impl Into<String>,
        bcrypt_hash: &str,
    ) -> Result<Self, SecurityError> {
        let user = user.into();
        let hash = check_bcrypt("basic_auth_user", bcrypt_hash)?;
        self.security_mut().edit().users.insert(user, hash);
        Ok(self)
    }

    /// Accepts `Authorization: Bearer <token>`. Only the token's SHA-256 is
    /// kept; a presented token is hashed and compared in constant time.
    pub fn bearer_token(mut self, token: &str) -> Self {
        let hash = token_hash(token.as_bytes());
        self.security_mut().edit().tokens.push(hash);
        self
    }

    /// [`bearer_token`](Self::bearer_token) given the token's SHA-256 as 64
    /// hex digits (optionally after `sha256:`), as
    /// `printf %s "$TOKEN" | sha256sum` prints it, so that the token itself
    /// is in no configuration.
    ///
    /// # Errors
    ///
    /// [`SecurityError::BadValue`] if `sha256_hex` is not 64 hex digits.
    pub fn bearer_token_sha256(mut self, sha256_hex: &str) -> Result<Self, SecurityError> {
        let hash = parse_token_hash("bearer_token_sha256", sha256_hex)?;
        self.security_mut().edit().tokens.push(hash);
        Ok(self)
    }

    /// Admits clients only from the ranges given by this and other calls
    /// (`10.0.0.0/8`, `::1/128`, or a bare address); others are
    /// disconnected as soon as they connect, before anything is read. With
    /// no `allow`, every address not denied is admitted.
    ///
    /// # Errors
    ///
    /// [`SecurityError::BadValue`] if `cidr` is not a CIDR range or address.
    pub fn allow(mut self, cidr: &str) -> Result<Self, SecurityError> {
        let net = crate::access::parse_cidr(cidr).ok_or_else(|| {
            SecurityError::bad("allow", "not a CIDR range such as 10.0.0.0/8 or ::1/128")
        })?;
        self.security_mut().edit().rules.allow(net);
        Ok(self)
    }

    /// Disconnects clients from `cidr` as soon as they connect, whatever
    /// [`allow`](Self::allow) says.
    ///
    /// # Errors
    ///
    /// [`SecurityError::BadValue`] if `cidr` is not a CIDR range or address.
    pub fn deny(mut self, cidr: &str) -> Result<Self, SecurityError> {
        let net = crate::access::parse_cidr(cidr).ok_or_else(|| {
            SecurityError::bad("deny", "not a CIDR range such as 10.0.0.0/8 or ::1/128")
        })?;
        self.security_mut().edit().rules.deny(net);
        Ok(self)
    }

    /// Serves [`HEALTH_ENDPOINT`] (`/mon/v1/health`, answering `200 ok`)
    /// without authentication, for load balancers and liveness probes. The
    /// address rules still apply. Without it there is no health route.
    pub fn open_health_endpoint(mut self) -> Self {
        self.security_mut().edit().open_health = true;
        self
    }

    /// The settings of a `web.config.yml` (see [`WebConfig`](crate::WebConfig)),
    /// added to those set so far.
    pub fn web_config(mut self, config: crate::WebConfig) -> Self {
        self.security_mut().merge(config.into_settings());
        self
    }

    /// Serves HTTPS (feature `tls`): the standalone server speaks TLS with
    /// these settings. The files are read when a server starts (an error
    /// then is [`ServeError::Security`](crate::ServeError::Security)) and again when
    /// they change.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, settings: crate::TlsSettings) -> Self {
        self.security_mut().edit().tls = Some(settings);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hashes_parse_from_hex() {
        let hash = token_hash(b"test");
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_token_hash("k", &hex).unwrap(), hash);
        assert_eq!(
            parse_token_hash("k", &format!("sha256:{hex}")).unwrap(),
            hash
        );
        assert!(parse_token_hash("k", &hex[1..]).is_err());
        assert!(parse_token_hash("k", &format!("{}zz", &hex[2..])).is_err());
    }

    #[test]
    fn debug_shows_no_secret() {
        let mon = StatusReporterBuilder::new()
            .basic_auth_user(
                "alice",
                "$2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby",
            )
            .unwrap()
            .bearer_token("s3cr3t-token");
        let debug = format!("{mon:?}");
        assert!(debug.contains("alice"));
        assert!(!debug.contains("1DpfPeq"), "{debug}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }

    #[test]
    fn bad_hashes_are_errors_without_the_value() {
        let err = StatusReporterBuilder::new()
            .basic_auth_user("alice", "plaintext-password")
            .unwrap_err();
        assert!(!err.to_string().contains("plaintext"), "{err}");
    }
}
