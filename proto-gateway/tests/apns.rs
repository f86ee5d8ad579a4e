//! The APNs VoIP relay against a local HTTP/2-only fake of Apple's API
//! (plaintext h2 by prior knowledge; the real host differs only by TLS with
//! ALPN h2). Checks what Apple would: HTTP/2, path, the VoIP headers, the
//! ES256 provider token and its signature, the payload; and the answers the
//! worker gets back.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use handlers::push::apns::RelayRequest;
use handlers::push::PushOutcome;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use proto_gateway::apns::{self, Apns};
use proto_gateway::config::{ApnsConfig, Environment};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};
use tower::ServiceExt;

const TOKEN: &str = "a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcdef";
const SECRET: &str = "gateway-secret-0123456789abcdef";

#[derive(Debug, Clone)]
struct Seen {
    version: hyper::Version,
    method: String,
    path: String,
    headers: hyper::HeaderMap,
    body: Value,
}

#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<(u16, &'static str)>>>,
}

async fn start_fake() -> (SocketAddr, Fake) {
    let fake = Fake::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let f = fake.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let f = f.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<Incoming>| {
                    let f = f.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let bytes = body.collect().await.unwrap().to_bytes();
                        f.seen.lock().unwrap().push(Seen {
                            version: parts.version,
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_owned(),
                            headers: parts.headers,
                            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                        });
                        let (status, reason) =
                            f.script.lock().unwrap().pop_front().unwrap_or((200, ""));
                        let body = if reason.is_empty() {
                            String::new()
                        } else {
                            json!({ "reason": reason }).to_string()
                        };
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .header("apns-id", "0E1F2A3B-0000-4000-8000-000000000001")
                                .body(Full::new(Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                // HTTP/2 only: an HTTP/1.1 client fails here, as it would at Apple.
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, fake)
}

/// A fresh P-256 key, PEM-wrapped like Apple's .p8 files; and its public key.
fn p8() -> (String, Vec<u8>) {
    let rng = SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng).unwrap();
    let b64 = STANDARD.encode(doc.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    (
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        ),
        pair.public_key().as_ref().to_vec(),
    )
}

fn config(addr: SocketAddr, key_path: std::path::PathBuf) -> ApnsConfig {
    ApnsConfig {
        key_path,
        key_id: "ABC123DEFG".into(),
        team_id: "TEAM123456".into(),
        bundle_id: "in.exotel.sample".into(),
        environment: Environment::Sandbox,
        endpoint: Some(format!("http://{addr}")),
        relay_tokens: vec![SECRET.into()],
        timeout_ms: 3000,
    }
}

fn request() -> RelayRequest {
    RelayRequest {
        device_token: TOKEN.into(),
        subscriber_name: "alice".into(),
        payload: "eyJjYWxsIjoxfQ==".into(),
        payload_version: "1".into(),
    }
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn voip_push_has_apples_headers_token_and_payload() {
    let (addr, fake) = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let (pem, public) = p8();
    let path = dir.path().join("AuthKey_ABC123DEFG.p8");
    std::fs::write(&path, pem).unwrap();
    let apns = Apns::new(&config(addr, path)).unwrap();

    let answer = apns.send(&request()).await;
    assert_eq!(answer.delivery, PushOutcome::Accepted);
    assert_eq!(
        answer.apns_id.as_deref(),
        Some("0E1F2A3B-0000-4000-8000-000000000001")
    );
    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.version, hyper::Version::HTTP_2);
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, format!("/3/device/{TOKEN}"));
    let h = |n: &str| seen.headers.get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(h("apns-push-type"), "voip");
    assert_eq!(h("apns-topic"), "in.exotel.sample.voip");
    assert_eq!(h("apns-priority"), "10");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp: u64 = h("apns-expiration").parse().unwrap();
    assert!(
        exp > now && exp <= now + 31,
        "short expiration: {exp} vs {now}"
    );
    assert_eq!(
        seen.body,
        json!({"subscriberName": "alice", "payload": "eyJjYWxsIjoxfQ==", "payloadVersion": "1"})
    );

    // The provider token: ES256, kid, team, fresh iat, and a signature the key's public half verifies.
    let auth = h("authorization");
    let jwt = auth.strip_prefix("bearer ").unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(
        decode(parts[0]),
        json!({"alg": "ES256", "kid": "ABC123DEFG"})
    );
    let claims = decode(parts[1]);
    assert_eq!(claims["iss"], "TEAM123456");
    assert!(claims["iat"].as_u64().unwrap().abs_diff(now) < 60);
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert_eq!(sig.len(), 64, "JWS ES256 is r||s");
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("signature verifies");

    // A second push reuses the same provider token.
    assert_eq!(apns.send(&request()).await.delivery, PushOutcome::Accepted);
    let second = fake.seen.lock().unwrap()[1]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(second, auth);
}

#[tokio::test]
async fn apple_answers_become_the_workers_outcomes() {
    let (addr, fake) = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.p8");
    std::fs::write(&path, p8().0).unwrap();
    let apns = Apns::new(&config(addr, path)).unwrap();

    fake.script.lock().unwrap().extend([
        (410, "Unregistered"),
        (400, "BadDeviceToken"),
        (500, "InternalServerError"),
    ]);
    assert_eq!(
        apns.send(&request()).await.delivery,
        PushOutcome::Unregistered
    );
    assert_eq!(
        apns.send(&request()).await.delivery,
        PushOutcome::Unregistered
    );
    assert_eq!(
        apns.send(&request()).await.delivery,
        PushOutcome::Failed {
            reason: "apns 500 InternalServerError".into()
        }
    );

    // An expired provider token is re-signed and the push retried once.
    let before = fake.seen.lock().unwrap().len();
    fake.script
        .lock()
        .unwrap()
        .push_back((403, "ExpiredProviderToken"));
    assert_eq!(apns.send(&request()).await.delivery, PushOutcome::Accepted);
    {
        let seen = fake.seen.lock().unwrap();
        assert_eq!(seen.len(), before + 2);
        assert_ne!(
            seen[before].headers.get("authorization"),
            seen[before + 1].headers.get("authorization")
        );
    }

    // A token that is not hex never reaches Apple.
    let n = fake.seen.lock().unwrap().len();
    let bad = RelayRequest {
        device_token: "../../x".into(),
        ..request()
    };
    assert_eq!(apns.send(&bad).await.delivery, PushOutcome::Unregistered);
    assert_eq!(fake.seen.lock().unwrap().len(), n);
}

#[tokio::test]
async fn the_relay_route_needs_the_shared_secret() {
    let (addr, fake) = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.p8");
    std::fs::write(&path, p8().0).unwrap();
    let cfg = config(addr, path);
    let router = apns::routes(&cfg, |_| None).unwrap();
    let body = serde_json::to_string(&request()).unwrap();
    let call = |auth: Option<&str>| {
        let mut b =
            axum::http::Request::post("/v1/apns/voip").header("content-type", "application/json");
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        router
            .clone()
            .oneshot(b.body(Body::from(body.clone())).unwrap())
    };
    assert_eq!(call(None).await.unwrap().status(), 401);
    assert_eq!(
        call(Some("Bearer wrong-secret-0123456789"))
            .await
            .unwrap()
            .status(),
        401
    );
    assert!(fake.seen.lock().unwrap().is_empty());
    let resp = call(Some(&format!("Bearer {SECRET}"))).await.unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["outcome"], "accepted");
    assert_eq!(fake.seen.lock().unwrap().len(), 1);

    // Env tokens count too; an open relay is refused at startup.
    let open = ApnsConfig {
        relay_tokens: vec![],
        ..cfg.clone()
    };
    assert!(apns::routes(&open, |_| None).is_err());
    assert!(apns::routes(&open, |n| (n == apns::TOKENS_ENV)
        .then(|| SECRET.to_string()))
    .is_ok());
    assert!(apns::routes(
        &ApnsConfig {
            relay_tokens: vec!["short".into()],
            ..cfg
        },
        |_| None
    )
    .is_err());
}

#[test]
fn hosts() {
    let base = ApnsConfig {
        key_path: "k".into(),
        key_id: "k".into(),
        team_id: "t".into(),
        bundle_id: "b".into(),
        environment: Environment::Production,
        endpoint: None,
        relay_tokens: vec![],
        timeout_ms: 1,
    };
    assert_eq!(base.base_url(), "https://api.push.apple.com");
    let sandbox = ApnsConfig {
        environment: Environment::Sandbox,
        ..base.clone()
    };
    assert_eq!(sandbox.base_url(), "https://api.sandbox.push.apple.com");
    let toml_cfg: ApnsConfig = toml::from_str(
        "key_path = \"/k.p8\"\nkey_id = \"K\"\nteam_id = \"T\"\nbundle_id = \"b\"\nenvironment = \"sandbox\"\n",
    )
    .unwrap();
    assert_eq!(toml_cfg.environment, Environment::Sandbox);
    assert!(!format!(
        "{:?}",
        ApnsConfig {
            relay_tokens: vec![SECRET.into()],
            ..base
        }
    )
    .contains(SECRET));
}
