//! The server's threads are supervised: a panic on any of them ends the process with an error
//! (so that systemd or a container runtime restarts it), a stuck one makes `/healthz` say so,
//! and time passing with no traffic breaks nothing.
//!
//! Faults are injected into the real binary (a debug build) with `VITALS_TEST_FAULT`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, agent, health_check, http_get, value, wait_for};

/// Every thread that beats, as the server names them on this machine (one I/O thread per core
/// but one, so `io-0` always exists; `status` keeps the status pages' charts).
const THREADS: &[&str] = &["aggregator", "io-0", "acceptor", "http", "status"];

fn server_with_fault(fault: &str) -> Server {
    let mut cmd = Command::new(common::bin("vitals-server"));
    cmd.args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .env("VITALS_TEST_FAULT", fault);
    Server::spawn(cmd)
}

#[test]
fn a_panic_on_any_server_thread_ends_the_process_with_an_error() {
    for thread in THREADS {
        let mut server = server_with_fault(&format!("panic:{thread}"));
        let status = server
            .proc
            .wait_exit(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("a panic on `{thread}` left the process running"));
        assert_eq!(
            status.code(),
            Some(server::heartbeat::PANIC_EXIT),
            "a panic on `{thread}`: {status}"
        );
    }
}

#[test]
fn a_stuck_thread_makes_healthz_answer_503_and_name_it() {
    for thread in THREADS.iter().filter(|t| **t != "http") {
        let server = server_with_fault(&format!("stall:{thread}"));
        let started = Instant::now();
        let body = wait_for(
            &format!("/healthz to report `{thread}` stuck"),
            server::heartbeat::STALE * 3,
            || match http_get(server.http, "/healthz") {
                Some((503, body)) => Some(body),
                Some((200, _)) => None,
                other => panic!("/healthz answered {other:?}"),
            },
        );
        assert!(
            started.elapsed() >= server::heartbeat::STALE,
            "called stuck before it could be: {body}"
        );
        assert!(body.contains(&format!("{thread}:")), "{body}");
        let others = THREADS.iter().filter(|t| *t != thread);
        for other in others {
            assert!(!body.contains(&format!("{other}:")), "{body}");
        }
    }
}

#[test]
fn a_healthy_server_answers_healthz_ok_for_longer_than_a_thread_may_be_silent() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let until = Instant::now() + server::heartbeat::STALE * 2;
    while Instant::now() < until {
        assert_eq!(
            http_get(server.http, "/healthz"),
            Some((200, "ok\n".into()))
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The I/O threads' pacer overflowed a `Duration` about 34 s after the last agent went quiet,
/// which killed the thread: every agent after that got "connection reset", while the process
/// and `/healthz` stayed up.
#[test]
fn an_idle_server_still_accepts_agents_long_after_its_last_one_left() {
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let mut first = agent("busy", &[server.agents], "100ms");
    wait_for("the first agent's samples", Duration::from_secs(10), || {
        value(
            &server.metrics(),
            "vitals_agent_samples_total",
            &[("instance", "busy")],
        )
        .filter(|n| *n >= 20.0)
    });
    first.kill();
    // The pacer's rate decays by a quarter each 250 ms pass with nothing to do; it overflowed
    // after about 150 passes (some 34 s). Wait past that, checking health on the way.
    let until = Instant::now() + Duration::from_secs(45);
    while Instant::now() < until {
        let (status, body) = http_get(server.http, "/healthz").expect("server answers");
        assert_eq!(status, 200, "{body}");
        std::thread::sleep(Duration::from_secs(2));
    }
    let _second = agent("late", &[server.agents], "100ms");
    wait_for("the late agent's samples", Duration::from_secs(10), || {
        value(
            &server.metrics(),
            "vitals_agent_samples_total",
            &[("instance", "late")],
        )
        .filter(|n| *n >= 1.0)
    });
}

#[test]
fn health_exits_0_for_a_healthy_server_and_1_naming_a_stuck_thread_or_no_server() {
    let server = Server::start("127.0.0.1:0", "0.0.0.0:0", &[]);
    // A server on every interface is asked on loopback, as a container's check asks it.
    let http = format!("0.0.0.0:{}", server.http.port());
    assert_eq!(
        health_check(&["--http", &http], &[]),
        (Some(0), String::new())
    );
    assert_eq!(
        health_check(&[], &[("VITALS_HTTP", Path::new(&http))]).0,
        Some(0),
        "the address from the environment, as the server reads it"
    );

    let stuck = server_with_fault("stall:aggregator");
    let http = stuck.http.to_string();
    let said = wait_for(
        "--health to fail on the stuck aggregator",
        server::heartbeat::STALE * 3,
        || match health_check(&["--http", &http], &[]) {
            (Some(0), _) => None,
            (code, said) => Some((code, said)),
        },
    );
    assert_eq!(said.0, Some(1), "{}", said.1);
    assert!(
        said.1.contains("answered 503") && said.1.contains("aggregator: no heartbeat"),
        "{}",
        said.1
    );

    drop(stuck);
    let (code, said) = health_check(&["--http", &http], &[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!("cannot ask {http}/healthz")),
        "{said}"
    );
}
