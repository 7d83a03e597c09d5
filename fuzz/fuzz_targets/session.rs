//! The server's per-connection session and its aggregator, fed bytes as an agent (or anyone)
//! would send them, without a socket. Checks: nothing panics; every line the session writes is a
//! valid message (sealed with the session's key once the agent has authenticated), all of one
//! protocol version (v2's when the harness said a v2 hello); nothing follows an `error`; and the
//! exposition stays valid Prometheus text whatever was merged, v1 samples or v2 `declare` and
//! `values` lines, with no two series of one name and label set, and no raw control character
//! in a label value.
//!
//! The first input byte picks the mode: raw bytes cut into pieces of its size (0x00-0x7f), or an
//! agent that authenticates properly (the harness says a v1 hello, for 0x80-0xbf, or a v2 one,
//! for 0xc0-0xff, and answers the challenge with the key) and then sends the input's lines, each
//! sealed, so that the authenticated path is fuzzed too. The seeds `raw-v2-*` and `auth-v2-*`
//! hold v2 sessions (hello, declare, values, a new declaration); `auth-v2-same` ends with a
//! line that leaves out what it shares with the one before.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use agent_core::auth::{self, Direction, Key, NONCE_LEN, Sealer};
use agent_core::sample::Sample;
use agent_core::wire::{self, Auth, Message, SampleMessage};
use libfuzzer_sys::fuzz_target;
use server::aggregator::{Aggregator, Config};
use server::keys::Keys;
use server::io::session::{Context, Limits, Request, Session};

const KEY: &str = "fuzz-session-key-0123456789";
const HELLO_V2: &[u8] = b"{\"v\":2,\"kind\":\"hello\",\"id\":\"fuzz-a\",\"version\":\"0\",\"os\":\"Linux\",\"arch\":\"x\",\"kernel\":\"k\",\"kernel_version\":\"kv\",\"hostname\":\"h\",\"domainname\":\"(none)\",\"interval_ms\":1000,\"session\":1}\n";
const HELLO: &[u8] = b"{\"v\":1,\"kind\":\"hello\",\"id\":\"fuzz-a\",\"version\":\"0\",\"os\":\"Linux\",\"arch\":\"x\",\"kernel\":\"k\",\"kernel_version\":\"kv\",\"hostname\":\"h\",\"domainname\":\"(none)\",\"interval_ms\":1000,\"session\":1}\n";

struct Harness {
    session: Session,
    aggregator: Aggregator,
    keys: Option<Keys>,
    plain: Vec<u8>,
    sample: Box<SampleMessage<Sample>>,
    nonce_counter: u8,
    now: Instant,
    /// The server's lines read so far, and whether an error was among them.
    read: usize,
    errored: bool,
    /// The protocol version of the session's lines: that of the first, or the hello's.
    version: Option<u32>,
    /// Once authenticated: opens the server's lines.
    from_server: Option<Sealer>,
}

impl Harness {
    fn feed(&mut self, bytes: &[u8]) {
        let mut requests = Vec::new();
        let counter = &mut self.nonce_counter;
        let mut random = |buf: &mut [u8]| {
            *counter = counter.wrapping_add(1);
            buf.fill(*counter);
            true
        };
        let mut ctx = Context {
            keys: self.keys.as_ref(),
            random: &mut random,
            plain: &mut self.plain,
            sample: &mut self.sample,
            spares: None,
        };
        self.session.receive(bytes, self.now, &mut ctx, &mut requests);
        self.settle(requests);
    }

    /// Hands requests to the aggregator and its answers back, until nothing is left.
    fn settle(&mut self, mut requests: Vec<Request>) {
        while !requests.is_empty() {
            let answers: Vec<_> = requests
                .drain(..)
                .filter_map(|request| self.aggregator.handle(request.into_event(1), self.now))
                .collect();
            for (_, reply) in answers {
                self.session.answer(reply, self.now, &mut requests);
            }
        }
        self.check_output();
    }

    /// Every complete line the session wrote is a message; nothing follows an error.
    fn check_output(&mut self) {
        let out = &self.session.out;
        while let Some(end) = out[self.read..].iter().position(|&b| b == b'\n') {
            let line = &out[self.read..self.read + end];
            self.read += end + 1;
            assert!(!self.errored, "a line after an error: {:?}", String::from_utf8_lossy(line));
            let mut plain = vec![0u8; line.len()];
            let line = match &mut self.from_server {
                Some(sealer) if auth::looks_sealed(line) => sealer
                    .open(line, &mut plain)
                    .unwrap_or_else(|e| panic!("our own seal does not open: {e}")),
                _ => line,
            };
            // One version for every line; a v2 line is a v1 line but for its `v`.
            let v = wire::version_of(line).unwrap_or_else(|| {
                panic!("the session wrote {:?}, without a version", String::from_utf8_lossy(line))
            });
            let expected = *self.version.get_or_insert(v);
            assert_eq!(v, expected, "a v{v} line in a v{expected} session");
            let as_v1;
            let line = match line.strip_prefix(b"{\"v\":2,") {
                Some(rest) if v == wire::PROTOCOL_V2 => {
                    as_v1 = [&b"{\"v\":1,"[..], rest].concat();
                    &as_v1[..]
                }
                _ => line,
            };
            match wire::decode_line::<Sample<0, 0, 0, 0, 0>>(line) {
                Ok(Message::Error(_)) => self.errored = true,
                Ok(Message::Welcome(_) | Message::Ack(_) | Message::Challenge(_)) => {}
                other => panic!(
                    "the session wrote {:?}: {other:?}",
                    String::from_utf8_lossy(line)
                ),
            }
        }
    }

    /// Says hello and answers the challenge with the key, as an honest agent would.
    fn authenticate(&mut self, v2: bool) -> Option<Sealer> {
        self.feed(if v2 { HELLO_V2 } else { HELLO });
        let out = String::from_utf8(self.session.out.clone()).ok()?;
        let nonce_hex = out.split("\"nonce\":\"").nth(1)?.get(..2 * NONCE_LEN)?;
        let mut nonce = [0u8; NONCE_LEN];
        auth::from_hex(nonce_hex.as_bytes(), &mut nonce).ok()?;
        let key = Key::new(KEY.as_bytes()).ok()?;
        let mut hex = [0u8; 2 * auth::MAC_LEN];
        let proof = auth::proof(&key, &nonce, "fuzz-a", 1);
        let answer: Message = Message::Auth(Auth {
            mac: agent_core::sample::bounded(auth::to_hex(&proof, &mut hex)),
        });
        let mut line = [0u8; 256];
        let n = wire::encode(&answer, &mut line).ok()?;
        self.from_server = Some(Sealer::new(&key, &nonce, "fuzz-a", Direction::FromServer));
        self.feed(&line[..n]);
        Some(Sealer::new(&key, &nonce, "fuzz-a", Direction::FromAgent))
    }
}

/// Checks the text exposition format line by line: comments, then `name{labels} value`, each
/// series (name and labels) once.
fn check_exposition(text: &str) {
    let mut series = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            assert!(
                rest.starts_with("HELP ") || rest.starts_with("TYPE "),
                "comment {line:?}"
            );
            continue;
        }
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(line.len());
        assert!(name_end > 0, "no metric name: {line:?}");
        let mut rest = &line[name_end..];
        if let Some(labels) = rest.strip_prefix('{') {
            let mut chars = labels.char_indices();
            let mut in_value = false;
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match (in_value, c) {
                    (true, '\\') => {
                        let (_, escaped) = chars.next().expect("escape at the end");
                        assert!(matches!(escaped, '\\' | '"' | 'n'), "bad escape in {line:?}");
                    }
                    (true, '"') => in_value = false,
                    (true, c) => assert!(
                        !(c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')),
                        "raw {c:?} in a label value: {line:?}"
                    ),
                    (false, '"') => in_value = true,
                    (false, '}') => {
                        end = Some(i);
                        break;
                    }
                    (false, c) => assert!(
                        c.is_ascii_alphanumeric() || matches!(c, '_' | '=' | ','),
                        "label syntax {c:?} in {line:?}"
                    ),
                }
            }
            rest = &labels[end.expect("labels not closed") + 1..];
        }
        let key = &line[..line.len() - rest.len()];
        assert!(series.insert(key.to_owned()), "series twice: {key}");
        let value = rest.strip_prefix(' ').expect("a space before the value");
        assert!(
            matches!(value, "NaN" | "+Inf" | "-Inf") || value.parse::<f64>().is_ok(),
            "value {value:?} in {line:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let authenticated = mode & 0x80 != 0;
    let v2 = authenticated && mode & 0x40 != 0;
    let keys = authenticated.then(|| Keys::parse(&format!("fuzz-* {KEY}\n")).unwrap());
    let now = Instant::now();
    let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let mut h = Harness {
        session: Session::new(peer, Limits::default(), now),
        aggregator: Aggregator::new(Config {
            expire_after: Some(Duration::from_secs(30)),
            ..Config::default()
        }),
        keys,
        plain: Vec::new(),
        sample: Box::default(),
        nonce_counter: 0,
        now,
        read: 0,
        errored: false,
        version: v2.then_some(wire::PROTOCOL_V2),
        from_server: None,
    };
    if authenticated {
        let Some(mut to_server) = h.authenticate(v2) else {
            panic!("an honest agent could not authenticate");
        };
        // The input's lines, each sealed as the agent would; a line that does not end in `}`
        // cannot be sealed and is sent as it is (and refused).
        for line in input.split_inclusive(|&b| b == b'\n') {
            let mut sealed = line.to_vec();
            if !sealed.ends_with(b"\n") {
                sealed.push(b'\n');
            }
            let len = sealed.len();
            sealed.resize(len + auth::SEAL_LEN, 0);
            match to_server.seal_in_place(&mut sealed, len) {
                Ok(n) if line.ends_with(b"}\n") || line.ends_with(b"}") => h.feed(&sealed[..n]),
                _ => h.feed(line),
            }
        }
    } else {
        let piece = usize::from(mode & 0x7f).max(1);
        for chunk in input.chunks(piece) {
            h.feed(chunk);
            h.now += Duration::from_millis(10);
        }
    }
    // What was merged, before it expires; then deadlines and expiry run on whatever is left.
    check_exposition(&h.aggregator.render());
    let mut requests = Vec::new();
    let later = h.now + Duration::from_secs(60);
    h.session.tick(later, &mut requests);
    h.session.closed(&mut requests);
    h.settle(requests);
    h.aggregator.expire(later);
    check_exposition(&h.aggregator.render());
});
