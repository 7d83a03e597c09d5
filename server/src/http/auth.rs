//! Basic auth against bcrypt hashes, and the request rate limit: the `basic_auth_users` and
//! `rate_limit` parts of the web config.
//!
//! bcrypt is slow on purpose (about 70 ms at cost 10), so a flood of wrong passwords must not
//! take the CPU: one check runs at a time, and what was checked is remembered, so the scraper
//! that sends the same right (or wrong) password every scrape pays for one check in all.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Credentials remembered as verified: one per scraper and password is the common case.
const ALLOWED_CACHE: usize = 64;

/// Credentials remembered as wrong, so that a scraper with a stale password costs one check
/// rather than one a scrape; a flood of different wrong passwords only cycles this list.
const DENIED_CACHE: usize = 1024;

/// bcrypt checks at once: one core at most, whatever the number of clients guessing.
const CHECKS_AT_ONCE: usize = 1;

/// What a request's credentials come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A configured user with its password.
    Allowed,
    /// No credentials, an unknown user or a wrong password: 401.
    Denied,
    /// No check could start in time (others were checking): 503.
    Busy,
}

/// The users that may read the metrics, with their bcrypt hashes.
#[derive(Debug)]
pub struct Users {
    /// User name to bcrypt hash.
    hashes: HashMap<String, String>,
    /// The hash an unknown user is checked against, so that the time of an answer does not
    /// tell whether a user exists: one of the configured hashes (an unknown user is refused
    /// whatever the check says).
    decoy: String,
    /// Credentials checked before, by digest (passwords are not kept).
    seen: Mutex<Seen>,
    /// bcrypt checks running now.
    checks: Mutex<usize>,
    /// Signalled when a check ends.
    check_done: Condvar,
}

#[derive(Debug, Default)]
struct Seen {
    allowed: VecDeque<[u8; 32]>,
    denied: VecDeque<[u8; 32]>,
}

impl Users {
    /// Users from name-hash pairs, each hash already checked to be bcrypt's; `None` when there
    /// are none (no authentication).
    pub fn new(hashes: HashMap<String, String>) -> Option<Self> {
        let decoy = hashes.values().next()?.clone();
        Some(Users {
            hashes,
            decoy,
            seen: Mutex::new(Seen::default()),
            checks: Mutex::new(0),
            check_done: Condvar::new(),
        })
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether there are none (never: [`Users::new`] makes none of an empty list).
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Checks an `Authorization` header, waiting until `until` at most for a bcrypt check to
    /// start.
    pub fn check(&self, authorization: Option<&str>, until: Instant) -> Verdict {
        let Some((user, password)) = authorization.and_then(basic_credentials) else {
            return Verdict::Denied;
        };
        let hash = self.hashes.get(&user);
        let digest = digest(&user, hash.unwrap_or(&self.decoy), &password);
        {
            let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if seen.allowed.contains(&digest) {
                return Verdict::Allowed;
            }
            if seen.denied.contains(&digest) {
                return Verdict::Denied;
            }
        }
        if !self.start_check(until) {
            return Verdict::Busy;
        }
        let right = bcrypt::verify(&password, hash.unwrap_or(&self.decoy)).unwrap_or(false);
        self.end_check();
        let allowed = right && hash.is_some();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let (list, cap) = if allowed {
            (&mut seen.allowed, ALLOWED_CACHE)
        } else {
            (&mut seen.denied, DENIED_CACHE)
        };
        if list.len() >= cap {
            list.pop_front();
        }
        list.push_back(digest);
        if allowed {
            Verdict::Allowed
        } else {
            Verdict::Denied
        }
    }

    fn start_check(&self, until: Instant) -> bool {
        let mut running = self.checks.lock().unwrap_or_else(PoisonError::into_inner);
        while *running >= CHECKS_AT_ONCE {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            running = self
                .check_done
                .wait_timeout(running, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *running += 1;
        true
    }

    fn end_check(&self) {
        let mut running = self.checks.lock().unwrap_or_else(PoisonError::into_inner);
        *running = running.saturating_sub(1);
        self.check_done.notify_one();
    }
}

/// The user and password of a `Basic` authorization value.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// What identifies a set of credentials in the cache: a digest, so that no password is kept.
fn digest(user: &str, hash: &str, password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [user, hash, password] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// A token bucket over every request but `/healthz`: `rate_limit` in the web config.
#[derive(Debug)]
pub struct RateLimit {
    /// Time to earn one request.
    interval: Duration,
    /// Requests that may come at once.
    burst: u32,
    /// Tokens and when they were counted.
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    /// One request per `interval`, `burst` at once; starts full.
    pub fn new(interval: Duration, burst: u32) -> Self {
        RateLimit {
            interval,
            burst,
            state: Mutex::new((f64::from(burst), Instant::now())),
        }
    }

    /// Whether a request may go ahead now (it takes a token).
    pub fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let earned = now.saturating_duration_since(state.1).as_secs_f64()
            / self.interval.as_secs_f64().max(1e-9);
        state.0 = (state.0 + earned).min(f64::from(self.burst));
        state.1 = state.1.max(now);
        if state.0 >= 1.0 {
            state.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An htpasswd-style (`$2y$`) hash of "fakepassword" at cost 10, as the exporter toolkit
    /// uses for unknown users.
    const HTPASSWD_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

    fn users() -> Users {
        let hash = bcrypt::hash("secret", 4).unwrap();
        Users::new(HashMap::from([("prometheus".to_owned(), hash)])).unwrap()
    }

    fn basic(user: &str, password: &str) -> String {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}")
    }

    #[test]
    fn the_right_password_is_allowed_and_anything_else_denied() {
        let users = users();
        let until = Instant::now() + Duration::from_secs(5);
        assert_eq!(
            users.check(Some(&basic("prometheus", "secret")), until),
            Verdict::Allowed
        );
        assert_eq!(
            users.check(Some(&basic("prometheus", "secret")), until),
            Verdict::Allowed
        );
        for wrong in [
            Some(basic("prometheus", "Secret")),
            Some(basic("nobody", "secret")),
            Some("Bearer abc".to_owned()),
            Some("Basic !!!".to_owned()),
            Some("Basic".to_owned()),
            None,
        ] {
            assert_eq!(users.check(wrong.as_deref(), until), Verdict::Denied);
        }
        let seen = users.seen.lock().unwrap();
        assert_eq!((seen.allowed.len(), seen.denied.len()), (1, 2));
    }

    #[test]
    fn an_htpasswd_hash_verifies() {
        assert!(bcrypt::verify("fakepassword", HTPASSWD_HASH).unwrap());
        assert!(!bcrypt::verify("fakepassworD", HTPASSWD_HASH).unwrap());
    }

    #[test]
    fn no_check_starts_past_its_wait_while_another_runs() {
        let users = users();
        assert!(users.start_check(Instant::now()));
        assert_eq!(
            users.check(Some(&basic("prometheus", "x")), Instant::now()),
            Verdict::Busy
        );
        users.end_check();
        assert_eq!(
            users.check(Some(&basic("prometheus", "x")), Instant::now()),
            Verdict::Denied
        );
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_one_per_interval() {
        let limit = RateLimit::new(Duration::from_millis(100), 2);
        let t0 = Instant::now();
        assert!(limit.allow_at(t0));
        assert!(limit.allow_at(t0));
        assert!(!limit.allow_at(t0));
        assert!(!limit.allow_at(t0 + Duration::from_millis(50)));
        assert!(limit.allow_at(t0 + Duration::from_millis(101)));
        assert!(!limit.allow_at(t0 + Duration::from_millis(102)));
        // An earlier clock reading earns nothing and panics nowhere.
        assert!(!limit.allow_at(t0));
    }
}
