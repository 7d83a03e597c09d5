//! The rustls server configuration a web config's `tls_server_config` asks for, with *ring* as
//! the crypto provider (Rust and assembly with a little C, and no C library: it builds for
//! musl targets).
//!
//! A certificate and key in files are read again when the files change (looked at no more than
//! once a [`RELOAD_CHECK`]), as the exporter toolkit picks up a renewed certificate without a
//! restart; a renewal that cannot be loaded is logged and the previous pair kept.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, version};

/// How often, at most, the certificate and key files are looked at for a change: each look is
/// two `stat`s during a handshake.
pub const RELOAD_CHECK: Duration = Duration::from_secs(1);

/// PEM text, inline in the config or in a file.
#[derive(Debug, Clone)]
pub enum Pem {
    /// The text itself.
    Inline(String),
    /// A file holding it.
    File(PathBuf),
}

/// Whom the server asks for a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Nobody (`NoClientCert`).
    None,
    /// Everyone, and a certificate given must verify (`VerifyClientCertIfGiven`).
    IfGiven,
    /// Everyone must give one that verifies (`RequireAndVerifyClientCert`).
    Required,
}

/// A TLS version rustls speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// `tls_server_config`, checked but not yet loaded.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The certificate chain, leaf first.
    pub cert: Pem,
    /// Its private key.
    pub key: Pem,
    /// CA certificates client certificates must chain to.
    pub client_ca: Option<Pem>,
    /// Whom to ask for a client certificate.
    pub client_auth: ClientAuth,
    /// Lowest version.
    pub min: Version,
    /// Highest version.
    pub max: Version,
    /// Go's names of the TLS 1.2 cipher suites allowed, in order; empty for the default.
    pub cipher_suites: Vec<String>,
    /// Go's names of the key exchange groups, in order; empty for the default.
    pub curves: Vec<String>,
    /// Pick the cipher suite by the server's order rather than the client's.
    pub prefer_server_order: bool,
}

/// TLS 1.2 suites by the names Go (and so the toolkit's configs) gives them; TLS 1.3's are not
/// configurable, as in Go.
fn tls12_suite(name: &str) -> Option<SupportedCipherSuite> {
    use ring::cipher_suite as cs;
    Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        _ => return None,
    })
}

/// Builds the server configuration, reading the certificates and key.
///
/// # Errors
/// A message naming what could not be read or used.
pub fn server_config(s: &TlsSettings) -> Result<Arc<ServerConfig>, String> {
    let mut provider = ring::default_provider();
    if !s.cipher_suites.is_empty() {
        let mut suites: Vec<SupportedCipherSuite> = Vec::new();
        for name in &s.cipher_suites {
            suites.push(tls12_suite(name).ok_or_else(|| {
                format!(
                    "tls_server_config.cipher_suites: `{name}` is not supported (the ECDHE \
                     suites with AES-GCM or ChaCha20-Poly1305 are)"
                )
            })?);
        }
        // TLS 1.3's suites stay, as Go keeps them whatever the list says.
        suites.extend(
            provider
                .cipher_suites
                .iter()
                .filter(|c| c.version() == &version::TLS13)
                .copied(),
        );
        provider.cipher_suites = suites;
    }
    if !s.curves.is_empty() {
        let mut groups = Vec::new();
        for name in &s.curves {
            groups.push(match name.as_str() {
                "X25519" => ring::kx_group::X25519,
                "CurveP256" => ring::kx_group::SECP256R1,
                "CurveP384" => ring::kx_group::SECP384R1,
                _ => {
                    return Err(format!(
                        "tls_server_config.curve_preferences: `{name}` is not supported \
                         (X25519, CurveP256 or CurveP384)"
                    ));
                }
            });
        }
        provider.kx_groups = groups;
    }
    let provider = Arc::new(provider);
    let versions: &[&'static rustls::SupportedProtocolVersion] = match (s.min, s.max) {
        (Version::Tls12, Version::Tls12) => &[&version::TLS12],
        (Version::Tls13, _) => &[&version::TLS13],
        (Version::Tls12, Version::Tls13) => &[&version::TLS13, &version::TLS12],
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let builder = match (&s.client_auth, &s.client_ca) {
        (ClientAuth::None, _) | (_, None) => builder.with_no_client_auth(),
        (auth, Some(ca)) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(ca, "client CA")? {
                roots
                    .add(cert)
                    .map_err(|e| format!("tls_server_config: client CA: {e}"))?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let verifier = if *auth == ClientAuth::IfGiven {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| format!("tls_server_config: client CA: {e}"))?,
            )
        }
    };
    let resolver = Reloading::new(s.cert.clone(), s.key.clone(), provider)?;
    let mut config = builder.with_cert_resolver(Arc::new(resolver));
    config.ignore_client_order = s.prefer_server_order;
    // HTTP/1.1 only: a client that offers h2 as well falls back to it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The server's certificate and key, read again when their files change.
#[derive(Debug)]
struct Reloading {
    cert: Pem,
    key: Pem,
    provider: Arc<CryptoProvider>,
    state: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    /// The pair in use.
    pair: Arc<CertifiedKey>,
    /// What the files looked like when they were last read; `None` for inline PEM.
    stamp: Option<Stamp>,
    /// When the files were last looked at.
    checked: Instant,
}

/// What tells that a file changed: its modification time and length.
type Stamp = [(SystemTime, u64); 2];

impl Reloading {
    fn new(cert: Pem, key: Pem, provider: Arc<CryptoProvider>) -> Result<Self, String> {
        let stamp = stamp(&cert, &key);
        let pair = load(&cert, &key, &provider)?;
        Ok(Reloading {
            cert,
            key,
            provider,
            state: Mutex::new(Loaded {
                pair,
                stamp,
                checked: Instant::now(),
            }),
        })
    }
}

fn stamp(cert: &Pem, key: &Pem) -> Option<Stamp> {
    let one = |pem: &Pem| match pem {
        Pem::Inline(_) => None,
        Pem::File(path) => {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        }
    };
    Some([one(cert)?, one(key)?])
}

fn load(cert: &Pem, key: &Pem, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, String> {
    let chain = certificates(cert, "certificate")?;
    let key = private_key(key)?;
    CertifiedKey::from_der(chain, key, provider)
        .map(Arc::new)
        .map_err(|e| format!("tls_server_config: certificate and key: {e}"))
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if state.stamp.is_some() && now.saturating_duration_since(state.checked) >= RELOAD_CHECK {
            state.checked = now;
            let stamp = stamp(&self.cert, &self.key);
            if stamp.is_some() && stamp != state.stamp {
                match load(&self.cert, &self.key, &self.provider) {
                    Ok(pair) => {
                        crate::log!("http: loaded the renewed TLS certificate and key");
                        state.pair = pair;
                    }
                    Err(e) => crate::log!("http: {e}; keeping the previous certificate"),
                }
                // Not tried again until the files change again.
                state.stamp = stamp;
            }
        }
        Some(state.pair.clone())
    }
}

fn where_(pem: &Pem) -> String {
    match pem {
        Pem::Inline(_) => "inline PEM".into(),
        Pem::File(path) => path.display().to_string(),
    }
}

fn read(pem: &Pem, what: &str) -> Result<Vec<u8>, String> {
    match pem {
        Pem::Inline(text) => Ok(text.as_bytes().to_vec()),
        Pem::File(path) => std::fs::read(path).map_err(|e| {
            format!(
                "tls_server_config: cannot read the {what} {}: {e}",
                path.display()
            )
        }),
    }
}

fn certificates(pem: &Pem, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read(pem, what)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tls_server_config: the {what} in {}: {e}", where_(pem)))?;
    if certs.is_empty() {
        return Err(format!(
            "tls_server_config: no PEM certificate in the {what} {}",
            where_(pem)
        ));
    }
    Ok(certs)
}

fn private_key(pem: &Pem) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read(pem, "key")?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        format!(
            "tls_server_config: no usable private key in {}: {e}",
            where_(pem)
        )
    })
}
