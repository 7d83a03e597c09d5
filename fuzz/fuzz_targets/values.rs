//! Protocol v2's `values` line under arbitrary bytes. Checks: nothing panics; what
//! `decode_values` accepts has `seq` from 1 and only finite values; `ValuesWriter` writes its
//! header and values as a line that reads back to the same header and the same values, bit for
//! bit (but the sign of a zero: `-0` is written `0`), and that writes again to the same bytes
//! (a fixed point); and an error the callback returns at any value ends the reading with that
//! error.
#![no_main]

use agent_core::wire::{
    DecodeError, EncodeError, MAX_LINE, ValuesHeader, ValuesWriter, decode_values,
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

fuzz_target!(|data: &[u8]| {
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
    // What ValuesWriter writes is read back to exactly the same bits, even a zero's sign.
    for (a, b) in values_again.iter().zip(&decode(&second).unwrap().1) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
});
