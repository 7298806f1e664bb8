//! The transport of the standalone server: plain TCP, or (feature `tls`)
//! TLS through tokio-rustls with the certificate files re-read when they
//! change.

#[cfg(feature = "tls")]
pub use settings::{ClientAuth, TlsSettings, TlsVersion};

use crate::{ServeError, builder::Config};

/// What a server speaks on its connections.
#[derive(Clone, Default)]
pub(crate) struct Transport {
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<rustls_tls::Tls>>,
}

impl Transport {
    /// The transport `config` asks for, with its certificate files read.
    pub(crate) fn of(config: &Config) -> Result<Self, ServeError> {
        #[cfg(feature = "tls")]
        if let Some(settings) = config.security().tls() {
            let tls = rustls_tls::Tls::load(settings.clone()).map_err(ServeError::Security)?;
            return Ok(Transport {
                tls: Some(std::sync::Arc::new(tls)),
            });
        }
        let _ = config;
        Ok(Transport::default())
    }

    /// `https` or `http`, for the logs.
    pub(crate) fn scheme(&self) -> &'static str {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return "https";
        }
        "http"
    }

    /// The TLS state, if this transport is TLS.
    #[cfg(feature = "tls")]
    pub(crate) fn tls(&self) -> Option<&rustls_tls::Tls> {
        self.tls.as_deref()
    }
}

#[cfg(feature = "tls")]
mod settings {
    use std::path::PathBuf;

    /// A TLS protocol version that monsta speaks.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    #[non_exhaustive]
    pub enum TlsVersion {
        /// TLS 1.2 (`TLS12` in a `web.config.yml`).
        Tls12,
        /// TLS 1.3 (`TLS13`).
        Tls13,
    }

    /// Whether clients present certificates (mutual TLS).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum ClientAuth {
        /// No client certificate is asked for (`NoClientCert`).
        None,
        /// A client certificate is asked for and, if one is presented,
        /// verified against the CA file (`VerifyClientCertIfGiven`).
        VerifyIfGiven,
        /// Every client must present a certificate that verifies against
        /// the CA file (`RequireAndVerifyClientCert`).
        Require,
    }

    /// The TLS settings of the standalone server (feature `tls`): the
    /// certificate chain and key as PEM files, the versions, and client
    /// certificates. The files are read when a server starts, and again on
    /// a new connection after any of them has changed (its modification
    /// time or size), so a renewed certificate needs no restart; a renewal
    /// that cannot be loaded is logged and the previous certificate kept.
    ///
    /// The server offers HTTP/2 and HTTP/1.1 through ALPN. HTTP/2 has the
    /// limits of HTTP/1: the header size, the header deadline (for the
    /// first request head, counted from the end of the handshake; a later
    /// head that never ends leaves the connection idle, and the keep-alive
    /// timeout closes it), the keep-alive timeout, the connection age and
    /// request count, the write deadline, the shorter deadline under
    /// pressure; and at most
    /// [`http2_max_streams`](crate::StatusReporterBuilder::http2_max_streams)
    /// (16) requests in progress per connection.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use monsta_http::{ClientAuth, StatusReporter, TlsSettings, TlsVersion};
    ///
    /// let tls = TlsSettings::new("/etc/monsta/server.crt", "/etc/monsta/server.key")
    ///     .min_version(TlsVersion::Tls13)
    ///     .client_auth(ClientAuth::Require, "/etc/monsta/clients-ca.crt");
    /// let mon = StatusReporter::builder().tls(tls).build();
    /// # let _ = mon;
    /// ```
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TlsSettings {
        pub(crate) cert_file: PathBuf,
        pub(crate) key_file: PathBuf,
        pub(crate) client_auth: ClientAuth,
        pub(crate) client_ca_file: Option<PathBuf>,
        pub(crate) min_version: TlsVersion,
        pub(crate) max_version: TlsVersion,
        pub(crate) prefer_server_cipher_suites: bool,
    }

    impl TlsSettings {
        /// The certificate chain (server certificate first) and its private
        /// key (PKCS#8, PKCS#1 or SEC1), as PEM files; TLS 1.2 and 1.3, no
        /// client certificates.
        pub fn new(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
            TlsSettings {
                cert_file: cert_file.into(),
                key_file: key_file.into(),
                client_auth: ClientAuth::None,
                client_ca_file: None,
                min_version: TlsVersion::Tls12,
                max_version: TlsVersion::Tls13,
                prefer_server_cipher_suites: false,
            }
        }

        /// The lowest version spoken (default TLS 1.2).
        pub fn min_version(mut self, version: TlsVersion) -> Self {
            self.min_version = version;
            self
        }

        /// The highest version spoken (default TLS 1.3).
        pub fn max_version(mut self, version: TlsVersion) -> Self {
            self.max_version = version;
            self
        }

        /// Client certificates: with [`ClientAuth::VerifyIfGiven`] or
        /// [`ClientAuth::Require`], verified against the CA certificates
        /// of `ca_file` (PEM).
        pub fn client_auth(mut self, auth: ClientAuth, ca_file: impl Into<PathBuf>) -> Self {
            self.client_auth = auth;
            self.client_ca_file = Some(ca_file.into());
            self
        }

        /// Chooses the cipher suite in the server's order of preference
        /// rather than the client's.
        pub fn prefer_server_cipher_suites(mut self, prefer: bool) -> Self {
            self.prefer_server_cipher_suites = prefer;
            self
        }
    }
}

#[cfg(feature = "tls")]
pub(crate) mod rustls_tls {
    use std::{
        path::Path,
        sync::{Arc, Mutex, PoisonError},
        time::SystemTime,
    };

    use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    use tokio_rustls::{
        TlsAcceptor,
        rustls::{self, RootCertStore, ServerConfig, server::WebPkiClientVerifier},
    };

    use super::{ClientAuth, TlsSettings, TlsVersion};
    use crate::SecurityError;

    /// What identifies a version of a file: its modification time and size.
    type Stamp = Option<(SystemTime, u64)>;

    fn stamp(path: &Path) -> Stamp {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    struct Loaded {
        stamps: Vec<Stamp>,
        acceptor: TlsAcceptor,
        /// The stamps of files that failed to load, not tried again.
        failed: Option<Vec<Stamp>>,
    }

    /// The TLS state of a server: its settings and the acceptor made from
    /// the files as last read.
    pub(crate) struct Tls {
        settings: TlsSettings,
        loaded: Mutex<Loaded>,
    }

    impl Tls {
        /// Reads the files of `settings`.
        pub(crate) fn load(settings: TlsSettings) -> Result<Self, SecurityError> {
            let stamps = stamps(&settings);
            let config = server_config(&settings)?;
            Ok(Tls {
                settings,
                loaded: Mutex::new(Loaded {
                    stamps,
                    acceptor: TlsAcceptor::from(Arc::new(config)),
                    failed: None,
                }),
            })
        }

        /// The acceptor for a new connection: the files are read again if
        /// any has changed since they were last read.
        pub(crate) fn acceptor(&self) -> TlsAcceptor {
            let now = stamps(&self.settings);
            let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            if now != loaded.stamps && loaded.failed.as_ref() != Some(&now) {
                match server_config(&self.settings) {
                    Ok(config) => {
                        tracing::info!(target: "monsta", "TLS: loaded the changed certificate files");
                        loaded.acceptor = TlsAcceptor::from(Arc::new(config));
                        loaded.stamps = now;
                        loaded.failed = None;
                    }
                    Err(error) => {
                        tracing::warn!(target: "monsta", "TLS: keeping the previous certificate: {error}");
                        loaded.failed = Some(now);
                    }
                }
            }
            loaded.acceptor.clone()
        }
    }

    fn stamps(settings: &TlsSettings) -> Vec<Stamp> {
        let mut files = vec![stamp(&settings.cert_file), stamp(&settings.key_file)];
        if let Some(ca) = &settings.client_ca_file {
            files.push(stamp(ca));
        }
        files
    }

    fn tls_error(key: &str, reason: impl std::fmt::Display) -> SecurityError {
        SecurityError::Tls {
            key: key.to_owned(),
            reason: reason.to_string(),
        }
    }

    fn read(key: &str, path: &Path) -> Result<Vec<u8>, SecurityError> {
        std::fs::read(path).map_err(|source| SecurityError::Read {
            key: key.to_owned(),
            path: path.to_owned(),
            source,
        })
    }

    fn certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, SecurityError> {
        let pem = read(key, path)?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| tls_error(key, "not a PEM file of certificates"))?;
        if certs.is_empty() {
            return Err(tls_error(key, "no certificate in the file"));
        }
        Ok(certs)
    }

    /// A rustls server configuration of `settings`, its files read now.
    pub(crate) fn server_config(settings: &TlsSettings) -> Result<ServerConfig, SecurityError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (min, max) = (settings.min_version, settings.max_version);
        if min > max {
            return Err(SecurityError::bad(
                "tls_server_config.max_version",
                "below min_version",
            ));
        }
        let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
        if max >= TlsVersion::Tls13 {
            versions.push(&rustls::version::TLS13);
        }
        if min <= TlsVersion::Tls12 {
            versions.push(&rustls::version::TLS12);
        }
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .map_err(|e| tls_error("tls_server_config", e))?;
        let builder = match settings.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            auth => {
                let key = "tls_server_config.client_ca_file";
                let path =
                    settings
                        .client_ca_file
                        .as_deref()
                        .ok_or_else(|| SecurityError::Missing {
                            key: key.to_owned(),
                        })?;
                let mut roots = RootCertStore::empty();
                for cert in certificates(key, path)? {
                    roots.add(cert).map_err(|e| tls_error(key, e))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                );
                let verifier = if auth == ClientAuth::VerifyIfGiven {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(verifier.build().map_err(|e| tls_error(key, e))?)
            }
        };
        let certs = certificates("tls_server_config.cert_file", &settings.cert_file)?;
        let key_pem = read("tls_server_config.key_file", &settings.key_file)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
            tls_error(
                "tls_server_config.key_file",
                "no private key in the PEM file",
            )
        })?;
        let mut config = builder
            .with_single_cert(certs, key)
            .map_err(|e| tls_error("tls_server_config.cert_file", e))?;
        config.ignore_client_order = settings.prefer_server_cipher_suites;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}
