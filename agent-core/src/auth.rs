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

#[cfg(feature = "auth")]
mod keyed;
#[cfg(feature = "auth")]
pub use keyed::{Key, Sealer, proof, verify_proof};

#[cfg(not(feature = "auth"))]
mod disabled;
#[cfg(not(feature = "auth"))]
pub use disabled::{Key, Sealer, proof, verify_proof};

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

pub(crate) const SEAL_OPEN: &[u8] = br#","mac":""#;
pub(crate) const HEX: &[u8; 16] = b"0123456789abcdef";

/// Why a key, a proof or a seal was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// A key shorter than [`MIN_KEY`] or longer than [`MAX_KEY`] bytes.
    KeyLength,
    /// Not `2 * N` lowercase or uppercase hex digits.
    BadHex,
    /// agent-core was built without its `auth` feature: there are no keys.
    Disabled,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::KeyLength => write!(f, "a key must be {MIN_KEY} to {MAX_KEY} bytes"),
            AuthError::BadHex => f.write_str("not the expected hex digits"),
            AuthError::Disabled => f.write_str("built without keys (agent-core's `auth` feature)"),
        }
    }
}

impl core::error::Error for AuthError {}

/// Which way a [`Sealer`] works: its lines go from the agent to the server, or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Lines the agent writes.
    FromAgent,
    /// Lines the server writes.
    FromServer,
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

#[cfg(all(test, feature = "auth"))]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;
    use crate::wire::DecodeError;

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
