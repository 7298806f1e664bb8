//! Authentication and address rules on monsta's own server and on a host's
//! axum app: no credentials, a wrong password, a wrong token, the right
//! ones; the hashes of an exporter-toolkit users file; the slow-down after
//! repeated failures; the open health route; allowed and denied ranges on
//! IPv4 and IPv6 loopback. Real TCP on loopback; every wait is bounded.

#![cfg(feature = "http")]

mod http_support;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use base64::Engine as _;
use http_support::{Reply, exchange, listener, parse};
use monsta::{FREE_FAILURES, ServerHandle, StatusReporter, StatusReporterBuilder, WebConfig};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

const LIMIT: Duration = Duration::from_secs(10);
const STATE: &str = "/mon/v1/state";

/// A bcrypt hash of `password` at the lowest cost, so the tests are quick.
fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).expect("bcrypt")
}

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Authorization: Basic {token}\r\n")
}

async fn serve(builder: StatusReporterBuilder) -> (StatusReporter, ServerHandle) {
    let mon = builder.build();
    mon.publish(json!({"status": "running"}));
    let server = mon.start_on(listener().await).expect("start_on");
    (mon, server)
}

async fn get_with(addr: SocketAddr, path: &str, headers: &str) -> Reply {
    let raw = exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n"),
    )
    .await;
    parse(&raw)
}

#[tokio::test]
async fn basic_auth_and_bearer_tokens() {
    let (_mon, server) = serve(
        StatusReporter::builder()
            .basic_auth_user("prometheus", &hash("right"))
            .unwrap()
            .bearer_token("the-token"),
    )
    .await;
    let addr = server.local_addr();

    let raw = exchange(
        addr,
        &format!("GET {STATE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
    .await;
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(
        head.contains("\r\nwww-authenticate: basic realm=\"monsta\""),
        "{head}"
    );
    assert!(
        head.contains("\r\nwww-authenticate: bearer realm=\"monsta\""),
        "{head}"
    );
    let reply = parse(&raw);
    assert_eq!(reply.status, 401);
    assert_eq!(reply.text(), "unauthorized\n");

    assert_eq!(
        get_with(addr, STATE, &basic("prometheus", "wrong"))
            .await
            .status,
        401
    );
    assert_eq!(
        get_with(addr, STATE, &basic("nobody", "right"))
            .await
            .status,
        401
    );
    assert_eq!(
        get_with(addr, STATE, "Authorization: Bearer not-the-token\r\n")
            .await
            .status,
        401
    );
    assert_eq!(
        get_with(addr, STATE, "Authorization: Digest x\r\n")
            .await
            .status,
        401
    );

    let reply = get_with(addr, STATE, &basic("prometheus", "right")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["state"], json!({"status": "running"}));
    // Verified once, then from the cache: the same answer.
    assert_eq!(
        get_with(addr, STATE, &basic("prometheus", "right"))
            .await
            .status,
        200
    );
    let reply = get_with(addr, STATE, "Authorization: Bearer the-token\r\n").await;
    assert_eq!(reply.status, 200);
    // Every path is behind authentication, unknown ones too.
    assert_eq!(get_with(addr, "/nope", "").await.status, 401);
    assert_eq!(
        get_with(addr, "/nope", &basic("prometheus", "right"))
            .await
            .status,
        404
    );
    server.stop().await;
}

#[tokio::test]
async fn a_token_only_reporter_challenges_with_bearer() {
    let (_mon, server) = serve(StatusReporter::builder().bearer_token("t")).await;
    let reply = get_with(server.local_addr(), STATE, "").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer realm=\"monsta\"")
    );
    server.stop().await;
}

#[tokio::test]
async fn the_hashes_of_an_exporter_toolkit_users_file_verify() {
    // exporter-toolkit's own example users (alice's password is alice123).
    let config = WebConfig::from_yaml(
        "basic_auth_users:\n  alice: $2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby\n  bob: $2y$18$4VeFDzXIoPHKnKTU3O3GH.N.vZu06CVqczYZ8WvfzrddFU6tGqjR.\n",
    )
    .expect("the example file loads");
    let (_mon, server) = serve(StatusReporter::builder().web_config(config)).await;
    let addr = server.local_addr();
    assert_eq!(
        get_with(addr, STATE, &basic("alice", "alice123"))
            .await
            .status,
        200
    );
    assert_eq!(
        get_with(addr, STATE, &basic("alice", "alice1234"))
            .await
            .status,
        401
    );
    server.stop().await;
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_slowed_down() {
    let (_mon, server) = serve(
        StatusReporter::builder()
            .basic_auth_user("u", &hash("right"))
            .unwrap(),
    )
    .await;
    let addr = server.local_addr();
    for _ in 0..FREE_FAILURES {
        let start = Instant::now();
        assert_eq!(
            get_with(addr, STATE, &basic("u", "wrong")).await.status,
            401
        );
        assert!(
            start.elapsed() < monsta::FIRST_FAILURE_DELAY,
            "{:?}",
            start.elapsed()
        );
    }
    let start = Instant::now();
    assert_eq!(
        get_with(addr, STATE, &basic("u", "wrong")).await.status,
        401
    );
    let first = start.elapsed();
    assert!(first >= monsta::FIRST_FAILURE_DELAY, "{first:?}");
    let start = Instant::now();
    assert_eq!(
        get_with(addr, STATE, &basic("u", "wrong")).await.status,
        401
    );
    assert!(
        start.elapsed() >= 2 * monsta::FIRST_FAILURE_DELAY,
        "{:?}",
        start.elapsed()
    );
    // The right password still works (after the delay), and clears the slate.
    let start = Instant::now();
    assert_eq!(
        get_with(addr, STATE, &basic("u", "right")).await.status,
        200
    );
    assert!(
        start.elapsed() >= 4 * monsta::FIRST_FAILURE_DELAY,
        "{:?}",
        start.elapsed()
    );
    let start = Instant::now();
    assert_eq!(
        get_with(addr, STATE, &basic("u", "wrong")).await.status,
        401
    );
    assert!(
        start.elapsed() < monsta::FIRST_FAILURE_DELAY,
        "{:?}",
        start.elapsed()
    );
    // A password verified before is not delayed however much the address
    // fails (a scraper behind the same address as a guesser keeps its pace).
    for _ in 0..FREE_FAILURES + 2 {
        get_with(addr, STATE, &basic("u", "wrong")).await;
    }
    let start = Instant::now();
    assert_eq!(
        get_with(addr, STATE, &basic("u", "right")).await.status,
        200
    );
    assert!(
        start.elapsed() < monsta::FIRST_FAILURE_DELAY,
        "{:?}",
        start.elapsed()
    );
    server.stop().await;
}

#[tokio::test]
async fn the_health_route_is_open_only_on_request() {
    let secured = || StatusReporter::builder().bearer_token("t");
    let (_mon, server) = serve(secured().open_health_endpoint()).await;
    let addr = server.local_addr();
    let reply = get_with(addr, monsta::HEALTH_ENDPOINT, "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "ok\n");
    assert_eq!(get_with(addr, STATE, "").await.status, 401);
    server.stop().await;

    let (_mon, server) = serve(secured()).await;
    let reply = get_with(server.local_addr(), monsta::HEALTH_ENDPOINT, "").await;
    assert_eq!(reply.status, 401);
    server.stop().await;
}

/// Sends a request from `from` and reads until the server closes.
async fn from(from: IpAddr, addr: SocketAddr) -> Vec<u8> {
    let socket = match from {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    }
    .expect("socket");
    socket
        .bind(SocketAddr::new(from, 0))
        .expect("bind the client");
    let mut stream: TcpStream = tokio::time::timeout(LIMIT, socket.connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    tokio::time::timeout(LIMIT, async {
        let _ = stream
            .write_all(
                format!("GET {STATE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await;
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out).await;
        out
    })
    .await
    .expect("the server answered or closed in time")
}

#[tokio::test]
async fn address_rules_on_ipv4_loopback() {
    let (_mon, server) = serve(
        StatusReporter::builder()
            .allow("127.0.0.0/8")
            .unwrap()
            .deny("127.0.0.2/32")
            .unwrap(),
    )
    .await;
    let addr = server.local_addr();
    let served = from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), addr).await;
    assert_eq!(parse(&served).status, 200);
    let refused = from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), addr).await;
    assert!(refused.is_empty(), "a denied address is answered nothing");
    server.stop().await;

    let (_mon, server) = serve(StatusReporter::builder().allow("127.0.0.3").unwrap()).await;
    let addr = server.local_addr();
    assert!(
        from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), addr)
            .await
            .is_empty()
    );
    assert_eq!(
        parse(&from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), addr).await).status,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn address_rules_on_ipv6_loopback() {
    let v6 = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
    for (builder, admitted) in [
        (StatusReporter::builder().allow("::1/128").unwrap(), true),
        (
            StatusReporter::builder().allow("127.0.0.0/8").unwrap(),
            false,
        ),
        (StatusReporter::builder().deny("::1").unwrap(), false),
    ] {
        let mon = builder.build();
        mon.publish(json!({}));
        let listener = tokio::net::TcpListener::bind("[::1]:0")
            .await
            .expect("bind [::1]:0");
        let server = mon.start_on(listener).unwrap();
        let out = from(v6, server.local_addr()).await;
        assert_eq!(
            !out.is_empty(),
            admitted,
            "{:?}",
            String::from_utf8_lossy(&out)
        );
        if admitted {
            assert_eq!(parse(&out).status, 200);
        }
        server.stop().await;
    }
}

#[test]
fn bad_settings_are_errors_without_the_value() {
    let err = StatusReporter::builder().allow("10.0.0.0/99").unwrap_err();
    assert!(err.to_string().starts_with("allow:"), "{err}");
    let err = StatusReporter::builder()
        .bearer_token_sha256("sha256:top-secret")
        .unwrap_err();
    assert!(!err.to_string().contains("top-secret"), "{err}");
    let err = StatusReporter::builder()
        .basic_auth_user("u", "top-secret")
        .unwrap_err();
    assert!(!err.to_string().contains("top-secret"), "{err}");
}

#[cfg(feature = "axum")]
mod host_app {
    use super::*;
    use axum::{Router, routing::get};

    #[tokio::test]
    async fn the_router_and_the_layer_authenticate_in_a_host_app() {
        let mon = StatusReporter::builder()
            .basic_auth_user("u", &hash("right"))
            .unwrap()
            .open_health_endpoint()
            .build();
        mon.publish(json!({"status": "running"}));
        let app: Router = Router::new()
            .route("/admin", get(|| async { "admin" }))
            .layer(mon.auth_layer())
            .merge(mon.router())
            .route("/public", get(|| async { "public" }));
        let listener = listener().await;
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
        );
        let right = basic("u", "right");
        assert_eq!(get_with(addr, STATE, "").await.status, 401);
        assert_eq!(get_with(addr, STATE, &right).await.status, 200);
        let reply = get_with(addr, "/admin", "").await;
        assert_eq!(reply.status, 401);
        assert!(reply.header("www-authenticate").is_some());
        assert_eq!(get_with(addr, "/admin", &right).await.text(), "admin");
        assert_eq!(get_with(addr, "/public", "").await.text(), "public");
        assert_eq!(
            get_with(addr, monsta::HEALTH_ENDPOINT, "").await.text(),
            "ok\n"
        );
        // The slow-down knows the client through axum's ConnectInfo.
        for _ in 0..FREE_FAILURES {
            get_with(addr, "/admin", &basic("u", "wrong")).await;
        }
        let start = Instant::now();
        assert_eq!(
            get_with(addr, "/admin", &basic("u", "wrong")).await.status,
            401
        );
        assert!(start.elapsed() >= monsta::FIRST_FAILURE_DELAY);
        stop.send(()).unwrap();
        tokio::time::timeout(LIMIT, server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
