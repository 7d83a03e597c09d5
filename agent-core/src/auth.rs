//! `auth`: pre-shared keys, the challenge and response that prove an agent's identity, and the
//! seals that keep every later line of the connection from being forged or altered.
//!
//! ```text
//! agent                                        server
//!   │ ── hello {id, session, ...} ──────────────► │  looks up the key for id
//!   │ ◄───────────────────── challenge {nonce} ── │  32 fresh random bytes
//!   │ ── auth {mac: proof(key, nonce, id, session)} ► │  compared in constant time
//!   │ ◄──────────────────── welcome (sealed) ──── │
//!   │ ── sample (sealed) ──► ◄── ack (sealed) ─── │
//! ```
//!
//! The key never crosses the wire, and a recorded handshake cannot be replayed: the next
//! connection has another nonce. After `auth`, each side seals every line with a key derived
//! from the pre-shared key, the nonce, the agent id and the direction, over a count of the lines
//! sealed so far: a line altered, replayed, reordered, dropped or reflected back does not open.
//! A seal is the line's last member, `,"mac":"<64 hex digits>"}`, covering the line as it was
//! without it. This gives identity and integrity, not confidentiality: the JSON is readable on
//! the wire.

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::wire::{DecodeError, EncodeError};

type HmacSha256 = Hmac<Sha256>;

/// Bytes of a challenge's nonce.
pub const NONCE_LEN: usize = 32;

/// Bytes of a MAC (HMAC-SHA256).
pub const MAC_LEN: usize = 32;

/// The shortest key accepted, in bytes.
pub const MIN_KEY: usize = 16;

/// The longest key accepted, in bytes.
pub const MAX_KEY: usize = 128;

/// What a seal puts in place of a line's closing `}`: `,"mac":"` (8 bytes), 64 hex digits, `"}`.
pub const SEAL_LEN: usize = 8 + 2 * MAC_LEN + 2;

const SEAL_OPEN: &[u8] = br#","mac":""#;
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Why a key, a proof or a seal was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// A key shorter than [`MIN_KEY`] or longer than [`MAX_KEY`] bytes.
    KeyLength,
    /// Not `2 * N` lowercase or uppercase hex digits.
    BadHex,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::KeyLength => write!(f, "a key must be {MIN_KEY} to {MAX_KEY} bytes"),
            AuthError::BadHex => f.write_str("not the expected hex digits"),
        }
    }
}

impl core::error::Error for AuthError {}

/// A pre-shared key: the bytes of a key file's text, surrounding whitespace removed (for
/// example 64 hex digits from `openssl rand -hex 32`).
#[derive(Clone)]
pub struct Key {
    bytes: [u8; MAX_KEY],
    len: usize,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// The key made of `text` without surrounding whitespace.
    ///
    /// # Errors
    /// [`AuthError::KeyLength`] when that is under [`MIN_KEY`] or over [`MAX_KEY`] bytes.
    pub fn new(text: &[u8]) -> Result<Self, AuthError> {
        let text = text.trim_ascii();
        if text.len() < MIN_KEY || text.len() > MAX_KEY {
            return Err(AuthError::KeyLength);
        }
        let mut bytes = [0u8; MAX_KEY];
        bytes
            .get_mut(..text.len())
            .ok_or(AuthError::KeyLength)?
            .copy_from_slice(text);
        Ok(Key {
            bytes,
            len: text.len(),
        })
    }

    fn mac(&self) -> HmacSha256 {
        let key = self.bytes.get(..self.len).unwrap_or_default();
        // HMAC takes a key of any length.
        match HmacSha256::new_from_slice(key) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        }
    }
}

#[cold]
fn unreachable_hmac() -> HmacSha256 {
    // `new_from_slice` fails only for fixed-size keys; HMAC has none. Keep the no-panic promise.
    <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default())
}

/// The agent's answer to a challenge: proves that it holds the key for `id`, for this nonce,
/// this session of the agent, and nothing else.
pub fn proof(key: &Key, nonce: &[u8; NONCE_LEN], id: &str, session: u64) -> [u8; MAC_LEN] {
    let mut mac = key.mac();
    mac.update(b"vitals-v1 auth\0");
    mac.update(nonce);
    mac.update(&session.to_be_bytes());
    mac.update(id.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Whether `answer` is the [`proof`] for these values, compared in constant time.
pub fn verify_proof(
    key: &Key,
    nonce: &[u8; NONCE_LEN],
    id: &str,
    session: u64,
    answer: &[u8],
) -> bool {
    let mut mac = key.mac();
    mac.update(b"vitals-v1 auth\0");
    mac.update(nonce);
    mac.update(&session.to_be_bytes());
    mac.update(id.as_bytes());
    mac.verify_slice(answer).is_ok()
}

/// Which way a [`Sealer`] works: its lines go from the agent to the server, or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Lines the agent writes.
    FromAgent,
    /// Lines the server writes.
    FromServer,
}

/// Seals (or opens) the lines of one direction of one authenticated connection, in order.
#[derive(Clone)]
pub struct Sealer {
    mac: HmacSha256,
    count: u64,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// The sealer for `direction` of the connection whose challenge was `nonce`.
    pub fn new(key: &Key, nonce: &[u8; NONCE_LEN], id: &str, direction: Direction) -> Self {
        let mut derive = key.mac();
        derive.update(match direction {
            Direction::FromAgent => b"vitals-v1 seal agent\0",
            Direction::FromServer => b"vitals-v1 seal server",
        });
        derive.update(nonce);
        derive.update(id.as_bytes());
        let session_key: [u8; MAC_LEN] = derive.finalize().into_bytes().into();
        let mac = HmacSha256::new_from_slice(&session_key).unwrap_or_else(|_| unreachable_hmac());
        Sealer { mac, count: 0 }
    }

    fn next(&mut self) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(&self.count.to_be_bytes());
        self.count = self.count.wrapping_add(1);
        mac
    }

    /// The seal of the next line, given in pieces that together are the line as [`encode`]
    /// wrote it, newline included. Send the line without its last two bytes (`}\n`), then this.
    ///
    /// [`encode`]: crate::wire::encode
    pub fn seal(&mut self, pieces: &[&[u8]]) -> [u8; SEAL_LEN + 1] {
        let total: usize = pieces.iter().map(|p| p.len()).sum();
        let mut mac = self.next();
        // The MAC covers the line without its newline.
        let mut left = total.saturating_sub(1);
        for piece in pieces {
            let take = piece.len().min(left);
            mac.update(piece.get(..take).unwrap_or_default());
            left -= take;
        }
        let digest: [u8; MAC_LEN] = mac.finalize().into_bytes().into();
        let mut seal = [0u8; SEAL_LEN + 1];
        let (open, rest) = seal.split_at_mut(SEAL_OPEN.len());
        open.copy_from_slice(SEAL_OPEN);
        for (pair, byte) in rest.chunks_exact_mut(2).zip(digest) {
            if let [high, low] = pair {
                *high = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
                *low = HEX.get(usize::from(byte & 15)).copied().unwrap_or(b'0');
            }
        }
        if let Some(end) = seal.get_mut(SEAL_LEN - 2..) {
            end.copy_from_slice(b"\"}\n");
        }
        seal
    }

    /// Seals the line that [`encode`] wrote at the start of `buf` (`len` bytes, newline
    /// included) in place; returns its new length.
    ///
    /// # Errors
    /// [`EncodeError::BufferFull`] when the sealed line does not fit in `buf`.
    ///
    /// [`encode`]: crate::wire::encode
    pub fn seal_in_place(&mut self, buf: &mut [u8], len: usize) -> Result<usize, EncodeError> {
        let sealed = len + SEAL_LEN - 1;
        if len < 2 || sealed > buf.len() {
            return Err(EncodeError::BufferFull);
        }
        let seal = self.seal(&[buf.get(..len).unwrap_or_default()]);
        buf.get_mut(len - 2..sealed)
            .ok_or(EncodeError::BufferFull)?
            .copy_from_slice(&seal);
        Ok(sealed)
    }

    /// Checks the seal of the next line (without its newline) and writes the line as it was
    /// before sealing into `plain`; returns that part of `plain`.
    ///
    /// # Errors
    /// [`DecodeError::BadSeal`] when the line has no seal or a wrong one (then the connection
    /// cannot go on: the count is spent), [`DecodeError::LineTooLong`] when `plain` is too small.
    pub fn open<'p>(&mut self, line: &[u8], plain: &'p mut [u8]) -> Result<&'p [u8], DecodeError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let body_len = line
            .len()
            .checked_sub(SEAL_LEN)
            .ok_or(DecodeError::BadSeal)?;
        let (body, seal) = line.split_at(body_len);
        let hex = seal
            .strip_prefix(SEAL_OPEN)
            .and_then(|s| s.strip_suffix(b"\"}"))
            .ok_or(DecodeError::BadSeal)?;
        let mut digest = [0u8; MAC_LEN];
        from_hex(hex, &mut digest).map_err(|_| DecodeError::BadSeal)?;
        let mut mac = self.next();
        mac.update(body);
        mac.update(b"}");
        mac.verify_slice(&digest)
            .map_err(|_| DecodeError::BadSeal)?;
        let out = plain
            .get_mut(..body_len + 1)
            .ok_or(DecodeError::LineTooLong)?;
        let (head, last) = out.split_at_mut(body_len);
        head.copy_from_slice(body);
        last.copy_from_slice(b"}");
        Ok(out)
    }
}

/// Whether `line` (without its newline) ends in what looks like a seal.
pub fn looks_sealed(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.len() >= SEAL_LEN
        && line
            .get(line.len() - SEAL_LEN..)
            .is_some_and(|s| s.starts_with(SEAL_OPEN) && s.ends_with(b"\"}"))
}

/// Writes `bytes` as lowercase hex into `out` (twice as long); returns the text.
pub fn to_hex<'o>(bytes: &[u8], out: &'o mut [u8]) -> &'o str {
    let mut n = 0;
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        if let [high, low] = pair {
            *high = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
            *low = HEX.get(usize::from(byte & 15)).copied().unwrap_or(b'0');
            n += 2;
        }
    }
    core::str::from_utf8(out.get(..n).unwrap_or_default()).unwrap_or_default()
}

/// Reads exactly `out.len()` bytes from twice as many hex digits.
///
/// # Errors
/// [`AuthError::BadHex`] for any other length or a non-hex character.
pub fn from_hex(hex: &[u8], out: &mut [u8]) -> Result<(), AuthError> {
    if hex.len() != out.len() * 2 {
        return Err(AuthError::BadHex);
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(AuthError::BadHex),
    };
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        if let [high, low] = pair {
            *byte = (digit(*high)? << 4) | digit(*low)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    const NONCE: [u8; NONCE_LEN] = [7; NONCE_LEN];
    const ACK: &[u8] = b"{\"v\":1,\"kind\":\"ack\",\"seq\":7}\n";

    fn key(text: &str) -> Key {
        Key::new(text.as_bytes()).unwrap()
    }

    fn pair() -> (Sealer, Sealer) {
        let k = key("correct horse battery staple");
        (
            Sealer::new(&k, &NONCE, "pi", Direction::FromServer),
            Sealer::new(&k, &NONCE, "pi", Direction::FromServer),
        )
    }

    fn sealed(sealer: &mut Sealer, line: &[u8]) -> Vec<u8> {
        let mut buf = [0u8; 256];
        buf[..line.len()].copy_from_slice(line);
        let n = sealer.seal_in_place(&mut buf, line.len()).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn keys_are_trimmed_and_bounded() {
        assert!(Key::new(b"  0123456789abcdef\n").is_ok());
        assert_eq!(Key::new(b"short").unwrap_err(), AuthError::KeyLength);
        assert_eq!(
            Key::new(&[b'k'; MAX_KEY + 1]).unwrap_err(),
            AuthError::KeyLength
        );
        assert_eq!(std::format!("{:?}", key("0123456789abcdef")), "Key(..)");
    }

    #[test]
    fn a_proof_holds_only_for_its_key_nonce_id_and_session() {
        let k = key("correct horse battery staple");
        let p = proof(&k, &NONCE, "pi", 5);
        assert!(verify_proof(&k, &NONCE, "pi", 5, &p));
        assert!(!verify_proof(
            &key("another key, long enough"),
            &NONCE,
            "pi",
            5,
            &p
        ));
        assert!(!verify_proof(&k, &[8; NONCE_LEN], "pi", 5, &p));
        assert!(!verify_proof(&k, &NONCE, "pj", 5, &p));
        assert!(!verify_proof(&k, &NONCE, "pi", 6, &p));
        assert!(!verify_proof(&k, &NONCE, "pi", 5, &p[..31]));
    }

    #[test]
    fn a_sealed_line_opens_to_the_line_it_was() {
        let (mut tx, mut rx) = pair();
        let line = sealed(&mut tx, ACK);
        assert!(line.ends_with(b"\"}\n"));
        assert!(line.starts_with(b"{\"v\":1,\"kind\":\"ack\",\"seq\":7,\"mac\":\""));
        assert!(looks_sealed(&line[..line.len() - 1]));
        let mut plain = [0u8; 256];
        let opened = rx.open(&line[..line.len() - 1], &mut plain).unwrap();
        assert_eq!(opened, &ACK[..ACK.len() - 1]);
    }

    #[test]
    fn sealing_in_pieces_is_sealing_whole() {
        let (mut a, mut b) = pair();
        let whole = a.seal(&[ACK]);
        let pieces = b.seal(&[&ACK[..5], &ACK[5..ACK.len() - 1], &ACK[ACK.len() - 1..]]);
        assert_eq!(whole, pieces);
    }

    #[test]
    fn altered_replayed_reordered_or_reflected_lines_do_not_open() {
        let mut plain = [0u8; 256];
        let (mut tx, mut rx) = pair();
        let first = sealed(&mut tx, ACK);
        let second = sealed(&mut tx, b"{\"v\":1,\"kind\":\"ack\",\"seq\":8}\n");
        // Reordered: the second line where the first is due.
        let mut early = rx.clone();
        assert_eq!(
            early.open(&second[..second.len() - 1], &mut plain),
            Err(DecodeError::BadSeal)
        );
        // Altered.
        let mut altered = first.clone();
        altered[25] = b'9';
        assert_eq!(
            rx.clone().open(&altered[..altered.len() - 1], &mut plain),
            Err(DecodeError::BadSeal)
        );
        // In order, they open; then replaying the first does not.
        assert!(rx.open(&first[..first.len() - 1], &mut plain).is_ok());
        assert!(rx.open(&second[..second.len() - 1], &mut plain).is_ok());
        assert_eq!(
            rx.open(&first[..first.len() - 1], &mut plain),
            Err(DecodeError::BadSeal)
        );
        // Reflected: a line the server sealed does not open as the agent's.
        let k = key("correct horse battery staple");
        let mut as_agent = Sealer::new(&k, &NONCE, "pi", Direction::FromAgent);
        assert_eq!(
            as_agent.open(&first[..first.len() - 1], &mut plain),
            Err(DecodeError::BadSeal)
        );
        // No seal at all.
        assert_eq!(
            pair().1.open(&ACK[..ACK.len() - 1], &mut plain),
            Err(DecodeError::BadSeal)
        );
    }

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        let mut text = [0u8; 8];
        assert_eq!(to_hex(&[0x01, 0xab, 0xff, 0x10], &mut text), "01abff10");
        let mut back = [0u8; 4];
        from_hex(b"01ABff10", &mut back).unwrap();
        assert_eq!(back, [0x01, 0xab, 0xff, 0x10]);
        assert_eq!(from_hex(b"01abff1", &mut back), Err(AuthError::BadHex));
        assert_eq!(from_hex(b"01abff1g", &mut back), Err(AuthError::BadHex));
    }
}
