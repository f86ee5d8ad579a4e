//! gRPC over TLS with certificates made in the test (rcgen): server-only
//! TLS, and mutual TLS where a client without a certificate is refused.

// Certificate fixtures panic on purpose: a broken fixture is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{config, start, Client, Reply, Sink};
use proto_gateway::config::TlsConfig;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

struct Pki {
    ca_pem: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca = Issuer::new(ca_params, ca_key);
    let leaf = |name: &str, usage: ExtendedKeyUsagePurpose| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca_pem: ca_cert.pem(),
        server: leaf("localhost", ExtendedKeyUsagePurpose::ServerAuth),
        client: leaf("exotel-events-client", ExtendedKeyUsagePurpose::ClientAuth),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

async fn connect(
    addr: std::net::SocketAddr,
    pki: &Pki,
    with_client_cert: bool,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .domain_name("localhost")
        .ca_certificate(Certificate::from_pem(&pki.ca_pem));
    if with_client_cert {
        tls = tls.identity(Identity::from_pem(&pki.client.0, &pki.client.1));
    }
    Channel::from_shared(format!("https://127.0.0.1:{}", addr.port()))
        .unwrap()
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_admits_only_clients_with_a_certificate() {
    proto_gateway::install_crypto_provider();
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(|_, _| Reply::status(200)).await;
    let mut cfg = config(dir.path(), &sink.url);
    cfg.grpc.tls = Some(TlsConfig {
        cert: write(dir.path(), "server.pem", &pki.server.0),
        key: write(dir.path(), "server.key", &pki.server.1),
        client_ca: Some(write(dir.path(), "ca.pem", &pki.ca_pem)),
        client_auth_optional: false,
    });
    let gw = start(cfg).await;

    let mut client = Client::with_channel(connect(gw.grpc_addr(), &pki, true).await.unwrap());
    client.send("ev-tls", Some("leg-t")).await.unwrap();
    sink.wait_for("delivery over mTLS", Duration::from_secs(10), |r| {
        r.len() == 1
    })
    .await;

    // No client certificate: the handshake or the first call fails.
    let refused = match connect(gw.grpc_addr(), &pki, false).await {
        Err(_) => true,
        Ok(ch) => Client::with_channel(ch)
            .send("ev-anon", Some("leg-t"))
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate must be refused");
    // Plaintext against the TLS port fails too.
    let plain = Channel::from_shared(format!("http://{}", gw.grpc_addr()))
        .unwrap()
        .connect()
        .await;
    let refused = match plain {
        Err(_) => true,
        Ok(ch) => Client::with_channel(ch)
            .send("ev-plain", Some("leg-t"))
            .await
            .is_err(),
    };
    assert!(refused, "plaintext must not reach a TLS listener");
    assert_eq!(sink.received().len(), 1);
    gw.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_only_tls_accepts_clients_without_certificates() {
    proto_gateway::install_crypto_provider();
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(|_, _| Reply::status(200)).await;
    let mut cfg = config(dir.path(), &sink.url);
    cfg.grpc.tls = Some(TlsConfig {
        cert: write(dir.path(), "server.pem", &pki.server.0),
        key: write(dir.path(), "server.key", &pki.server.1),
        client_ca: None,
        client_auth_optional: false,
    });
    let gw = start(cfg).await;
    let mut client = Client::with_channel(connect(gw.grpc_addr(), &pki, false).await.unwrap());
    client.send("ev-tls", Some("leg-t")).await.unwrap();
    sink.wait_for("delivery over TLS", Duration::from_secs(10), |r| {
        r.len() == 1
    })
    .await;
    gw.stop().await.unwrap();
}
