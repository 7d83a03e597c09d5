//! The HTTP/1.1 client of remote write: one kept-alive connection, plain or TLS, that POSTs a
//! request body and reads the status and the start of the answer.
//!
//! Just what remote write needs, rather than an HTTP library and its async runtime in a server
//! of a few threads: a POST with fixed headers, and an answer with `Content-Length` or chunks.

use std::io::ErrorKind;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// Time for each read or write of a request or an answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Time to connect to one of the store's addresses: a connect cannot beat in between, so it
/// stays under the heartbeat's five seconds (`crate::heartbeat::STALE`).
const CONNECT: Duration = Duration::from_secs(4);

/// The longest a socket call blocks before the thread beats its heartbeat and waits again.
const BEAT: Duration = Duration::from_secs(1);

/// What the client calls while it waits on the store: the thread's heartbeat, so that a slow
/// store does not make a live server look stalled. It answers whether to go on waiting
/// (`false` once the server stops).
pub type Beat = Arc<dyn Fn() -> bool + Send + Sync>;

/// A socket whose calls block at most [`BEAT`] at a time, beating in between, up to
/// [`TIMEOUT`] for one call.
struct Patient {
    stream: TcpStream,
    beat: Beat,
}

impl Patient {
    fn wait<T>(
        &mut self,
        mut call: impl FnMut(&mut TcpStream) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match call(&mut self.stream) {
                Err(e)
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                        && Instant::now() < deadline
                        && (self.beat)() => {}
                other => return other,
            }
        }
    }
}

impl Read for Patient {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.wait(|s| s.read(buf))
    }
}

impl Write for Patient {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.wait(|s| s.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

/// The longest answer head read, and the most of an answer's body kept (for the log and to
/// tell "too old" from other errors); the rest is read and dropped.
const HEAD_MAX: usize = 16 * 1024;
const BODY_KEPT: usize = 1024;

/// Where requests go, from `--remote-write URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https`.
    pub tls: bool,
    /// The host as the URL gives it (a name, or an address; IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// The path and query, `/api/v1/write`.
    pub path: String,
}

impl Endpoint {
    /// Parses `http://host[:port]/path` or `https://...`.
    ///
    /// # Errors
    /// Another scheme, no host, a bad port, or user info in the URL (give credentials by file).
    pub fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(format!(
                "`{url}`: the URL must start with http:// or https://"
            ));
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(format!(
                "`{url}`: give credentials with --remote-write-basic-auth-user and \
                 --remote-write-password-file, not in the URL"
            ));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("`{url}`: unclosed ["))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(format!("`{url}`: bad host")),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(format!("`{url}`: no host"));
        }
        let port = match port {
            Some(port) => port
                .parse()
                .map_err(|_| format!("`{url}`: bad port `{port}`"))?,
            None => default_port,
        };
        Ok(Endpoint {
            tls,
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// The `Host` header's value.
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.tls { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// The roots an `https` endpoint's certificate must chain to: the PEM file `ca_file`, or the
/// system's bundle.
///
/// # Errors
/// When the file cannot be read or holds no certificate.
pub fn tls_config(ca_file: Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> {
    let path = ca_file.unwrap_or("/etc/ssl/certs/ca-certificates.crt");
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{path}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{path}: {e}"))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("{path}: no certificate in it"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A byte stream to the endpoint.
trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// An answer: its status and the start of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// A connection to one endpoint, made again when it breaks.
pub struct Client {
    endpoint: Endpoint,
    /// The request head, the same for every request but its length.
    head: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Option<BufReader<Box<dyn Stream>>>,
    beat: Beat,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("connected", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client that sends `headers` (name, value) with each request; `tls` for https; `beat`
    /// called at least every second while it waits.
    pub fn new(
        endpoint: Endpoint,
        headers: &[(String, String)],
        tls: Option<Arc<rustls::ClientConfig>>,
        beat: Beat,
    ) -> Self {
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: vitals-server/{}\r\n\
             Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n\
             X-Prometheus-Remote-Write-Version: 0.1.0\r\n",
            endpoint.path,
            endpoint.host_header(),
            env!("CARGO_PKG_VERSION")
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        Client {
            endpoint,
            head,
            tls,
            conn: None,
            beat,
        }
    }

    /// POSTs `body` and reads the answer; a kept-alive connection that breaks before any answer
    /// is made again once, as the other side may have closed it while idle.
    ///
    /// # Errors
    /// When the endpoint cannot be reached or its answer is not HTTP.
    pub fn post(&mut self, body: &[u8]) -> std::io::Result<Answer> {
        let reused = self.conn.is_some();
        match self.try_post(body) {
            Err(e) if reused && e.kind() != std::io::ErrorKind::InvalidData => {
                self.conn = None;
                self.try_post(body)
            }
            other => other,
        }
    }

    fn try_post(&mut self, body: &[u8]) -> std::io::Result<Answer> {
        if self.conn.is_none() {
            self.conn = Some(BufReader::new(self.connect()?));
        }
        let result = self.exchange(body);
        if !matches!(&result, Ok((_, true))) {
            self.conn = None;
        }
        result.map(|(answer, _)| answer)
    }

    fn connect(&self) -> std::io::Result<Box<dyn Stream>> {
        let addrs = (self.endpoint.host.as_str(), self.endpoint.port).to_socket_addrs()?;
        let mut last = std::io::Error::other(format!("{}: no address", self.endpoint.host));
        for addr in addrs {
            if !(self.beat)() {
                break;
            }
            match TcpStream::connect_timeout(&addr, CONNECT) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(BEAT))?;
                    stream.set_write_timeout(Some(BEAT))?;
                    stream.set_nodelay(true)?;
                    let stream = Patient {
                        stream,
                        beat: self.beat.clone(),
                    };
                    return match &self.tls {
                        None => Ok(Box::new(stream)),
                        Some(config) => {
                            let name = ServerName::try_from(self.endpoint.host.clone())
                                .map_err(std::io::Error::other)?;
                            let conn = rustls::ClientConnection::new(config.clone(), name)
                                .map_err(std::io::Error::other)?;
                            Ok(Box::new(rustls::StreamOwned::new(conn, stream)))
                        }
                    };
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Writes the request and reads the answer; also says whether the connection may be kept.
    fn exchange(&mut self, body: &[u8]) -> std::io::Result<(Answer, bool)> {
        let conn = self.conn.as_mut().expect("connected");
        let mut request = Vec::with_capacity(self.head.len() + 32 + body.len());
        request.extend_from_slice(self.head.as_bytes());
        request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        request.extend_from_slice(body);
        conn.get_mut().write_all(&request)?;
        conn.get_mut().flush()?;
        read_answer(conn)
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

/// Reads an HTTP/1.1 answer: its status, the first [`BODY_KEPT`] bytes of its body, and
/// whether the connection stays open.
fn read_answer(conn: &mut impl BufRead) -> std::io::Result<(Answer, bool)> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = conn.take(HEAD_MAX as u64).read_until(b'\n', &mut head)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the connection closed before an answer",
            ));
        }
        if head.len() > HEAD_MAX {
            return Err(bad("an answer head longer than 16 KiB"));
        }
        if head[before..].trim_ascii().is_empty() {
            break;
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|s| s.get(2..5))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("not an HTTP/1 status line"))?;
    let mut length = None;
    let (mut chunked, mut close) = (false, status_line.starts_with("HTTP/1.0"));
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                length = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| bad("a bad Content-Length"))?,
                );
            }
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            conn.take(1024).read_line(&mut size)?;
            let size = u64::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("a bad chunk size"))?;
            if size == 0 {
                // The trailer, to its empty line.
                loop {
                    let mut line = String::new();
                    if conn.take(1024).read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            keep(conn, size, &mut body)?;
            let mut crlf = String::new();
            conn.take(2).read_line(&mut crlf)?;
        }
    } else if let Some(length) = length {
        keep(conn, length, &mut body)?;
    } else if status != 204 && status != 304 {
        // Delimited by the close.
        keep(conn, u64::MAX, &mut body)?;
        close = true;
    }
    let answer = Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    Ok((answer, !close))
}

/// Reads `n` bytes (to the end, for `u64::MAX`), keeping the first [`BODY_KEPT`] in `body`.
fn keep(conn: &mut impl Read, n: u64, body: &mut Vec<u8>) -> std::io::Result<()> {
    let room = BODY_KEPT.saturating_sub(body.len()) as u64;
    let kept = conn.take(n.min(room)).read_to_end(body)? as u64;
    let rest = n.saturating_sub(kept);
    let dropped = std::io::copy(&mut conn.take(rest), &mut std::io::sink())?;
    if n != u64::MAX && kept + dropped < n {
        return Err(bad("the answer ended early"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_with_their_ports_and_paths() {
        let e = Endpoint::parse("http://localhost:9090/api/v1/write").unwrap();
        assert_eq!((e.tls, e.host.as_str(), e.port), (false, "localhost", 9090));
        assert_eq!(e.path, "/api/v1/write");
        let e = Endpoint::parse("https://mimir.example/api/v1/push?x=1").unwrap();
        assert_eq!(
            (e.tls, e.port, e.path.as_str()),
            (true, 443, "/api/v1/push?x=1")
        );
        assert_eq!(e.host_header(), "mimir.example");
        let e = Endpoint::parse("http://[::1]:8428").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("::1", 8428, "/")
        );
        assert_eq!(e.host_header(), "[::1]:8428");
        for bad in [
            "ftp://x/",
            "http://",
            "http://:80/",
            "http://a:b/",
            "http://u:p@host/",
            "http://[::1/",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    fn answer(text: &str) -> std::io::Result<(Answer, bool)> {
        read_answer(&mut BufReader::new(text.as_bytes()))
    }

    #[test]
    fn answers_are_read_by_length_by_chunks_and_to_the_close() {
        let (a, keep) = answer("HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n").unwrap();
        assert_eq!((a.status, a.body.as_str(), keep), (204, "", true));
        let (a, keep) =
            answer("HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nbad xNEXT").unwrap();
        assert_eq!((a.status, a.body.as_str(), keep), (400, "bad x", true));
        let (a, _) = answer(
            "HTTP/1.1 500 Internal\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nout \r\n9\r\nof bounds\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(a.body, "out of bounds");
        let (a, keep) = answer("HTTP/1.1 429 Too Many\r\nConnection: close\r\n\r\nslow").unwrap();
        assert_eq!((a.status, a.body.as_str(), keep), (429, "slow", false));
        let long = format!(
            "HTTP/1.1 500 x\r\nContent-Length: 5000\r\n\r\n{}",
            "y".repeat(5000)
        );
        assert_eq!(answer(&long).unwrap().0.body.len(), BODY_KEPT);
        for broken in [
            "",
            "SSH-2.0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert!(answer(broken).is_err(), "{broken:?}");
        }
        let endless = format!("HTTP/1.1 200 OK\r\n{}", "X: y\r\n".repeat(5000));
        assert!(answer(&endless).is_err());
    }
}
