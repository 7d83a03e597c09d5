//! A request head, parsed from bytes the connection has already read: the request line and the
//! few headers the server acts on. Parsing never reads and never allocates for what it ignores.

/// The most bytes a request head may take, request line and headers together. Prometheus sends
/// about 300; a head past this gets 431 and the connection is closed without reading further.
pub const MAX_HEAD: usize = 8 * 1024;

/// What the server does with a request's method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: the headers `GET` would have, and no body.
    Head,
    /// Any other method, answered 405.
    Other,
}

/// One parsed request head, borrowing from the connection's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: &'a str,
    /// The query, after the `?` (empty without one).
    pub query: &'a str,
    /// HTTP/1.1 (or later 1.x) rather than 1.0: keep-alive by default, and chunked bodies.
    pub http11: bool,
    /// Whether the client wants the connection kept after the response.
    pub keep_alive: bool,
    /// Whether the client accepts a gzipped body.
    pub gzip: bool,
    /// The `Authorization` header's value, if any.
    pub authorization: Option<&'a str>,
}

/// Why a head is refused. Each is answered with its status and the connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not HTTP/1.x, or a malformed line: 400.
    Malformed,
    /// A body is announced (`Content-Length` above 0, or any `Transfer-Encoding`): 413. The
    /// server reads no request body, so it cannot know where the next request starts.
    Body,
    /// A version other than HTTP/1.x: 505.
    Version,
}

impl Refusal {
    /// The status line's code and reason.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Refusal::Malformed => (400, "Bad Request"),
            Refusal::Body => (413, "Content Too Large"),
            Refusal::Version => (505, "HTTP Version Not Supported"),
        }
    }

    /// The label of the refusal in `vitals_server_http_refused_total`.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Malformed => "bad_request",
            Refusal::Body => "body",
            Refusal::Version => "bad_request",
        }
    }
}

/// The length of the head at the start of `buf` (through the empty line that ends it), once it
/// is all there. A bare LF ends a line too, as RFC 9112 lets a server accept.
pub fn head_len(buf: &[u8]) -> Option<usize> {
    buf.iter().enumerate().find_map(|(end, &b)| {
        // The line ending at this LF is empty when the LF follows another, or a CR that does.
        let before = buf.get(..end)?;
        let empty = b == b'\n' && (before.ends_with(b"\n") || (before.ends_with(b"\n\r")));
        empty.then_some(end + 1)
    })
}

/// Parses a whole head as [`head_len`] found it.
///
/// # Errors
/// A [`Refusal`] for what the server will not serve.
pub fn parse(head: &[u8]) -> Result<Head<'_>, Refusal> {
    let text = std::str::from_utf8(head).map_err(|_| Refusal::Malformed)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().ok_or(Refusal::Malformed)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Malformed);
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) || target.is_empty() {
        return Err(Refusal::Malformed);
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        v if v.starts_with("HTTP/") => return Err(Refusal::Version),
        _ => return Err(Refusal::Malformed),
    };
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut head = Head {
        method,
        path,
        query,
        http11,
        keep_alive: http11,
        gzip: false,
        authorization: None,
    };
    let mut length: Option<u64> = None;
    for line in lines {
        if line.is_empty() {
            break;
        }
        // A folded line (obsolete) or a header without a colon: refused, as RFC 9112 asks.
        let (name, value) = line.split_once(':').ok_or(Refusal::Malformed)?;
        if name.is_empty() || name.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(Refusal::Malformed);
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("content-length") {
            // Digits only, and one value however often it is repeated; anything else could be
            // read differently by a proxy in front.
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Refusal::Malformed);
            }
            let n: u64 = value.parse().map_err(|_| Refusal::Malformed)?;
            if length.is_some_and(|l| l != n) {
                return Err(Refusal::Malformed);
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Refusal::Body);
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    head.keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") && !http11 {
                    head.keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("accept-encoding") {
            head.gzip |= accepts_gzip(value);
        } else if name.eq_ignore_ascii_case("authorization") {
            head.authorization = Some(value);
        }
    }
    if length.is_some_and(|n| n > 0) {
        return Err(Refusal::Body);
    }
    Ok(head)
}

/// Whether an `Accept-Encoding` value accepts gzip: `gzip` (or `x-gzip`, or `*`) with a
/// quality above 0.
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|item| {
        let mut params = item.split(';').map(str::trim);
        let coding = params.next().unwrap_or_default();
        let named = ["gzip", "x-gzip", "*"]
            .iter()
            .any(|c| coding.eq_ignore_ascii_case(c));
        let zero = params.any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("q") && v.trim().parse::<f32>().ok() == Some(0.0)
            })
        });
        named && !zero
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMETHEUS: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:7451\r\n\
        User-Agent: Prometheus/2.45.0\r\nAccept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\n\
        Accept-Encoding: gzip\r\nAuthorization: Basic cHJvbTpzZWNyZXQ=\r\n\
        X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
    const CURL_10: &[u8] = b"HEAD /healthz?x=1 HTTP/1.0\nConnection: keep-alive\n\n";
    const HUGE_LENGTH: &[u8] = b"GET / HTTP/1.1\r\nContent-Length: 100000000000\r\n\r\n";
    const MAX_LENGTH: &[u8] = b"GET / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n";
    const PAST_MAX_LENGTH: &[u8] =
        b"GET / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n";
    const CHUNKED: &[u8] = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    const ZERO_LENGTH: &[u8] = b"GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn prometheus_request_is_a_keep_alive_gzip_get_with_credentials() {
        assert_eq!(head_len(PROMETHEUS), Some(PROMETHEUS.len()));
        assert_eq!(
            parse(PROMETHEUS),
            Ok(Head {
                method: Method::Get,
                path: "/metrics",
                query: "",
                http11: true,
                keep_alive: true,
                gzip: true,
                authorization: Some("Basic cHJvbTpzZWNyZXQ="),
            })
        );
    }

    #[test]
    fn an_http10_head_with_bare_newlines_and_a_query_parses() {
        assert_eq!(head_len(CURL_10), Some(CURL_10.len()));
        let head = parse(CURL_10).unwrap();
        assert_eq!(
            (head.method, head.path, head.http11, head.keep_alive),
            (Method::Head, "/healthz", false, true)
        );
        assert_eq!(head.query, "x=1");
    }

    #[test]
    fn a_head_is_not_whole_until_its_empty_line() {
        for cut in 0..PROMETHEUS.len() {
            assert_eq!(head_len(&PROMETHEUS[..cut]), None, "cut at {cut}");
        }
        let mut two = PROMETHEUS.to_vec();
        two.extend_from_slice(CURL_10);
        assert_eq!(head_len(&two), Some(PROMETHEUS.len()));
        assert_eq!(head_len(b"\r\n\r\n"), Some(4));
    }

    #[test]
    fn any_announced_body_is_refused_and_no_length_overflows() {
        assert_eq!(parse(HUGE_LENGTH), Err(Refusal::Body));
        assert_eq!(parse(MAX_LENGTH), Err(Refusal::Body));
        assert_eq!(parse(PAST_MAX_LENGTH), Err(Refusal::Malformed));
        assert_eq!(parse(CHUNKED), Err(Refusal::Body));
        assert!(parse(ZERO_LENGTH).is_ok());
        for bad in [
            &b"GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n",
        ] {
            assert_eq!(parse(bad), Err(Refusal::Malformed));
        }
    }

    #[test]
    fn malformed_heads_are_refused_without_panicking() {
        for bad in [
            &b"\r\n\r\n"[..],
            b"GET\r\n\r\n",
            b"GET /  HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 x\r\n\r\n",
            b"G\xffT / HTTP/1.1\r\n\r\n",
            b"GET / FTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad name: b\r\n\r\n",
        ] {
            assert_eq!(parse(bad), Err(Refusal::Malformed), "{bad:?}");
        }
        assert_eq!(parse(b"GET / HTTP/2.0\r\n\r\n"), Err(Refusal::Version));
    }

    #[test]
    fn gzip_is_accepted_unless_its_quality_is_zero() {
        for (value, gzip) in [
            ("gzip", true),
            ("deflate, GZIP;q=0.5", true),
            ("x-gzip", true),
            ("*", true),
            ("gzip;q=0", false),
            ("gzip; q=0.0", false),
            ("identity", false),
            ("", false),
        ] {
            assert_eq!(accepts_gzip(value), gzip, "{value}");
        }
    }

    #[test]
    fn connection_close_ends_keep_alive() {
        let head = parse(b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").unwrap();
        assert!(!head.keep_alive);
        let head = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        assert!(!head.keep_alive);
    }
}
