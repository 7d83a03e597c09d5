//! Remote write (`--remote-write URL`): every merged sample also goes to a Prometheus-compatible
//! store, at the agent's own timestamp, so that samples an agent replays after an outage reach
//! the store's history, which a scrape (one value per series) never can.
//!
//! - [`proto`]: the `WriteRequest` in protobuf.
//! - [`pack`]: an agent's series compressed once, its values written in at each sample.
//! - [`client`]: the HTTP/1.1 connection that POSTs it, plain or TLS.
//! - [`writer`]: the thread that batches samples from the aggregator and sends them in order.

pub mod client;
pub mod pack;
pub mod proto;
pub mod writer;

use std::sync::Arc;

use client::{Client, Endpoint};

/// What `--remote-write` and the flags beside it say.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where requests go.
    pub endpoint: Endpoint,
    /// Headers sent with each request besides remote write's own: `Authorization` (from a
    /// bearer token or basic auth), and any `--remote-write-header`.
    pub headers: Vec<(String, String)>,
    /// Labels added to every series, replacing an agent's of the same name: `job` by default,
    /// as a scrape by the shipped config gives it.
    pub labels: Vec<(String, String)>,
    /// For https: the roots to trust.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Threads, each with its own connection, that send at once ([`writer`]).
    pub shards: usize,
}

impl Config {
    /// A client for this endpoint, which calls `beat` while it waits.
    pub fn client(&self, beat: client::Beat) -> Client {
        Client::new(self.endpoint.clone(), &self.headers, self.tls.clone(), beat)
    }
}

/// The labels every series gets unless `--remote-write-label` says otherwise: the shipped
/// scrape config's job.
pub const DEFAULT_JOB: &str = "node";

/// Reads `NAME=VALUE` (a `--remote-write-label`).
///
/// # Errors
/// When there is no `=`, or the name is not a Prometheus label name.
pub fn parse_label(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: a label is NAME=VALUE"))?;
    let valid = name
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if name.is_empty() || !valid || name.starts_with("__") {
        return Err(format!("`{name}` is not a label name one may set"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Reads `Name: value` (a `--remote-write-header`).
///
/// # Errors
/// When there is no `:`, the name is not a header name, or either holds a line break; and for
/// the headers remote write sets itself.
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}`: a header is `Name: value`"))?;
    let (name, value) = (name.trim(), value.trim());
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) || value.contains(['\r', '\n']) {
        return Err(format!("`{text}` is not a header"));
    }
    const OWN: [&str; 6] = [
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "user-agent",
        "x-prometheus-remote-write-version",
    ];
    if OWN.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!("`{name}` is set by remote write itself"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_headers_are_checked() {
        assert_eq!(
            parse_label("job=node").unwrap(),
            ("job".to_owned(), "node".to_owned())
        );
        assert_eq!(parse_label("dc=").unwrap().1, "");
        for bad in ["job", "=x", "1a=b", "__name__=x", "a-b=c"] {
            assert!(parse_label(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_header("X-Scope-OrgID: team-a").unwrap(),
            ("X-Scope-OrgID".to_owned(), "team-a".to_owned())
        );
        for bad in [
            "X-A",
            ": v",
            "A B: c",
            "Content-Length: 3",
            "X-A: b\r\nX-B: c",
        ] {
            assert!(parse_header(bad).is_err(), "{bad}");
        }
    }
}
