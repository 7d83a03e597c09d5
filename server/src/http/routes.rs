//! What each path answers: `/metrics` (streamed as it is rendered, gzipped when asked),
//! `/healthz`, the status pages and their JSON (`/`, `/agents/<id>`, `/api/v1/agents`), 404
//! and 405.

use std::io::{self, Write};
use std::time::Instant;

use super::Shared;
use super::io::Io;
use super::request::{Head as Request, Method};
use super::response::{Chunked, Framing, Head};
use crate::heartbeat::Heartbeats;
use crate::status::summary::{Row, Series};
use crate::status::{Fleet, api, find, page};

/// The content type of the Prometheus text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

const PLAIN: &str = "text/plain; charset=utf-8";

const HTML: (&str, &str) = ("Content-Type", "text/html; charset=utf-8");
const JSON: (&str, &str) = ("Content-Type", "application/json");

/// The page (or, with `json`, the JSON) of agent `id`, with its content type; `None` when the
/// server holds no such agent.
fn agent(shared: &Shared, id: &str, json: bool) -> Option<((&'static str, &'static str), String)> {
    let id = crate::status::html::decode(id)?;
    let slot = find(&shared.published, &id)?;
    let row = Row::of(&slot);
    let history = page::points(
        &slot
            .status
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let view = slot.get();
    let series = Series(&view);
    let now = crate::status::summary::unix_now();
    Some(if json {
        (JSON, api::agent(&row, &history, &series, now).to_string())
    } else {
        (HTML, page::agent(&row, &history, &series, now))
    })
}

/// Render pieces waiting for the connection to take them: a few, so that rendering runs ahead
/// of a fast client by a little and a slow client holds little.
const PIECES_AHEAD: usize = 4;

/// Answers `request` on `io`; whether the connection may serve another request.
///
/// # Errors
/// When writing fails (the client went away, or the write deadline passed).
pub fn answer(
    io: &mut Io,
    request: &Request<'_>,
    keep_alive: bool,
    shared: &Shared,
) -> io::Result<bool> {
    if request.method == Method::Other {
        simple(
            io,
            shared,
            (405, "Method Not Allowed"),
            &[("Allow", "GET, HEAD")],
            "method not allowed\n",
            keep_alive,
            false,
        )?;
        return Ok(keep_alive);
    }
    let head_only = request.method == Method::Head;
    match request.path {
        "/metrics" => return metrics(io, request, keep_alive, shared),
        "/healthz" => {
            let (status, body) = health(&shared.beats);
            simple(io, shared, status, &[], &body, keep_alive, head_only)
        }
        "/" => {
            let fleet = Fleet::read(&shared.published);
            let page = page::fleet(&fleet, &page::View::from_query(request.query));
            simple(
                io,
                shared,
                (200, "OK"),
                &[HTML],
                &page,
                keep_alive,
                head_only,
            )
        }
        "/api/v1/agents" => {
            let fleet = Fleet::read(&shared.published);
            let rows = page::View::from_query(request.query).apply(&fleet.rows);
            let body = api::fleet(&fleet, &rows);
            simple(
                io,
                shared,
                (200, "OK"),
                &[JSON],
                &body,
                keep_alive,
                head_only,
            )
        }
        path if path.starts_with("/agents/") || path.starts_with("/api/v1/agents/") => {
            let (json, id) = match path.strip_prefix("/agents/") {
                Some(id) => (false, id),
                None => (true, path.trim_start_matches("/api/v1/agents/")),
            };
            match agent(shared, id, json) {
                Some((kind, body)) => simple(
                    io,
                    shared,
                    (200, "OK"),
                    &[kind],
                    &body,
                    keep_alive,
                    head_only,
                ),
                None => simple(
                    io,
                    shared,
                    (404, "Not Found"),
                    &[],
                    "no such agent\n",
                    keep_alive,
                    head_only,
                ),
            }
        }
        _ => simple(
            io,
            shared,
            (404, "Not Found"),
            &[],
            "not found\n",
            keep_alive,
            head_only,
        ),
    }?;
    Ok(keep_alive)
}

/// A small response with its whole body.
pub fn simple(
    io: &mut Io,
    shared: &Shared,
    (status, reason): (u16, &str),
    headers: &[(&str, &str)],
    body: &str,
    keep_alive: bool,
    head_only: bool,
) -> io::Result<()> {
    let mut all: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 1);
    if !headers.iter().any(|(n, _)| *n == "Content-Type") {
        all.push(("Content-Type", PLAIN));
    }
    all.extend_from_slice(headers);
    let mut out = Head {
        status,
        reason,
        headers: &all,
        extra: &shared.web.headers,
        framing: Framing::Length(body.len()),
        keep_alive,
    }
    .to_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    io.write_all(&out)?;
    io.flush()
}

/// `ok` while every thread of the server beats; otherwise 503 and the threads that are stuck.
fn health(beats: &Heartbeats) -> ((u16, &'static str), String) {
    let stale = beats.stale(Instant::now());
    if stale.is_empty() {
        return ((200, "OK"), "ok\n".into());
    }
    let mut body = String::from("unhealthy: stuck threads\n");
    for (thread, ago) in stale {
        body.push_str(&format!(
            "{thread}: no heartbeat for {:.1}s\n",
            ago.as_secs_f64()
        ));
    }
    ((503, "Service Unavailable"), body)
}

/// The exposition, rendered piece by piece on a second thread while this one writes (and, for
/// gzip, compresses at the fastest level) what is ready: the first bytes go out at once, and no
/// copy of the whole (about 100 MB plain, 6 MB gzipped, for 10,000 agents) is held. The body is
/// chunked, as its length is known only at the end (an HTTP/1.0 client reads to the close).
fn metrics(
    io: &mut Io,
    request: &Request<'_>,
    keep_alive: bool,
    shared: &Shared,
) -> io::Result<bool> {
    let mut headers = vec![("Content-Type", TEXT_FORMAT), ("Vary", "Accept-Encoding")];
    if request.gzip {
        headers.push(("Content-Encoding", "gzip"));
    }
    let framing = if request.http11 {
        Framing::Chunked
    } else {
        Framing::Close
    };
    let head = |framing, keep_alive| {
        Head {
            status: 200,
            reason: "OK",
            headers: &headers,
            extra: &shared.web.headers,
            framing,
            keep_alive,
        }
        .to_bytes()
    };
    let keep_alive = keep_alive && framing == Framing::Chunked;
    if request.method == Method::Head {
        io.write_all(&head(framing, keep_alive))?;
        io.flush()?;
        return Ok(keep_alive);
    }
    let published = &*shared.published;
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(PIECES_AHEAD);
    std::thread::scope(|scope| {
        // Owned here, so that it is dropped (and a render blocked on a full channel ends) before
        // the scope waits for the render thread.
        let rx = rx;
        // Out of threads: a 503 now rather than a panic (which would end the process).
        let started = std::thread::Builder::new()
            .name("http-render".into())
            .spawn_scoped(scope, move || {
                published.render_chunks(|piece| {
                    // A client gone, or past its deadline: the rest is rendered for no one,
                    // which a render's bound cost allows.
                    let _ = tx.send(piece);
                });
            });
        if started.is_err() {
            shared.metrics.refused("no_thread");
            simple(
                io,
                shared,
                (503, "Service Unavailable"),
                &[],
                "out of threads\n",
                false,
                false,
            )?;
            return Ok(false);
        }
        io.write_all(&head(framing, keep_alive))?;
        let body = Chunked::new(&mut *io, framing == Framing::Chunked);
        let body = if request.gzip {
            let mut gzip = flate2::write::GzEncoder::new(body, flate2::Compression::fast());
            for piece in &rx {
                gzip.write_all(&piece)?;
            }
            gzip.finish()?
        } else {
            let mut body = body;
            for piece in &rx {
                body.write_chunk(&piece)?;
            }
            body
        };
        body.finish()?;
        io.flush()?;
        Ok(keep_alive)
    })
}
