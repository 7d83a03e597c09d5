//! Protocol v2's `values` line under arbitrary bytes. Checks: nothing panics; what
//! `decode_values` accepts has `seq` from 1 and only finite values; `ValuesWriter` writes its
//! header and values as a line that reads back to the same header and the same values, bit for
//! bit (but the sign of a zero: `-0` is written `0`), and that writes again to the same bytes
//! (a fixed point); and an error the callback returns at any value ends the reading with that
//! error. Lines that leave values out (`same`): `decode_items` reads any input without
//! panicking, and `delta` of a line on top of another (the line's values with every third one
//! changed) reads back, applied on that one's values, to exactly the line's values.
#![no_main]

use agent_core::wire::{
    DecodeError, EncodeError, Item, MAX_LINE, ValuesHeader, ValuesWriter, decode_items,
    decode_values, delta,
};
use libfuzzer_sys::fuzz_target;

fn decode(line: &[u8]) -> Result<(ValuesHeader, Vec<f64>), DecodeError> {
    let mut values = Vec::new();
    let header = decode_values(line, |v| {
        values.push(v);
        Ok(())
    })?;
    Ok((header, values))
}

/// The line `ValuesWriter` writes, without its newline; `None` when it is over `MAX_LINE`.
fn encode(header: &ValuesHeader, values: &[f64]) -> Option<Vec<u8>> {
    // 20 digits for each of the header's numbers; ryu writes at most 24 bytes a value.
    let mut buf = vec![0u8; 200 + 25 * values.len()];
    let mut w = ValuesWriter::new(header, &mut buf);
    for v in values {
        w.push(*v);
    }
    match w.finish() {
        Ok(n) => {
            assert_eq!(buf[n - 1], b'\n', "ValuesWriter's line ends in a newline");
            let line = &buf[..n - 1];
            assert!(line.len() <= MAX_LINE);
            assert!(!line.contains(&b'\n'), "a newline inside the line");
            Some(line.to_vec())
        }
        Err(EncodeError::LineTooLong) => None,
        Err(e) => panic!("ValuesWriter of {} values: {e:?}", values.len()),
    }
}

/// Bit for bit, but that a zero may have lost its sign.
fn same(a: f64, b: f64) -> bool {
    a == b && (a.to_bits() == b.to_bits() || a == 0.0)
}

/// `line`'s values applied on `base`, as a server does.
fn apply(base: &[f64], line: &[u8]) -> Vec<f64> {
    let mut values = base.to_vec();
    let (mut at, mut delta) = (0, false);
    decode_items(line, |item| {
        match item {
            Item::Same(n) => {
                delta = true;
                at += n as usize;
                assert!(at <= values.len(), "a delta keeps more values than there are");
            }
            Item::New(v) if delta => {
                values[at] = v;
                at += 1;
            }
            Item::New(v) => {
                values.truncate(at);
                values.push(v);
                at += 1;
            }
        }
        Ok(())
    })
    .expect("delta wrote a line decode_items refuses");
    values
}

fuzz_target!(|data: &[u8]| {
    // Any line with runs: read without a panic, its items within what they say.
    let _ = decode_items(data, |_| Ok(()));
    let Ok((header, values)) = decode(data) else {
        return;
    };
    assert!(header.seq >= 1, "seq 0 accepted");
    assert!(
        values.iter().all(|v| v.is_finite()),
        "a value that is not finite: {values:?}"
    );

    // A refusal from the callback at value `k` is the answer, whatever follows.
    for k in [0, values.len() / 2, values.len().saturating_sub(1)] {
        if k < values.len() {
            let mut i = 0;
            let refused = decode_values(data, |_| {
                i += 1;
                if i > k {
                    Err(DecodeError::InvalidValue("refused"))
                } else {
                    Ok(())
                }
            });
            assert_eq!(refused, Err(DecodeError::InvalidValue("refused")));
            assert_eq!(i, k + 1, "values read after the callback refused one");
        }
    }

    // Written again: the same header and values, and a fixed point.
    let Some(first) = encode(&header, &values) else {
        // A value's text can be longer than the input's ("1e15" is written in 16 digits), so
        // a long input may not fit one line.
        assert!(
            data.len() > MAX_LINE / 16,
            "{} values in {} bytes do not encode",
            values.len(),
            data.len()
        );
        return;
    };
    let (header_again, values_again) = decode(&first).unwrap_or_else(|e| {
        panic!(
            "ValuesWriter wrote a line decode_values refuses ({e:?}): {}",
            String::from_utf8_lossy(&first)
        )
    });
    assert_eq!(header_again, header, "the header changed");
    assert_eq!(
        values_again.len(),
        values.len(),
        "the number of values changed"
    );
    for (i, (a, b)) in values.iter().zip(&values_again).enumerate() {
        assert!(
            same(*a, *b),
            "value {i} was {a:?} ({:#x}), read back {b:?} ({:#x}): {}",
            a.to_bits(),
            b.to_bits(),
            String::from_utf8_lossy(&first)
        );
    }
    let second = encode(&header_again, &values_again).expect("it encoded once");
    assert_eq!(
        second,
        first,
        "encoding is not a fixed point: {} then {}",
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second)
    );
    // Left out against a line with every third value changed, and read back on it.
    let before: Vec<f64> = values_again
        .iter()
        .enumerate()
        .map(|(i, v)| if i % 3 == 0 { v + 1.0 } else { *v })
        .collect();
    if let Some(previous) = encode(&ValuesHeader { seq: 1, ..header }, &before) {
        let mut previous = previous;
        previous.push(b'\n');
        let mut whole = first.clone();
        whole.push(b'\n');
        let mut out = vec![0u8; whole.len()];
        if let Some(n) = delta(&previous, &whole, &mut out) {
            assert!(n < whole.len(), "a delta no shorter than the line");
            let before_read = decode(&previous[..previous.len() - 1]).unwrap().1;
            let read = apply(&before_read, &out[..n - 1]);
            assert_eq!(read.len(), values_again.len());
            for (a, b) in values_again.iter().zip(&read) {
                assert_eq!(a.to_bits(), b.to_bits(), "{}", String::from_utf8_lossy(&out[..n]));
            }
        }
    }
    // What ValuesWriter writes is read back to exactly the same bits, even a zero's sign.
    for (a, b) in values_again.iter().zip(&decode(&second).unwrap().1) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
});
