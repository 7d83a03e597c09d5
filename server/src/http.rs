//! The HTTP side: `/metrics` for Prometheus, `/healthz`, and a landing page.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::Sender;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::aggregator::Event;

/// How long a scrape waits for the aggregator.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

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
pub fn serve(server: &Server, events: &Sender<Event>, shutdown: &AtomicBool) {
    while !shutdown.load(Ordering::Relaxed) {
        match server.recv_timeout(Duration::from_millis(100)) {
            Ok(Some(request)) => respond(request, events),
            Ok(None) => {}
            Err(e) => crate::log!("http: {e}"),
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    // Both are ASCII constants of ours.
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn respond(request: Request, events: &Sender<Event>) {
    let path = request.url().split('?').next().unwrap_or("/").to_owned();
    if !matches!(request.method(), Method::Get | Method::Head) {
        let _ =
            request.respond(Response::from_string("method not allowed\n").with_status_code(405));
        return;
    }
    let response = match path.as_str() {
        "/metrics" => match scrape(events) {
            Some(text) => {
                Response::from_string(text).with_header(header("Content-Type", TEXT_FORMAT))
            }
            None => Response::from_string("aggregator unavailable\n").with_status_code(503),
        },
        "/healthz" => Response::from_string("ok\n"),
        "/" => Response::from_string(LANDING)
            .with_header(header("Content-Type", "text/html; charset=utf-8")),
        _ => Response::from_string("not found\n").with_status_code(404),
    };
    let _ = request.respond(response);
}

fn scrape(events: &Sender<Event>) -> Option<String> {
    let (reply, answer) = crossbeam_channel::bounded(1);
    events
        .send_timeout(Event::Scrape { reply }, SCRAPE_TIMEOUT)
        .ok()?;
    answer.recv_timeout(SCRAPE_TIMEOUT).ok()
}
