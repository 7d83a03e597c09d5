//! Without the `auth` feature: no key can be made, so no proof or seal ever is, and a build for
//! a board that needs none carries no HMAC or SHA-256. The types cannot hold a value, so every
//! path that would use one is dead code the compiler removes; the agent answers a challenge
//! without a key, and the server says it wants one.

use super::{AuthError, Direction, MAC_LEN, NONCE_LEN, SEAL_LEN};
use crate::wire::{DecodeError, EncodeError};

/// A pre-shared key; none can be made in this build.
#[derive(Debug, Clone)]
pub enum Key {}

impl Key {
    /// # Errors
    /// Always [`AuthError::Disabled`].
    pub fn new(_text: &[u8]) -> Result<Self, AuthError> {
        Err(AuthError::Disabled)
    }
}

/// A sealer; none can be made in this build.
#[derive(Debug, Clone)]
pub enum Sealer {}

impl Sealer {
    #[allow(missing_docs)]
    pub fn new(key: &Key, _nonce: &[u8; NONCE_LEN], _id: &str, _direction: Direction) -> Self {
        match *key {}
    }

    #[allow(missing_docs)]
    pub fn seal(&mut self, _pieces: &[&[u8]]) -> [u8; SEAL_LEN + 1] {
        match *self {}
    }

    /// # Errors
    /// Never returns.
    pub fn seal_in_place(&mut self, _buf: &mut [u8], _len: usize) -> Result<usize, EncodeError> {
        match *self {}
    }

    /// # Errors
    /// Never returns.
    pub fn verify(&mut self, _line: &[u8]) -> Result<usize, DecodeError> {
        match *self {}
    }

    /// # Errors
    /// Never returns.
    pub fn open<'p>(
        &mut self,
        _line: &[u8],
        _plain: &'p mut [u8],
    ) -> Result<&'p [u8], DecodeError> {
        match *self {}
    }
}

#[allow(missing_docs)]
pub fn proof(key: &Key, _nonce: &[u8; NONCE_LEN], _id: &str, _session: u64) -> [u8; MAC_LEN] {
    match *key {}
}

#[allow(missing_docs)]
pub fn verify_proof(
    key: &Key,
    _nonce: &[u8; NONCE_LEN],
    _id: &str,
    _session: u64,
    _answer: &[u8],
) -> bool {
    match *key {}
}
