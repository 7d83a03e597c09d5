//! `--web-config-file`: the exporter toolkit's web configuration file (node_exporter's
//! `--web.config.file`), so that a Prometheus scrape config written for node_exporter's TLS and
//! basic auth works unchanged.
//!
//! The keys and their meaning follow the toolkit's `docs/web-configuration.md`. What this server
//! cannot honour (TLS 1.0/1.1, HTTP/2, client certificates accepted without verification,
//! `client_allowed_sans`, the P-521 curve) is refused at start-up with the reason, never
//! ignored. Relative paths are read from the file's directory, as the toolkit does. The file is
//! read once, at start-up; the certificate and key files are read again when they change (see
//! [`super::tls`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use saphyr::{LoadableYamlNode, Mapping, Scalar, Yaml};

use super::auth::{RateLimit, Users};
use super::tls::{self, ClientAuth, Pem, TlsSettings, Version};

/// What the web config file asks of the HTTP side. The default is plain HTTP for anyone.
#[derive(Debug, Default)]
pub struct WebConfig {
    /// TLS, when the file configures it.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Basic auth's users, when there are any.
    pub users: Option<Users>,
    /// Headers added to every response (`http_server_config.headers`).
    pub headers: Vec<(String, String)>,
    /// `rate_limit`, when its interval is not 0.
    pub rate_limit: Option<RateLimit>,
}

/// Why a web config file was refused.
#[derive(Debug, thiserror::Error)]
#[error("web config {path}: {message}")]
pub struct Error {
    /// The file.
    pub path: String,
    /// What is wrong, naming the key.
    pub message: String,
}

/// The headers the toolkit lets a config add, with the values it accepts (empty: any).
const HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

const TOP_KEYS: &[&str] = &[
    "tls_server_config",
    "http_server_config",
    "basic_auth_users",
    "rate_limit",
];
const TLS_KEYS: &[&str] = &[
    "cert",
    "key",
    "client_ca",
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
];
const HTTP_KEYS: &[&str] = &["http2", "headers"];
const RATE_KEYS: &[&str] = &["interval", "burst"];

impl WebConfig {
    /// Reads and checks the file at `path`, loading its certificates and keys.
    ///
    /// # Errors
    /// When the file cannot be read, is not valid YAML, has a key this server does not know or
    /// support, a value it cannot use (a bad bcrypt hash, an unknown TLS version), or names a
    /// certificate or key that cannot be read.
    pub fn load(path: &Path) -> Result<WebConfig, Error> {
        let error = |message: String| Error {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        parse(&text, &dir).map_err(error)
    }
}

/// Parses the text of a web config whose relative paths are relative to `dir`.
fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
    let docs = Yaml::load_from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let root = match docs.as_slice() {
        [] => return Ok(WebConfig::default()),
        [root] => root,
        _ => return Err("more than one YAML document".into()),
    };
    let Some(root) = mapping(root, "the top level")? else {
        return Ok(WebConfig::default());
    };
    known_keys(root, "", TOP_KEYS)?;
    let mut config = WebConfig::default();
    if let Some(tls) = get(root, "tls_server_config")
        .map(|n| mapping(n, "tls_server_config"))
        .transpose()?
        .flatten()
    {
        config.tls = tls_settings(tls, dir)?
            .map(|s| tls::server_config(&s))
            .transpose()?;
    }
    if let Some(http) = get(root, "http_server_config")
        .map(|n| mapping(n, "http_server_config"))
        .transpose()?
        .flatten()
    {
        known_keys(http, "http_server_config.", HTTP_KEYS)?;
        if boolean(http, "http_server_config.http2")? == Some(true) {
            return Err(
                "http_server_config.http2: true is not supported: vitals-server speaks \
                        HTTP/1.1 (over TLS too; clients fall back to it); remove the key or set \
                        it to false"
                    .into(),
            );
        }
        if let Some(headers) = get(http, "headers")
            .map(|n| mapping(n, "http_server_config.headers"))
            .transpose()?
            .flatten()
        {
            config.headers = response_headers(headers)?;
        }
    }
    if let Some(users) = get(root, "basic_auth_users")
        .map(|n| mapping(n, "basic_auth_users"))
        .transpose()?
        .flatten()
    {
        config.users = Users::new(user_hashes(users)?);
    }
    if let Some(rate) = get(root, "rate_limit")
        .map(|n| mapping(n, "rate_limit"))
        .transpose()?
        .flatten()
    {
        known_keys(rate, "rate_limit.", RATE_KEYS)?;
        let interval = match string(rate, "rate_limit.interval")? {
            None => Duration::ZERO,
            Some(text) => go_duration(&text).ok_or_else(|| {
                format!("rate_limit.interval: `{text}` is not a duration like 1s, 500ms or 1m30s")
            })?,
        };
        let burst = integer(rate, "rate_limit.burst")?.unwrap_or(0);
        if !interval.is_zero() {
            let burst = u32::try_from(burst)
                .ok()
                .filter(|b| *b > 0)
                .ok_or_else(|| {
                    format!("rate_limit.burst: {burst} would refuse every request; at least 1")
                })?;
            config.rate_limit = Some(RateLimit::new(interval, burst));
        }
    }
    Ok(config)
}

/// The TLS settings of `tls_server_config`, or `None` when it sets nothing that turns TLS on
/// (the toolkit's rule: a certificate, a key, a client CA or a client auth type).
fn tls_settings(tls: &Mapping<'_>, dir: &Path) -> Result<Option<TlsSettings>, String> {
    known_keys(tls, "tls_server_config.", TLS_KEYS)?;
    let key = |k: &str| format!("tls_server_config.{k}");
    let s = |k: &str| string(tls, &key(k)).map(|v| v.filter(|v| !v.is_empty()));
    let (cert, key_pem, client_ca) = (s("cert")?, s("key")?, s("client_ca")?);
    let (cert_file, key_file, client_ca_file) =
        (s("cert_file")?, s("key_file")?, s("client_ca_file")?);
    let client_auth = s("client_auth_type")?;
    let enabled = [
        &cert,
        &key_pem,
        &client_ca,
        &cert_file,
        &key_file,
        &client_ca_file,
        &client_auth,
    ]
    .iter()
    .any(|v| v.is_some());
    if !enabled {
        return Ok(None);
    }
    let pem = |inline: Option<String>, file: Option<String>, name: &str, file_key: &str| match (
        inline, file,
    ) {
        (Some(_), Some(_)) => Err(format!(
            "tls_server_config: both {name} and {file_key} are set; use one"
        )),
        (Some(text), None) => Ok(Some(Pem::Inline(text))),
        (None, Some(path)) => Ok(Some(Pem::File(dir.join(path)))),
        (None, None) => Ok(None),
    };
    let cert = pem(cert, cert_file, "cert", "cert_file")?
        .ok_or("tls_server_config: missing one of cert or cert_file")?;
    let key_pem = pem(key_pem, key_file, "key", "key_file")?
        .ok_or("tls_server_config: missing one of key or key_file")?;
    let client_ca = pem(client_ca, client_ca_file, "client_ca", "client_ca_file")?;
    let client_auth = match client_auth.as_deref() {
        None | Some("NoClientCert") => ClientAuth::None,
        Some("VerifyClientCertIfGiven") => ClientAuth::IfGiven,
        Some("RequireAndVerifyClientCert") => ClientAuth::Required,
        Some(other @ ("RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert")) => {
            return Err(format!(
                "tls_server_config.client_auth_type: {other} is not supported: it accepts a \
                 certificate without verifying it; use RequireAndVerifyClientCert (or \
                 VerifyClientCertIfGiven) with client_ca_file"
            ));
        }
        Some(other) => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown `{other}` (NoClientCert, \
                 VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
            ));
        }
    };
    if client_ca.is_some() && client_auth == ClientAuth::None {
        return Err(
            "tls_server_config: a client CA is configured without a client_auth_type".into(),
        );
    }
    if client_ca.is_none() && client_auth != ClientAuth::None {
        return Err(format!(
            "tls_server_config.client_auth_type: {} needs client_ca_file (or client_ca) to \
             verify client certificates against",
            if client_auth == ClientAuth::Required {
                "RequireAndVerifyClientCert"
            } else {
                "VerifyClientCertIfGiven"
            }
        ));
    }
    if let Some(sans) = get(tls, "client_allowed_sans") {
        if !is_null(sans) && sans.as_sequence().is_none_or(|s| !s.is_empty()) {
            return Err(
                "tls_server_config.client_allowed_sans is not supported; verify clients \
                        with a client CA of their own instead"
                    .into(),
            );
        }
    }
    let version = |k: &str, default: Version| -> Result<Version, String> {
        match s(k)?.as_deref() {
            None => Ok(default),
            Some("TLS12") => Ok(Version::Tls12),
            Some("TLS13") => Ok(Version::Tls13),
            Some(old @ ("TLS10" | "TLS11")) => Err(format!(
                "tls_server_config.{k}: {old} is not supported: vitals-server speaks TLS 1.2 and \
                 1.3 only"
            )),
            Some(other) => Err(format!(
                "tls_server_config.{k}: unknown `{other}` (TLS12 or TLS13)"
            )),
        }
    };
    let (min, max) = (
        version("min_version", Version::Tls12)?,
        version("max_version", Version::Tls13)?,
    );
    if min > max {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    Ok(Some(TlsSettings {
        cert,
        key: key_pem,
        client_ca,
        client_auth,
        min,
        max,
        cipher_suites: strings(tls, "tls_server_config.cipher_suites")?,
        curves: strings(tls, "tls_server_config.curve_preferences")?,
        prefer_server_order: boolean(tls, "tls_server_config.prefer_server_cipher_suites")?
            .unwrap_or(true),
    }))
}

fn response_headers(headers: &Mapping<'_>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let name = name
            .as_str()
            .ok_or("http_server_config.headers: a header name must be a string")?;
        let Some((known, allowed)) = HEADERS.iter().find(|(h, _)| *h == name) else {
            return Err(format!(
                "http_server_config.headers: HTTP header `{name}` can not be configured (only {})",
                HEADERS.iter().map(|h| h.0).collect::<Vec<_>>().join(", ")
            ));
        };
        let value = value
            .as_str()
            .ok_or_else(|| format!("http_server_config.headers.{name}: must be a string"))?;
        if !allowed.is_empty() && !allowed.contains(&value) {
            return Err(format!(
                "http_server_config.headers.{name}: `{value}` is not one of {}",
                allowed.join(", ")
            ));
        }
        if value.bytes().any(|b| b < b' ' && b != b'\t' || b == 0x7f) {
            return Err(format!(
                "http_server_config.headers.{name}: control characters are not allowed"
            ));
        }
        // Blank means unset, as in the toolkit's documentation.
        if !value.is_empty() {
            out.push(((*known).to_owned(), value.to_owned()));
        }
    }
    Ok(out)
}

fn user_hashes(users: &Mapping<'_>) -> Result<HashMap<String, String>, String> {
    let mut hashes = HashMap::new();
    for (user, hash) in users {
        let user = scalar_text(user).ok_or("basic_auth_users: a user name must be a string")?;
        if user.contains(':') {
            return Err(format!(
                "basic_auth_users: user `{user}` has a colon, which basic auth cannot carry"
            ));
        }
        let hash = hash
            .as_str()
            .ok_or_else(|| format!("basic_auth_users.{user}: must be a bcrypt hash"))?;
        hash.parse::<bcrypt::HashParts>().map_err(|e| {
            format!("basic_auth_users.{user}: not a bcrypt hash ({e}); make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`")
        })?;
        hashes.insert(user, hash.to_owned());
    }
    Ok(hashes)
}

/// A Go duration as the toolkit's `rate_limit.interval` takes it: `0`, or numbers with units
/// (`ns`, `us`, `ms`, `s`, `m`, `h`) one after another, such as `1m30s` or `1.5s`.
fn go_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|n| *n > 0)?;
        let (number, after) = rest.split_at(number_len);
        let number: f64 = number.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * seconds;
        rest = after;
    }
    // Ten years at most, like every duration flag: far from any overflow.
    (total.is_finite() && total <= 10.0 * 365.0 * 86400.0).then(|| Duration::from_secs_f64(total))
}

fn is_null(node: &Yaml<'_>) -> bool {
    matches!(node, Yaml::Value(Scalar::Null))
}

/// The mapping at `node`, `None` for null (an empty section), an error for anything else.
fn mapping<'a, 'y>(node: &'a Yaml<'y>, at: &str) -> Result<Option<&'a Mapping<'y>>, String> {
    if is_null(node) {
        return Ok(None);
    }
    node.as_mapping()
        .map(Some)
        .ok_or_else(|| format!("{at}: must be a mapping of keys to values"))
}

fn known_keys(map: &Mapping<'_>, prefix: &str, known: &[&str]) -> Result<(), String> {
    for key in map.keys() {
        let name = scalar_text(key).unwrap_or_else(|| "(not a string)".into());
        if !known.contains(&name.as_str()) {
            return Err(format!(
                "unknown key `{prefix}{name}` (known here: {})",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

fn get<'a, 'y>(map: &'a Mapping<'y>, key: &str) -> Option<&'a Yaml<'y>> {
    map.iter()
        .find(|(k, _)| scalar_text(k).as_deref() == Some(key))
        .map(|(_, v)| v)
}

/// A scalar as text (a user called `1234` is a user name too).
fn scalar_text(node: &Yaml<'_>) -> Option<String> {
    match node {
        Yaml::Value(Scalar::String(s)) => Some(s.to_string()),
        Yaml::Value(Scalar::Integer(i)) => Some(i.to_string()),
        Yaml::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        _ => None,
    }
}

fn last(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

fn string(map: &Mapping<'_>, key: &str) -> Result<Option<String>, String> {
    match get(map, last(key)) {
        None => Ok(None),
        Some(n) if is_null(n) => Ok(None),
        Some(n) => scalar_text(n)
            .filter(|_| n.as_str().is_some() || n.as_integer().is_some())
            .map(Some)
            .ok_or_else(|| format!("{key}: must be a string")),
    }
}

fn boolean(map: &Mapping<'_>, key: &str) -> Result<Option<bool>, String> {
    match get(map, last(key)) {
        None => Ok(None),
        Some(n) if is_null(n) => Ok(None),
        Some(n) => n
            .as_bool()
            .map(Some)
            .ok_or_else(|| format!("{key}: must be true or false")),
    }
}

fn integer(map: &Mapping<'_>, key: &str) -> Result<Option<i64>, String> {
    match get(map, last(key)) {
        None => Ok(None),
        Some(n) if is_null(n) => Ok(None),
        Some(n) => n
            .as_integer()
            .map(Some)
            .ok_or_else(|| format!("{key}: must be a whole number")),
    }
}

fn strings(map: &Mapping<'_>, key: &str) -> Result<Vec<String>, String> {
    match get(map, last(key)) {
        None => Ok(Vec::new()),
        Some(n) if is_null(n) => Ok(Vec::new()),
        Some(n) => n
            .as_sequence()
            .ok_or_else(|| format!("{key}: must be a list"))?
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{key}: every entry must be a string"))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

    fn parse_err(text: &str) -> String {
        parse(text, Path::new("/nonexistent")).unwrap_err()
    }

    #[test]
    fn an_empty_file_or_empty_sections_mean_plain_http_for_anyone() {
        for text in [
            "",
            "# nothing\n",
            "tls_server_config:\nbasic_auth_users:\n",
            "tls_server_config: {}\nhttp_server_config: {http2: false}\n",
            "rate_limit: {interval: 0, burst: 0}\n",
        ] {
            let config = parse(text, Path::new(".")).unwrap();
            assert!(config.tls.is_none() && config.users.is_none(), "{text}");
            assert!(config.rate_limit.is_none(), "{text}");
        }
    }

    #[test]
    fn users_headers_and_rate_limit_are_read() {
        let text = format!(
            "basic_auth_users:\n  prometheus: {HASH}\n  \"1234\": '{HASH}'\n\
             http_server_config:\n  headers:\n    X-Frame-Options: deny\n    \
             Content-Security-Policy: \"\"\n\
             rate_limit:\n  interval: 1m30s\n  burst: 5\n"
        );
        let config = parse(&text, Path::new(".")).unwrap();
        let users = config.users.unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(
            config.headers,
            [("X-Frame-Options".to_owned(), "deny".to_owned())]
        );
        assert!(config.rate_limit.is_some());
    }

    #[test]
    fn unknown_or_unsupported_keys_and_values_are_refused_with_their_name() {
        let cases = [
            (
                "basic_auth_user:\n  a: b\n",
                "unknown key `basic_auth_user`",
            ),
            (
                "tls_server_config:\n  certfile: x\n",
                "unknown key `tls_server_config.certfile`",
            ),
            (
                "basic_auth_users:\n  a: notahash\n",
                "basic_auth_users.a: not a bcrypt hash",
            ),
            (
                "basic_auth_users:\n  a: [1]\n",
                "basic_auth_users.a: must be a bcrypt hash",
            ),
            (
                "http_server_config:\n  http2: true\n",
                "http2: true is not supported",
            ),
            (
                "http_server_config:\n  headers:\n    Server: x\n",
                "HTTP header `Server` can not be configured",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "`allow` is not one of deny, sameorigin",
            ),
            (
                "tls_server_config:\n  cert_file: a.pem\n",
                "missing one of key or key_file",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n",
                "TLS10 is not supported",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n",
                "RequireAnyClientCert is not supported",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n",
                "without a client_auth_type",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
                "needs client_ca_file",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  cert: x\n  key_file: b\n",
                "both cert and cert_file",
            ),
            (
                "rate_limit:\n  interval: 1s\n  burst: 0\n",
                "rate_limit.burst",
            ),
            ("rate_limit:\n  interval: soon\n", "rate_limit.interval"),
            ("- a\n- b\n", "the top level: must be a mapping"),
            ("a: [\n", "not valid YAML"),
            ("basic_auth_users:\n  a: x\n  a: y\n", "not valid YAML"),
        ];
        for (text, wanted) in cases {
            let error = parse_err(text);
            assert!(error.contains(wanted), "{text:?}: {error}");
        }
    }

    #[test]
    fn a_missing_certificate_file_is_named() {
        let error = parse_err("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n");
        assert!(error.contains("/nonexistent/cert.pem"), "{error}");
    }

    #[test]
    fn go_durations_parse_as_the_toolkit_writes_them() {
        for (text, ms) in [
            ("0", 0),
            ("1s", 1000),
            ("500ms", 500),
            ("1m30s", 90_000),
            ("1.5s", 1500),
            ("2h", 7_200_000),
        ] {
            assert_eq!(go_duration(text), Some(Duration::from_millis(ms)), "{text}");
        }
        for bad in ["", "1", "s", "1x", "-1s", "1e400s", "1..5s"] {
            assert_eq!(go_duration(bad), None, "{bad}");
        }
    }
}
