//! The standalone server over real TLS on loopback, with certificates made
//! in the test (rcgen): a client that trusts the CA is served, one that does
//! not fails the handshake, plaintext HTTP is refused, mutual TLS with and
//! without a client certificate, a certificate replaced on disk is picked
//! up by the next connection, and the hostile-client limits hold on the TLS
//! listener: a handshake that never comes, a request head trickled after the
//! handshake (HTTP/1.1 and HTTP/2), an oversized head, the per-address and
//! total connection caps, the HTTP/2 stream cap. Every wait is bounded.

#![cfg(feature = "tls")]

mod http_support;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use http_support::{Reply, listener, parse, time_to_close};
use monsta::{
    ClientAuth, ServeError, ServerHandle, StatusReporter, StatusReporterBuilder, TlsSettings,
    TlsVersion,
};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, rustls};

const LIMIT: Duration = Duration::from_secs(10);
const GET: &str = "GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// A certificate authority made for the test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf certificate for `localhost` and 127.0.0.1 and its key, as PEM.
    fn leaf(&self) -> (String, String) {
        let params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A directory for the test's files, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("monsta-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        // Replaced whole (a new file renamed over the old), as renewals do.
        let tmp = self.0.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Server files signed by `ca` in `dir`: the settings for them.
fn server_files(dir: &Dir, ca: &Ca) -> TlsSettings {
    let (cert, key) = ca.leaf();
    let key_file = dir.write("server.key", &key);
    let cert_file = dir.write("server.crt", &cert);
    TlsSettings::new(cert_file, key_file)
}

/// `builder` with the header deadline `header` and a keep-alive timeout
/// long enough not to close a connection first.
fn patient(builder: StatusReporterBuilder, header: Duration) -> StatusReporterBuilder {
    builder
        .header_read_timeout(header)
        .unwrap()
        .keep_alive_timeout(Duration::from_secs(60))
        .unwrap()
}

async fn serve(builder: StatusReporterBuilder) -> (StatusReporter, ServerHandle) {
    let mon = builder.build();
    mon.publish(json!({"status": "running"}));
    let server = mon.start_on(listener().await).expect("start_on");
    (mon, server)
}

/// A test's running TLS server: its files, signed by a CA made for it, in a
/// directory made for it, and its reporter. The fields drop in the order
/// the tests' own locals would: the server, the reporter, the CA, the
/// directory last.
struct Fixture {
    server: ServerHandle,
    _mon: StatusReporter,
    ca: Ca,
    dir: Dir,
}

impl Fixture {
    /// A server on files signed by a new CA in the directory `name`, its
    /// TLS builder configured by `configure`.
    async fn serve(
        name: &str,
        configure: impl FnOnce(StatusReporterBuilder) -> StatusReporterBuilder,
    ) -> Self {
        let dir = Dir::new(name);
        let ca = Ca::new("CA");
        let builder = configure(StatusReporter::builder().tls(server_files(&dir, &ca)));
        let (mon, server) = serve(builder).await;
        Fixture {
            server,
            _mon: mon,
            ca,
            dir,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// `request` by a client that trusts the CA and has no certificate.
    async fn exchange(&self, request: &str) -> std::io::Result<Vec<u8>> {
        exchange_tls(self.addr(), client_config(&self.ca, None, None), request).await
    }

    /// A GET of the state by a client that trusts the CA and has no
    /// certificate.
    async fn get(&self) -> std::io::Result<Reply> {
        get_tls(self.addr(), client_config(&self.ca, None, None)).await
    }
}

fn client_config(
    trusted: &Ca,
    client: Option<(String, String)>,
    version: Option<&'static rustls::SupportedProtocolVersion>,
) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(trusted.pem().as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider);
    let builder = match version {
        Some(v) => builder.with_protocol_versions(&[v]).unwrap(),
        None => builder.with_safe_default_protocol_versions().unwrap(),
    }
    .with_root_certificates(roots);
    match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
    }
}

/// `request` over TLS with `config`; the raw answer, or the error of the
/// handshake or of the exchange.
async fn exchange_tls(
    addr: SocketAddr,
    config: rustls::ClientConfig,
    request: &str,
) -> std::io::Result<Vec<u8>> {
    tokio::time::timeout(LIMIT, async {
        let tcp = TcpStream::connect(addr).await?;
        let connector = TlsConnector::from(Arc::new(config));
        let mut tls = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await?;
        tls.write_all(request.as_bytes()).await?;
        let mut out = Vec::new();
        tls.read_to_end(&mut out).await?;
        Ok(out)
    })
    .await
    .expect("the TLS exchange took longer than the deadline")
}

async fn get_tls(addr: SocketAddr, config: rustls::ClientConfig) -> std::io::Result<Reply> {
    exchange_tls(addr, config, GET).await.map(|raw| parse(&raw))
}

#[tokio::test]
async fn a_client_that_trusts_the_ca_is_served_and_others_fail_the_handshake() {
    let dir = Dir::new("trust");
    let ca = Ca::new("monsta test CA");
    let (mon, server) = serve(StatusReporter::builder().tls(server_files(&dir, &ca))).await;
    assert!(mon.serves_tls());
    let addr = server.local_addr();

    let reply = get_tls(addr, client_config(&ca, None, None))
        .await
        .expect("served");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["state"], json!({"status": "running"}));
    // Both versions, by default.
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let reply = get_tls(addr, client_config(&ca, None, Some(version))).await;
        assert_eq!(reply.expect("served").status, 200);
    }

    let other = Ca::new("another CA");
    let err = get_tls(addr, client_config(&other, None, None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn the_minimum_version_is_honoured() {
    let dir = Dir::new("version");
    let ca = Ca::new("CA");
    let tls = server_files(&dir, &ca).min_version(TlsVersion::Tls13);
    let (_mon, server) = serve(StatusReporter::builder().tls(tls)).await;
    let addr = server.local_addr();
    assert!(
        get_tls(
            addr,
            client_config(&ca, None, Some(&rustls::version::TLS12))
        )
        .await
        .is_err()
    );
    let reply = get_tls(
        addr,
        client_config(&ca, None, Some(&rustls::version::TLS13)),
    )
    .await;
    assert_eq!(reply.expect("served").status, 200);
    server.stop().await;
}

#[tokio::test]
async fn plaintext_http_to_the_tls_port_is_refused() {
    let fx = Fixture::serve("plain", |b| b).await;
    let mut stream = TcpStream::connect(fx.addr()).await.unwrap();
    stream.write_all(GET.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(LIMIT, stream.read_to_end(&mut out))
        .await
        .expect("closed in time");
    // Closed (perhaps after a TLS alert, perhaps with a reset), never an
    // HTTP answer.
    assert!(
        read.is_err() || !out.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    // The server goes on serving TLS.
    let reply = fx.get().await;
    assert_eq!(reply.expect("served").status, 200);
    fx.server.stop().await;
}

#[tokio::test]
async fn mutual_tls_with_and_without_a_client_certificate() {
    let dir = Dir::new("mtls");
    let ca = Ca::new("server CA");
    let clients = Ca::new("client CA");
    let ca_file = dir.write("clients.crt", &clients.pem());
    let tls = server_files(&dir, &ca).client_auth(ClientAuth::Require, &ca_file);
    let (_mon, server) = serve(StatusReporter::builder().tls(tls)).await;
    let addr = server.local_addr();

    let reply = get_tls(addr, client_config(&ca, Some(clients.leaf()), None)).await;
    assert_eq!(
        reply.expect("a client with a certificate is served").status,
        200
    );
    let without = exchange_tls(addr, client_config(&ca, None, None), GET).await;
    assert!(
        without
            .as_ref()
            .map_or(true, |raw| !raw.starts_with(b"HTTP/")),
        "served without a client certificate"
    );
    let stranger = Ca::new("stranger");
    let wrong = exchange_tls(addr, client_config(&ca, Some(stranger.leaf()), None), GET).await;
    assert!(
        wrong.map_or(true, |raw| !raw.starts_with(b"HTTP/")),
        "served a foreign client"
    );
    server.stop().await;

    // VerifyClientCertIfGiven: without one too, but not with a foreign one.
    let tls = server_files(&dir, &ca).client_auth(ClientAuth::VerifyIfGiven, &ca_file);
    let (_mon, server) = serve(StatusReporter::builder().tls(tls)).await;
    let addr = server.local_addr();
    assert_eq!(
        get_tls(addr, client_config(&ca, None, None))
            .await
            .unwrap()
            .status,
        200
    );
    let wrong = exchange_tls(addr, client_config(&ca, Some(stranger.leaf()), None), GET).await;
    assert!(wrong.map_or(true, |raw| !raw.starts_with(b"HTTP/")));
    server.stop().await;
}

#[tokio::test]
async fn a_certificate_replaced_on_disk_is_picked_up_by_the_next_connection() {
    let dir = Dir::new("reload");
    let old = Ca::new("old CA");
    let new = Ca::new("new CA");
    let (_mon, server) = serve(StatusReporter::builder().tls(server_files(&dir, &old))).await;
    let addr = server.local_addr();
    assert!(
        get_tls(addr, client_config(&new, None, None))
            .await
            .is_err()
    );
    assert_eq!(
        get_tls(addr, client_config(&old, None, None))
            .await
            .unwrap()
            .status,
        200
    );

    // A broken renewal keeps the old certificate.
    dir.write("server.crt", "not a certificate");
    assert_eq!(
        get_tls(addr, client_config(&old, None, None))
            .await
            .unwrap()
            .status,
        200
    );

    server_files(&dir, &new);
    let reply = get_tls(addr, client_config(&new, None, None)).await;
    assert_eq!(reply.expect("the new certificate is served").status, 200);
    assert!(
        get_tls(addr, client_config(&old, None, None))
            .await
            .is_err()
    );
    server.stop().await;
}

#[tokio::test]
async fn basic_auth_over_tls() {
    let fx = Fixture::serve("auth", |b| {
        b.basic_auth_user("prometheus", &bcrypt::hash("secret", 4).unwrap())
            .unwrap()
    })
    .await;
    let reply = fx.get().await.unwrap();
    assert_eq!(reply.status, 401);
    let request = "GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Basic cHJvbWV0aGV1czpzZWNyZXQ=\r\n\r\n";
    let raw = fx.exchange(request).await.unwrap();
    assert_eq!(parse(&raw).status, 200);
    fx.server.stop().await;
}

#[tokio::test]
async fn a_handshake_that_never_comes_is_cut_like_a_slow_request_head() {
    let timeout = Duration::from_millis(600);
    let fx = Fixture::serve("slow", |b| b.header_read_timeout(timeout).unwrap()).await;
    // Nothing at all, then half a ClientHello.
    for opening in [&b""[..], &[0x16, 0x03, 0x01, 0x00, 0xf0, 0x01][..]] {
        let mut stream = TcpStream::connect(fx.addr()).await.unwrap();
        stream.write_all(opening).await.unwrap();
        let closed = time_to_close(&mut stream, LIMIT).await.expect("cut off");
        http_support::assert_closed_near(closed, timeout);
    }
    fx.server.stop().await;
}

#[tokio::test]
async fn an_oversized_head_over_tls_is_answered_431() {
    let fx = Fixture::serve("big", |b| b.max_header_size(2048).unwrap()).await;
    let request = format!(
        "GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "a".repeat(4096)
    );
    let raw = fx.exchange(&request).await;
    assert_eq!(parse(&raw.expect("answered")).status, 431);
    fx.server.stop().await;
}

#[tokio::test]
async fn the_per_address_cap_holds_on_the_tls_listener() {
    let fx = Fixture::serve("cap", |b| {
        b.max_connections_per_address(2)
            .unwrap()
            .header_read_timeout(Duration::from_secs(30))
            .unwrap()
    })
    .await;
    let addr = fx.addr();
    let held = connect(addr, 2).await;
    // Let the accept loop admit the two before the third arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    let closed = time_to_close(&mut third, LIMIT)
        .await
        .expect("the third is closed");
    assert!(closed < Duration::from_secs(2), "{closed:?}");
    drop(held);
    // With the two gone, a client is served again.
    let served = http_support::wait_for(LIMIT, || async {
        fx.get().await.ok().filter(|r| r.status == 200)
    })
    .await;
    assert!(served.is_some());
    fx.server.stop().await;
}

/// A TLS connection to `addr` whose handshake has completed, trusting `ca`
/// and offering `alpn`.
async fn handshake(
    addr: SocketAddr,
    ca: &Ca,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut config = client_config(ca, None, None);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio::time::timeout(LIMIT, async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .expect("handshake")
    })
    .await
    .expect("the handshake took longer than the deadline")
}

#[tokio::test]
async fn a_head_trickled_after_the_handshake_is_cut_at_the_header_deadline() {
    let timeout = Duration::from_millis(900);
    let fx = Fixture::serve("trickle", |b| patient(b, timeout)).await;
    let tls = handshake(fx.addr(), &fx.ca, &[]).await;
    // A slowloris over TLS: the head three bytes at a time, every 100 ms,
    // never finished (at most 100 writes, 10 s), while the other half
    // waits for the server to close.
    let head = b"GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let start = std::time::Instant::now();
    let (mut reader, mut writer) = tokio::io::split(tls);
    let trickle = async move {
        for chunk in head.chunks(3).cycle().take(100) {
            if writer.write_all(chunk).await.is_err() || writer.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the trickled head was not cut off in 10 s");
    };
    tokio::select! {
        closed = time_to_close(&mut reader, LIMIT) => {
            closed.expect("the trickled head was cut off");
        }
        () = trickle => {
            time_to_close(&mut reader, Duration::from_secs(1))
                .await
                .expect("closed once writes fail");
        }
    }
    http_support::assert_closed_near(start.elapsed(), timeout);
    // A client that sends its head at once is still served.
    let reply = fx.get().await;
    assert_eq!(reply.expect("served").status, 200);
    fx.server.stop().await;
}

#[tokio::test]
async fn a_full_tls_server_closes_its_longest_idle_connection_for_a_new_client() {
    let fx = Fixture::serve("total", |b| {
        b.max_connections(2)
            .unwrap()
            .keep_alive_timeout(Duration::from_secs(60))
            .unwrap()
            .header_read_timeout(Duration::from_secs(30))
            .unwrap()
    })
    .await;
    // Two connections past their handshake, idle: the cap is full.
    let mut oldest = handshake(fx.addr(), &fx.ca, &[]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut newer = handshake(fx.addr(), &fx.ca, &[]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let reply = fx.get().await;
    assert_eq!(reply.expect("served although the cap was full").status, 200);
    http_support::assert_only_the_oldest_closed(&mut oldest, &mut newer).await;
    fx.server.stop().await;
}

#[tokio::test]
async fn a_full_tls_server_evicts_a_stalled_handshake_at_once() {
    let fx = Fixture::serve("total-stalled", |b| {
        b.max_connections(1)
            .unwrap()
            .header_read_timeout(Duration::from_secs(30))
            .unwrap()
    })
    .await;
    let mut stalled = TcpStream::connect(fx.addr()).await.unwrap();
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0xf0, 0x01])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let reply = fx.get().await;
    assert_eq!(reply.expect("served").status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the new client waited {:?} for the stalled handshake to be cut",
        started.elapsed()
    );
    assert!(
        time_to_close(&mut stalled, Duration::from_secs(1))
            .await
            .is_some(),
        "the stalled handshake was evicted"
    );
    fx.server.stop().await;
}

async fn connect(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(TcpStream::connect(addr).await.unwrap());
    }
    out
}

#[tokio::test]
async fn unusable_files_are_an_error_that_names_the_key() {
    let dir = Dir::new("bad");
    let ca = Ca::new("CA");
    let tls = server_files(&dir, &ca);
    std::fs::write(dir.path("server.key"), "not a key").unwrap();
    let mon = StatusReporter::builder().tls(tls).build();
    let err = mon.start_on(listener().await).unwrap_err();
    assert!(matches!(err, ServeError::Security(_)), "{err}");
    assert!(
        err.to_string().starts_with("tls_server_config.key_file"),
        "{err}"
    );
    let missing = StatusReporter::builder()
        .tls(TlsSettings::new(dir.path("nope.crt"), dir.path("nope.key")))
        .build();
    let err = missing.start_on(listener().await).unwrap_err();
    assert!(err.to_string().contains("nope.crt"), "{err}");
}

#[test]
fn the_readme_web_config_loads() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("A complete `web.config.yml`:")
        .expect("the README's web.config.yml");
    let block = &readme[start..];
    let yaml = block
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a yaml block");
    let config = monsta::WebConfig::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.authenticates());
}

#[tokio::test]
async fn stalled_handshakes_are_cut_sooner_when_the_server_is_under_pressure() {
    let hurried = Duration::from_millis(800);
    let header_timeout = Duration::from_secs(4);
    let fx = Fixture::serve("pressure", |b| {
        b.max_connections(16)
            .unwrap()
            .max_connections_per_address(64)
            .unwrap()
            .keep_alive_timeout(Duration::from_secs(60))
            .unwrap()
            .header_read_timeout(header_timeout)
            .unwrap()
            .header_read_timeout_under_pressure(hurried)
            .unwrap()
    })
    .await;
    let addr = fx.addr();
    let start = std::time::Instant::now();
    // 8 of 16 in the header phase, each stalled in the middle of its
    // ClientHello: pressure.
    let mut streams = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(&[0x16, 0x03, 0x01, 0x00, 0xf0, 0x01])
            .await
            .unwrap();
        streams.push(stream);
    }
    // A client that completes its handshake at once is served...
    let reply = fx.get().await;
    assert_eq!(reply.expect("served under pressure").status, 200);
    // ...and stalled handshakes are cut at the shorter deadline until a
    // quarter of the cap is left in the header phase.
    let mut closed = Vec::new();
    for stream in &mut streams {
        time_to_close(stream, LIMIT).await.expect("cut");
        closed.push(start.elapsed());
    }
    closed.sort();
    let early = closed
        .iter()
        .filter(|&&t| t < hurried + Duration::from_millis(1500))
        .count();
    assert_eq!(early, 4, "closed at {closed:?}");
    for &late in &closed[4..] {
        http_support::assert_closed_near(late, header_timeout);
    }
    fx.server.stop().await;
}

mod http2 {
    use super::*;
    use http_body_util::BodyExt;
    use hyper::{Request, Version, client::conn::http2::SendRequest};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    type Conn = tokio::task::JoinHandle<Result<(), hyper::Error>>;

    /// An HTTP/2 connection over TLS, negotiated by ALPN.
    async fn connect(addr: SocketAddr, ca: &Ca) -> (SendRequest<String>, Conn) {
        let mut config = client_config(ca, None, None);
        config.alpn_protocols = vec![b"h2".to_vec()];
        tokio::time::timeout(LIMIT, async {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let tls = TlsConnector::from(Arc::new(config))
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .unwrap();
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
            let (send, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                    .await
                    .unwrap();
            (send, tokio::spawn(conn))
        })
        .await
        .expect("connected in time")
    }

    async fn get(
        send: &mut SendRequest<String>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, Version, String), hyper::Error> {
        let mut request = Request::get("https://localhost/mon/v1/state");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = tokio::time::timeout(
            LIMIT,
            send.send_request(request.body(String::new()).unwrap()),
        )
        .await
        .expect("answered in time")?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok((
            parts.status.as_u16(),
            parts.version,
            String::from_utf8_lossy(&body).into_owned(),
        ))
    }

    #[tokio::test]
    async fn http2_is_negotiated_and_authenticated() {
        let fx = Fixture::serve("h2", |b| b.bearer_token("t")).await;
        let (mut send, _conn) = connect(fx.addr(), &fx.ca).await;
        let (status, version, _) = get(&mut send, &[]).await.unwrap();
        assert_eq!((status, version), (401, Version::HTTP_2));
        let (status, _, body) = get(&mut send, &[("authorization", "Bearer t")])
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("\"running\""), "{body}");
        // HTTP/1.1 clients are still served on the same port.
        let request = "GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer t\r\n\r\n";
        let raw = fx.exchange(request).await;
        assert_eq!(parse(&raw.unwrap()).status, 200);
        fx.server.stop().await;
    }

    #[tokio::test]
    async fn an_http2_connection_closes_after_its_last_allowed_request() {
        let fx = Fixture::serve("h2-max", |b| {
            b.max_requests_per_connection(3)
                .unwrap()
                .keep_alive_timeout(Duration::from_secs(60))
                .unwrap()
        })
        .await;
        let (mut send, conn) = connect(fx.addr(), &fx.ca).await;
        for _ in 0..3 {
            assert_eq!(get(&mut send, &[]).await.unwrap().0, 200);
        }
        let ended = tokio::time::timeout(LIMIT, conn).await;
        assert!(ended.is_ok(), "the server ended the connection");
        fx.server.stop().await;
    }

    #[tokio::test]
    async fn an_idle_http2_connection_closes_after_the_keep_alive_timeout() {
        let timeout = Duration::from_millis(600);
        let fx = Fixture::serve("h2-idle", |b| b.keep_alive_timeout(timeout).unwrap()).await;
        let start = std::time::Instant::now();
        let (_send, conn) = connect(fx.addr(), &fx.ca).await;
        tokio::time::timeout(LIMIT, conn)
            .await
            .expect("closed by the server")
            .ok();
        http_support::assert_closed_near(start.elapsed(), timeout);
        fx.server.stop().await;
    }

    /// The client preface and an empty SETTINGS frame.
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

    #[tokio::test]
    async fn an_http2_head_that_never_ends_is_cut_at_the_header_deadline() {
        let timeout = Duration::from_millis(800);
        let fx = Fixture::serve("h2-trickle", |b| patient(b, timeout)).await;
        // The preface, then a HEADERS frame that announces 64 bytes and
        // sends 4; and a client that sends its preface and nothing else.
        let partial: &[u8] = b"\0\0\x40\x01\x04\0\0\0\x01\x82\x86\x84\x41";
        for rest in [partial, &b""[..]] {
            let mut tls = handshake(fx.addr(), &fx.ca, &[b"h2"]).await;
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
            let start = std::time::Instant::now();
            tls.write_all(PREFACE).await.unwrap();
            tls.write_all(rest).await.unwrap();
            tls.flush().await.unwrap();
            let closed = time_to_close(&mut tls, LIMIT).await.expect("cut off");
            http_support::assert_closed_near(closed.max(start.elapsed()), timeout);
        }
        fx.server.stop().await;
    }

    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS, read from the first
    /// SETTINGS frame it sends after the client's preface.
    async fn announced_streams(addr: SocketAddr, ca: &Ca) -> Option<u32> {
        let mut tls = handshake(addr, ca, &[b"h2"]).await;
        tls.write_all(PREFACE).await.unwrap();
        tls.flush().await.unwrap();
        tokio::time::timeout(LIMIT, async {
            loop {
                let mut head = [0u8; 9];
                tls.read_exact(&mut head).await.unwrap();
                let len =
                    usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
                let mut payload = vec![0u8; len];
                tls.read_exact(&mut payload).await.unwrap();
                // SETTINGS (type 4) without ACK: 6-byte parameters.
                if head[3] == 4 && head[4] & 1 == 0 {
                    return payload.chunks(6).find_map(|p| {
                        (u16::from_be_bytes([p[0], p[1]]) == 3)
                            .then(|| u32::from_be_bytes([p[2], p[3], p[4], p[5]]))
                    });
                }
            }
        })
        .await
        .expect("the server's SETTINGS in time")
    }

    #[tokio::test]
    async fn the_http2_stream_cap_is_announced_and_configurable() {
        let fx = Fixture::serve("h2-streams", |b| b).await;
        let ca = &fx.ca;
        assert_eq!(announced_streams(fx.addr(), ca).await, Some(16));
        fx.server.stop().await;
        // Again on the same directory and CA, with a lower cap.
        let builder = StatusReporter::builder()
            .tls(server_files(&fx.dir, ca))
            .http2_max_streams(3)
            .unwrap();
        let (_mon, server) = serve(builder).await;
        assert_eq!(announced_streams(server.local_addr(), ca).await, Some(3));
        // Eight requests at once on one connection: each is answered or,
        // past the cap, refused with REFUSED_STREAM (a client may retry
        // those); at least the three the cap allows are answered.
        let (send, _conn) = connect(server.local_addr(), ca).await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let mut send = send.clone();
            tasks.push(tokio::spawn(async move { get(&mut send, &[]).await }));
        }
        let mut answered = 0;
        for task in tasks {
            match tokio::time::timeout(LIMIT, task)
                .await
                .expect("answered in time")
                .unwrap()
            {
                Ok((status, _, _)) => {
                    assert_eq!(status, 200);
                    answered += 1;
                }
                Err(error) => assert!(format!("{error:?}").contains("REFUSED_STREAM"), "{error:?}"),
            }
        }
        assert!(answered >= 3, "{answered} answered");
        server.stop().await;
    }

    #[tokio::test]
    async fn an_oversized_head_over_http2_is_not_served() {
        let fx = Fixture::serve("h2-big", |b| b.max_header_size(2048).unwrap()).await;
        let (mut send, _conn) = connect(fx.addr(), &fx.ca).await;
        let big = "a".repeat(4096);
        let (status, _, _) = get(&mut send, &[("x-big", &big)]).await.unwrap();
        assert_eq!(status, 431);
        // The connection goes on serving.
        assert_eq!(get(&mut send, &[]).await.unwrap().0, 200);
        fx.server.stop().await;
    }
}
