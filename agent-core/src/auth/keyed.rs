//! Keys, proofs and seals: HMAC-SHA256 (the `auth` feature).

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{
    AuthError, Direction, HEX, MAC_LEN, MAX_KEY, MIN_KEY, NONCE_LEN, SEAL_LEN, SEAL_OPEN, from_hex,
};
use crate::wire::{DecodeError, EncodeError};

type HmacSha256 = Hmac<Sha256>;

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
    /// [`encode`]: fn@crate::wire::encode
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
    /// [`encode`]: fn@crate::wire::encode
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

    /// Checks the seal of the next line (without its newline); returns the line's length
    /// before sealing, but its closing brace. The sealed line itself decodes as the message
    /// (the seal is one more member, which no message has), so a reader need not copy it.
    ///
    /// # Errors
    /// [`DecodeError::BadSeal`] when the line has no seal or a wrong one (then the connection
    /// cannot go on: the count is spent).
    pub fn verify(&mut self, line: &[u8]) -> Result<usize, DecodeError> {
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
        Ok(body_len)
    }

    /// Checks the seal of the next line (without its newline) as [`verify`](Sealer::verify)
    /// does, and writes the line as it was before sealing into `plain`; returns that part of
    /// `plain`.
    ///
    /// # Errors
    /// As [`verify`](Sealer::verify); [`DecodeError::LineTooLong`] when `plain` is too small.
    pub fn open<'p>(&mut self, line: &[u8], plain: &'p mut [u8]) -> Result<&'p [u8], DecodeError> {
        let body_len = self.verify(line)?;
        let body = line.get(..body_len).ok_or(DecodeError::BadSeal)?;
        let out = plain
            .get_mut(..body_len + 1)
            .ok_or(DecodeError::LineTooLong)?;
        let (head, last) = out.split_at_mut(body_len);
        head.copy_from_slice(body);
        last.copy_from_slice(b"}");
        Ok(out)
    }
}
