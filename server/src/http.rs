//! The HTTP side: `/metrics` for Prometheus, `/healthz`, and a landing page.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tiny_http::{Header, Method, Request, Response, Server};

use crate::exposition::Published;

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
pub fn serve(server: &Server, published: &Published, shutdown: &AtomicBool) {
    while !shutdown.load(Ordering::Relaxed) {
        match server.recv_timeout(Duration::from_millis(100)) {
            Ok(Some(request)) => respond(request, published),
            Ok(None) => {}
            Err(e) => crate::log!("http: {e}"),
        }
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

fn header(name: &str, value: &str) -> Header {
    // Both are ASCII constants of ours.
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn respond(request: Request, published: &Published) {
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
                None => Response::from_data(published.render())
                    .with_header(header("Content-Type", TEXT_FORMAT)),
            }
        }
        "/healthz" => Response::from_string("ok\n"),
        "/" => Response::from_string(LANDING)
            .with_header(header("Content-Type", "text/html; charset=utf-8")),
        _ => Response::from_string("not found\n").with_status_code(404),
    };
    let _ = request.respond(response);
}
