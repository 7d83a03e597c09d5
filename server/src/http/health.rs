//! `vitals-server --health`: asks a running server's `/healthz`, for a container's health check,
//! where there is no shell and no curl to ask it.
//!
//! The server listens on `--http`, often `0.0.0.0:7451`: an unspecified address is asked on
//! loopback. Over TLS (a web config with `tls_server_config`) the certificate is not checked,
//! since the question is whether this machine's server answers, not who it is, and nothing secret
//! is sent; a server that requires client certificates refuses the handshake, and so the check.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

/// The longest the whole check takes, connecting included: under Docker's default health check
/// timeout (30 s), and far above a healthy server's answer (under a millisecond on loopback).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The most bytes of an answer read: `/healthz` writes a line per stuck thread.
const MAX_ANSWER: u64 = 16 * 1024;

/// Why a server is not healthy, or could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum Unhealthy {
    /// The address does not resolve.
    #[error("{addr} is not an address to ask: {reason}")]
    Address {
        /// `--http` as given.
        addr: String,
        /// What resolving it said.
        reason: String,
    },
    /// Connecting, the TLS handshake, writing or reading failed, or took longer than
    /// [`TIMEOUT`].
    #[error("cannot ask {addr}/healthz: {reason}")]
    Io {
        /// The address asked.
        addr: SocketAddr,
        /// What failed.
        reason: std::io::Error,
    },
    /// The answer is not an HTTP response.
    #[error("{addr}/healthz answered something that is not HTTP")]
    NotHttp {
        /// The address asked.
        addr: SocketAddr,
    },
    /// The server answered with a status other than 200: 503 names the stuck threads.
    #[error("{addr}/healthz answered {status}: {body}")]
    Status {
        /// The address asked.
        addr: SocketAddr,
        /// The status code.
        status: u16,
        /// The body, trimmed.
        body: String,
    },
}

/// Asks `GET /healthz` of the server whose `--http` is `http` (over TLS when `tls`); `Ok` when
/// it answers 200.
///
/// # Errors
/// [`Unhealthy`], saying why: the server is not there, does not answer within [`TIMEOUT`], or
/// answers another status (and then the threads it names as stuck).
pub fn check(http: &str, tls: bool) -> Result<(), Unhealthy> {
    let deadline = Instant::now() + TIMEOUT;
    let addr = target(http)?;
    let io = |reason| Unhealthy::Io { addr, reason };
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(io)?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    stream.set_read_timeout(Some(left)).map_err(io)?;
    stream.set_write_timeout(Some(left)).map_err(io)?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut answer = Vec::new();
    if tls {
        let connection =
            ClientConnection::new(any_certificate(), ServerName::IpAddress(addr.ip().into()))
                .map_err(|e| io(std::io::Error::other(e)))?;
        exchange(StreamOwned::new(connection, stream), &request, &mut answer).map_err(io)?;
    } else {
        exchange(stream, &request, &mut answer).map_err(io)?;
    }
    let (status, body) = parse(&answer).ok_or(Unhealthy::NotHttp { addr })?;
    if status == 200 {
        return Ok(());
    }
    Err(Unhealthy::Status {
        addr,
        status,
        body: body.trim().replace('\n', "; "),
    })
}

/// Where to ask: the first address `http` resolves to, loopback for an unspecified one.
fn target(http: &str) -> Result<SocketAddr, Unhealthy> {
    let refused = |reason: String| Unhealthy::Address {
        addr: http.to_owned(),
        reason,
    };
    let mut addr = http
        .to_socket_addrs()
        .map_err(|e| refused(e.to_string()))?
        .next()
        .ok_or_else(|| refused("it resolves to nothing".into()))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(addr)
}

/// Writes `request` and reads the answer to its end (the server closes: `Connection: close`).
fn exchange(
    mut stream: impl Read + Write,
    request: &str,
    answer: &mut Vec<u8>,
) -> std::io::Result<()> {
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    match stream.take(MAX_ANSWER).read_to_end(answer) {
        // A TLS peer that closes without close_notify: the answer is whole all the same, since
        // `/healthz` is sent with a Content-Length and parsed only as far as that.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => Ok(()),
        other => other.map(drop),
    }
}

/// The status and body of an answer with a `Content-Length` (as `/healthz` is sent).
fn parse(answer: &[u8]) -> Option<(u16, String)> {
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(answer.get(..split)?).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()?
        .strip_prefix("HTTP/1.")?
        .get(2..5)?
        .parse()
        .ok()?;
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let body = answer.get(split + 4..)?;
    let body = body.get(..length.min(body.len()))?;
    Some((status, String::from_utf8_lossy(body).into_owned()))
}

/// A client that takes any certificate, but checks the handshake's signatures with it as
/// usual: it asks this machine's own server whether it answers (see the module's doc).
fn any_certificate() -> Arc<ClientConfig> {
    let provider = Arc::new(ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("ring's defaults are the safe versions"))
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

/// The verifier of [`any_certificate`].
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTHY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
        Content-Length: 3\r\nConnection: close\r\n\r\nok\n";
    const STUCK: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 49\r\n\r\n\
        unhealthy: stuck threads\naggregator: no heartbeat for 7.0s\n";

    #[test]
    fn an_answer_is_read_as_far_as_its_length() {
        assert_eq!(parse(HEALTHY), Some((200, "ok\n".into())));
        assert_eq!(
            parse(STUCK),
            Some((
                503,
                "unhealthy: stuck threads\naggregator: no heartbeat".into()
            )),
            "cut at its length"
        );
        assert_eq!(parse(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"), None);
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\n"), None, "no end of head");
    }

    #[test]
    fn an_unspecified_address_is_asked_on_loopback() {
        assert_eq!(
            target("0.0.0.0:7451").unwrap(),
            "127.0.0.1:7451".parse().unwrap()
        );
        assert_eq!(target("[::]:7451").unwrap(), "[::1]:7451".parse().unwrap());
        assert_eq!(
            target("10.1.2.3:80").unwrap(),
            "10.1.2.3:80".parse().unwrap()
        );
        assert!(matches!(target("no port"), Err(Unhealthy::Address { .. })));
    }
}
