//! TLS and basic auth through a web config file in node_exporter's format: a real Prometheus
//! scrapes with the scrape config it would use for node_exporter, wrong credentials get 401,
//! and what the server cannot honour stops it at start-up with the reason.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::certs::{Dir, certificates, issue};
use common::{Server, http_get, wait_for};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

const USER: &str = "prometheus";
const PASSWORD: &str = "correct horse battery staple";

/// A web config with TLS from the files `certificates` made (paths relative to the config, as
/// the toolkit reads them) and one user; `more` is appended.
fn web_config(dir: &Dir, more: &str) -> PathBuf {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    dir.write(
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n\
             basic_auth_users:\n  {USER}: {hash}\n{more}"
        ),
    )
}

fn start(flag: &str, config: &Path, extra: &[&str]) -> Server {
    let mut args = vec![flag, config.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start("127.0.0.1:0", "127.0.0.1:0", &args)
}

/// A TLS client trusting the test CA, with the client certificate if asked.
fn client(dir: &Dir, with_certificate: bool) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(dir.path("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = if with_certificate {
        let chain = CertificateDer::pem_file_iter(dir.path("client.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(dir.path("client.key")).unwrap();
        builder.with_client_auth_cert(chain, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(config)
}

/// An HTTPS GET of `path` with these credentials; the whole response, or the error.
fn https_get(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    path: &str,
    credentials: Option<(&str, &str)>,
) -> std::io::Result<String> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn =
        rustls::ClientConnection::new(config.clone(), name).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let auth = credentials
        .map(|(u, p)| {
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            format!("Authorization: Basic {encoded}\r\n")
        })
        .unwrap_or_default();
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    match tls.read_to_end(&mut response) {
        Ok(_) => {}
        // Some of it came before the error: a reset after the answer, say.
        Err(_) if !response.is_empty() => {}
        Err(e) => return Err(e),
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

fn status(response: &str) -> Option<u16> {
    response.split_whitespace().nth(1)?.parse().ok()
}

#[test]
#[ignore = "needs Debian's prometheus: make test runs it"]
fn prometheus_scrapes_over_tls_with_basic_auth() {
    let dir = Dir::new("prometheus");
    certificates(&dir);
    let config = web_config(&dir, "");
    // node_exporter's spelling of the flag.
    let server = start("--web.config.file", &config, &[]);
    let _agent = common::agent("tls-agent", &[server.agents], "1s");
    let prometheus_yml = dir.write(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: vitals\n    honor_labels: true\n    scheme: https\n\
             \x20   tls_config:\n      ca_file: {ca}\n\
             \x20   basic_auth:\n      username: {USER}\n      password: {PASSWORD}\n\
             \x20   static_configs:\n      - targets: ['{target}']\n",
            ca = dir.path("ca.pem").display(),
            target = server.http,
        ),
    );
    let (_prometheus, port) = common::prometheus(&prometheus_yml, &dir.path("data"));
    wait_for(
        "Prometheus to scrape the agent's series over TLS with basic auth",
        Duration::from_secs(60),
        || {
            let (status, body) = http_get(
                port,
                "/api/v1/query?query=node_load1%7Binstance%3D%22tls-agent%22%7D",
            )?;
            (status == 200 && body.contains("\"tls-agent\"")).then_some(())
        },
    );
    let targets = http_get(port, "/api/v1/targets").unwrap().1;
    assert!(targets.contains("\"health\":\"up\""), "{targets}");
    assert!(targets.contains("https://"), "{targets}");
}

#[test]
fn wrong_credentials_get_401_with_www_authenticate_and_healthz_needs_none() {
    let dir = Dir::new("auth");
    certificates(&dir);
    let config = web_config(
        &dir,
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
    );
    let mut cmd = Command::new(common::bin("vitals-server"));
    cmd.args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .env("VITALS_WEB_CONFIG_FILE", &config);
    let server = Server::spawn(cmd);
    let tls = client(&dir, false);
    for credentials in [None, Some((USER, "wrong")), Some(("nobody", PASSWORD))] {
        let response = https_get(server.http, &tls, "/metrics", credentials).unwrap();
        assert_eq!(status(&response), Some(401), "{credentials:?}: {response}");
        assert!(
            response.contains("\r\nWWW-Authenticate: Basic\r\n"),
            "{response}"
        );
        assert!(
            response.contains("\r\nX-Frame-Options: deny\r\n"),
            "{response}"
        );
    }
    // The status pages and their JSON are protected as /metrics is.
    for path in [
        "/",
        "/?q=a",
        "/agents/a",
        "/api/v1/agents",
        "/api/v1/agents/a",
        "/nowhere",
    ] {
        let response = https_get(server.http, &tls, path, None).unwrap();
        assert_eq!(status(&response), Some(401), "{path}: {response}");
    }
    let response = https_get(server.http, &tls, "/", Some((USER, PASSWORD))).unwrap();
    assert_eq!(status(&response), Some(200), "{response}");
    assert!(response.contains("<table id=\"fleet\">"), "{response}");
    // A health check needs no password.
    let response = https_get(server.http, &tls, "/healthz", None).unwrap();
    assert_eq!(status(&response), Some(200), "{response}");
    assert!(response.ends_with("\r\n\r\nok\n"), "{response}");
    let response = https_get(server.http, &tls, "/metrics", Some((USER, PASSWORD))).unwrap();
    assert_eq!(status(&response), Some(200), "{response}");
    let metrics = common::chunked::dechunk(response.split_once("\r\n\r\n").unwrap().1.as_bytes());
    let metrics = String::from_utf8(metrics).unwrap();
    assert_eq!(
        common::value(
            &metrics,
            "vitals_server_http_refused_total",
            &[("reason", "unauthorized")]
        ),
        Some(9.0),
        "{metrics}"
    );
}

/// A container's health check runs `vitals-server --health` with the server's own flags and
/// environment: over TLS, with basic auth on everything but `/healthz`.
#[test]
fn health_asks_over_tls_when_the_web_config_has_it() {
    let dir = Dir::new("health");
    certificates(&dir);
    let config = web_config(&dir, "");
    let server = start("--web-config-file", &config, &[]);
    let http = server.http.to_string();
    assert_eq!(
        common::health_check(&["--http", &http], &[("VITALS_WEB_CONFIG_FILE", &config)]),
        (Some(0), String::new())
    );
    let (code, said) = common::health_check(&["--http", &http], &[]);
    assert_eq!(code, Some(1), "plain HTTP to the TLS port: {said}");
    assert!(said.contains("answered 400"), "{said}");
}

#[test]
fn plain_http_to_the_tls_port_gets_a_400_that_says_so() {
    let dir = Dir::new("plain");
    certificates(&dir);
    let config = web_config(&dir, "");
    let server = start("--web-config-file", &config, &[]);
    assert_eq!(
        http_get(server.http, "/healthz"),
        Some((
            400,
            "Client sent an HTTP request to an HTTPS server.\n".into()
        ))
    );
    let response = https_get(server.http, &client(&dir, false), "/healthz", None).unwrap();
    assert_eq!(status(&response), Some(200), "{response}");
}

#[test]
fn a_tls_handshake_never_finished_is_dropped_and_stalls_no_one() {
    let dir = Dir::new("handshake");
    certificates(&dir);
    let config = web_config(&dir, "");
    let mut server = start(
        "--web-config-file",
        &config,
        &["--http-header-timeout", "1s"],
    );
    let tls = client(&dir, false);
    let mut stuck = TcpStream::connect(server.http).unwrap();
    // The start of a ClientHello record, and then nothing.
    stuck
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
        .unwrap();
    let started = Instant::now();
    let response = https_get(server.http, &tls, "/healthz", None).unwrap();
    assert_eq!(status(&response), Some(200), "{response}");
    assert!(started.elapsed() < Duration::from_secs(1));
    stuck
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    let end = stuck.read(&mut buf);
    assert!(
        matches!(end, Ok(0) | Err(_)) && started.elapsed() < Duration::from_secs(4),
        "{end:?} after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(server.proc.child.try_wait().unwrap().is_none());
}

#[test]
fn a_client_certificate_is_required_and_verified_when_asked() {
    let dir = Dir::new("mtls");
    certificates(&dir);
    let config = dir.write(
        "web.yml",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  \
         min_version: TLS13\n",
    );
    let server = start("--web-config-file", &config, &[]);
    let response = https_get(server.http, &client(&dir, true), "/metrics", None).unwrap();
    assert_eq!(status(&response), Some(200), "{response}");
    assert!(https_get(server.http, &client(&dir, false), "/metrics", None).is_err());
}

/// The server stops at start-up, saying why, on a web config it cannot honour.
#[test]
fn a_web_config_the_server_cannot_honour_stops_it_at_start() {
    let dir = Dir::new("refusals");
    certificates(&dir);
    dir.write("not-a-cert.pem", "hello\n");
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let cases = [
        (
            format!("basic_auth_users:\n  {USER}: {PASSWORD}\n"),
            "basic_auth_users.prometheus: not a bcrypt hash",
        ),
        (
            format!("basic_auth_users:\n  {USER}: {hash}\nbasic_auth_user:\n  x: y\n"),
            "unknown key `basic_auth_user`",
        ),
        (
            "tls_server_config:\n  cert_file: missing.pem\n  key_file: server.key\n".into(),
            "cannot read the certificate",
        ),
        (
            "tls_server_config:\n  cert_file: not-a-cert.pem\n  key_file: server.key\n".into(),
            "no PEM certificate",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: client.key\n".into(),
            "certificate and key",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
             max_version: TLS11\n"
                .into(),
            "TLS11 is not supported",
        ),
    ];
    for (i, (text, wanted)) in cases.iter().enumerate() {
        let config = dir.write(&format!("bad-{i}.yml"), text);
        let out = Command::new(common::bin("vitals-server"))
            .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(["--web-config-file", config.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text}: started anyway: {stderr}");
        assert!(stderr.contains(wanted), "{text}: {stderr}");
        assert!(stderr.contains(config.to_str().unwrap()), "{stderr}");
    }
    let out = Command::new(common::bin("vitals-server"))
        .args(["--web-config-file", dir.path("none.yml").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

/// The certificate the server presents in a handshake.
fn served_certificate(addr: SocketAddr, config: &Arc<rustls::ClientConfig>) -> Vec<u8> {
    let mut tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).unwrap();
    }
    conn.peer_certificates().unwrap()[0].to_vec()
}

/// The toolkit reads a renewed certificate at the next connection; so does this server.
#[test]
fn a_renewed_certificate_is_served_without_a_restart() {
    let dir = Dir::new("renewal");
    certificates(&dir);
    let config = web_config(&dir, "");
    let server = start("--web-config-file", &config, &[]);
    let tls = client(&dir, false);
    let first = served_certificate(server.http, &tls);
    let pem = |name: &str| {
        CertificateDer::from_pem_file(dir.path(name))
            .unwrap()
            .to_vec()
    };
    assert_eq!(first, pem("server.pem"));
    issue(&dir, "renewed", "serverAuth", "IP:127.0.0.1");
    // Replaced one file after the other, as a renewal tool would: a handshake in between may
    // see a key that does not match, which must not stop the server.
    std::fs::rename(dir.path("renewed.key"), dir.path("server.key")).unwrap();
    std::fs::rename(dir.path("renewed.pem"), dir.path("server.pem")).unwrap();
    let renewed = pem("server.pem");
    assert_ne!(first, renewed);
    wait_for("the renewed certificate", Duration::from_secs(10), || {
        (served_certificate(server.http, &tls) == renewed).then_some(())
    });
    let response = https_get(server.http, &tls, "/healthz", None).unwrap();
    assert_eq!(status(&response), Some(200), "{response}");
}
