//! The HTTP side: `/metrics` for Prometheus, `/healthz`, and a landing page.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Request, Response, Server};

use crate::exposition::Published;
use crate::heartbeat::{Heartbeat, Heartbeats};

/// The content type of the Prometheus text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

const LANDING: &str = r#"<!doctype html>
<html><head><title>vitals</title></head>
<body><h1>vitals-server</h1>
<p>Host metrics pushed by vitals agents, for Prometheus.</p>
<ul><li><a href="/metrics">/metrics</a></li><li><a href="/healthz">/healthz</a></li></ul>
</body></html>
"#;

/// Answers requests until `shutdown` is set.
pub fn serve(
    server: &Server,
    published: &Published,
    beats: &Heartbeats,
    heartbeat: &Heartbeat,
    shutdown: &AtomicBool,
) {
    while !shutdown.load(Ordering::Relaxed) {
        heartbeat.beat();
        match server.recv_timeout(Duration::from_millis(100)) {
            Ok(Some(request)) => respond(request, published, beats),
            Ok(None) => {}
            Err(e) => crate::log!("http: {e}"),
        }
    }
}

/// The exposition as it is rendered, piece by piece on a second thread: the first bytes go out
/// while the rest is rendered, and no copy of the whole (about 100 MB for 10,000 agents) is
/// ever held. The body is sent chunked, as its length is only known at the end.
fn respond_plain(request: Request, published: &Published) {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(4);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            published.render_chunks(|chunk| {
                let _ = tx.send(chunk);
            })
        });
        let body = Pieces {
            rx,
            piece: Vec::new(),
            at: 0,
        };
        let response = Response::new(
            tiny_http::StatusCode(200),
            vec![header("Content-Type", TEXT_FORMAT)],
            body,
            None,
            None,
        );
        let _ = request.respond(response);
    });
}

/// A body read from the pieces a render thread sends, in order, until it is done.
struct Pieces {
    rx: crossbeam_channel::Receiver<Vec<u8>>,
    piece: Vec<u8>,
    at: usize,
}

impl std::io::Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.piece.len() {
            match self.rx.recv() {
                Ok(piece) => (self.piece, self.at) = (piece, 0),
                Err(_) => return Ok(0),
            }
        }
        let rest = self.piece.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

/// The exposition gzipped at the fastest level (text this repetitive still shrinks about
/// tenfold), compressed on a second thread while the next pieces are rendered: a scrape of
/// thousands of agents must stay well under Prometheus' timeout.
fn render_gzip(published: &Published) -> Option<Vec<u8>> {
    use std::io::Write;
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(4);
    std::thread::scope(|scope| {
        let compressor = scope.spawn(move || {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            for chunk in rx {
                encoder.write_all(&chunk).ok()?;
            }
            encoder.finish().ok()
        });
        published.render_chunks(|chunk| {
            let _ = tx.send(chunk);
        });
        drop(tx);
        compressor.join().ok().flatten()
    })
}

/// `ok` while every thread of the server beats; otherwise 503 and the threads that are stuck.
fn healthz(beats: &Heartbeats) -> Response<std::io::Cursor<Vec<u8>>> {
    let stale = beats.stale(Instant::now());
    if stale.is_empty() {
        return Response::from_string("ok\n");
    }
    let mut body = String::from("unhealthy: stuck threads\n");
    for (thread, ago) in stale {
        body.push_str(&format!(
            "{thread}: no heartbeat for {:.1}s\n",
            ago.as_secs_f64()
        ));
    }
    Response::from_string(body).with_status_code(503)
}

fn header(name: &str, value: &str) -> Header {
    // Both are ASCII constants of ours.
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn respond(request: Request, published: &Published, beats: &Heartbeats) {
    let path = request.url().split('?').next().unwrap_or("/").to_owned();
    if !matches!(request.method(), Method::Get | Method::Head) {
        let _ =
            request.respond(Response::from_string("method not allowed\n").with_status_code(405));
        return;
    }
    let response = match path.as_str() {
        "/metrics" => {
            let gzip = request.headers().iter().any(|h| {
                h.field.equiv("Accept-Encoding")
                    && h.value
                        .as_str()
                        .split(',')
                        .any(|e| e.trim().starts_with("gzip"))
            });
            match gzip.then(|| render_gzip(published)).flatten() {
                Some(body) => Response::from_data(body)
                    .with_header(header("Content-Type", TEXT_FORMAT))
                    .with_header(header("Content-Encoding", "gzip")),
                None => return respond_plain(request, published),
            }
        }
        "/healthz" => healthz(beats),
        "/" => Response::from_string(LANDING)
            .with_header(header("Content-Type", "text/html; charset=utf-8")),
        _ => Response::from_string("not found\n").with_status_code(404),
    };
    let _ = request.respond(response);
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn a_body_of_pieces_reads_as_their_concatenation_whatever_the_reads() {
        let (tx, rx) = crossbeam_channel::unbounded();
        for piece in [&b"# HELP a\n"[..], b"", b"a 1\n", b"b 2\n"] {
            tx.send(piece.to_vec()).unwrap();
        }
        drop(tx);
        let mut body = Pieces {
            rx,
            piece: Vec::new(),
            at: 0,
        };
        let (mut out, mut buf) = (Vec::new(), [0u8; 3]);
        loop {
            match body.read(&mut buf).unwrap() {
                0 => break,
                n => out.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(out, b"# HELP a\na 1\nb 2\n");
    }
}
