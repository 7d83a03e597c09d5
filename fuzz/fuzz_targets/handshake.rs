//! The authentication layer under arbitrary input: a proof is accepted only when it is the
//! proof; a sealed line opens to exactly what was sealed, in order; and any line that is not
//! that sealed line, including every single-byte change of it, does not open.
#![no_main]

use agent_core::auth::{self, Direction, Key, NONCE_LEN, Sealer};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"fuzzing key, at least sixteen bytes";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let key = Key::new(KEY).unwrap();
    let mut nonce = [0u8; NONCE_LEN];
    for (n, b) in nonce.iter_mut().zip(rest) {
        *n = *b;
    }
    let id = "fuzz-agent";

    // An answer from the input is accepted only if it is the proof.
    let proof = auth::proof(&key, &nonce, id, u64::from(selector));
    let answer = rest.get(NONCE_LEN..).unwrap_or_default();
    assert_eq!(
        auth::verify_proof(&key, &nonce, id, u64::from(selector), answer),
        answer == proof
    );

    // Arbitrary input as a line of an authenticated connection: never a panic, and it opens
    // only if it is the first line the peer would seal.
    let mut plain = vec![0u8; rest.len() + 1];
    let mut receiver = Sealer::new(&key, &nonce, id, Direction::FromServer);
    if let Ok(opened) = receiver.open(rest, &mut plain) {
        let mut line = opened.to_vec();
        line.push(b'\n');
        let len = line.len();
        line.resize(len + auth::SEAL_LEN, 0);
        let mut sender = Sealer::new(&key, &nonce, id, Direction::FromServer);
        let n = sender.seal_in_place(&mut line, len).unwrap();
        assert_eq!(&line[..n - 1], rest.strip_suffix(b"\r").unwrap_or(rest));
    }

    // A line from the input, closed like one from `encode`, seals and opens back to itself; a
    // change of any one byte of the sealed line makes it refused.
    let mut original = rest.to_vec();
    original.push(b'}');
    let mut line = original.clone();
    line.push(b'\n');
    let len = line.len();
    line.resize(len + auth::SEAL_LEN, 0);
    let mut sender = Sealer::new(&key, &nonce, id, Direction::FromAgent);
    let n = sender.seal_in_place(&mut line, len).unwrap();
    let sealed = &line[..n - 1];
    let mut receiver = Sealer::new(&key, &nonce, id, Direction::FromAgent);
    let mut plain = vec![0u8; sealed.len()];
    let opened = receiver.open(sealed, &mut plain).unwrap();
    assert_eq!(opened, &original[..]);
    let at = usize::from(selector) % sealed.len();
    let mut changed = sealed.to_vec();
    changed[at] ^= 1 | (selector >> 1);
    let mut fresh = Sealer::new(&key, &nonce, id, Direction::FromAgent);
    let mut plain = vec![0u8; sealed.len()];
    assert!(fresh.open(&changed, &mut plain).is_err(), "a changed line opened");
});
