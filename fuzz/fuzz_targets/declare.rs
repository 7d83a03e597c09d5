//! Protocol v2's `declare` line under arbitrary bytes, read by the wire reader and by the
//! server's `Declaration::read`. Checks: nothing panics; what the reader accepts holds only
//! what the catalogue and the rules of custom families allow (the agent's families, their label
//! count, custom families numbered in order that pass `custom::check`, a custom family's series
//! with its count of labels, label texts without a control character); `encode_declare` writes
//! the custom families and series it handed out as a line no longer than the input that reads
//! back to the same `g`, custom families and series, and that encodes again to the same bytes
//! (a fixed point); and the server's declaration agrees with the reader: it refuses exactly
//! where the reader refuses or a custom family's name or a series comes twice or a series past
//! `MAX_DECLARED_SERIES`, with that code, and otherwise holds the reader's `g` and count of
//! series.
#![no_main]

use std::collections::HashSet;

use agent_core::catalogue::custom::{self, CUSTOM_BASE, Custom};
use agent_core::catalogue::{FAMILIES, Kind, Series, Source, label_names};
use agent_core::sample::label_text_ok;
use agent_core::wire::{DecodeError, EncodeError, MAX_LINE, codes, decode_declare, encode_declare};
use libfuzzer_sys::fuzz_target;
use server::declaration::{Declaration, MAX_DECLARED_SERIES};

type Declared = Vec<(u16, Vec<String>)>;

/// A custom family as read: its number, name, type, help and label names.
type Owned = (u16, String, Kind, String, Vec<String>);

fn decode(line: &[u8]) -> (Result<u32, DecodeError>, Vec<Owned>, Declared) {
    let mut customs = Vec::new();
    let mut series = Vec::new();
    let g = decode_declare(
        line,
        |family, def| {
            let labels = def.labels.iter().map(|l| (*l).to_owned()).collect();
            customs.push((family, def.name.into(), def.kind, def.help.into(), labels));
            Ok(())
        },
        |family, labels| {
            series.push((family, labels.iter().map(|l| (*l).to_owned()).collect()));
            Ok(())
        },
    );
    (g, customs, series)
}

/// `encode_declare` of `customs` and `series`, without the newline; `None` when the line is
/// over `MAX_LINE`.
fn encode(g: u32, customs: &[Owned], series: &Declared) -> Option<Vec<u8>> {
    let texts = |texts: &mut dyn Iterator<Item = &String>| {
        16 + texts.map(|t| 2 * t.len() + 4).sum::<usize>()
    };
    let longest = series
        .iter()
        .map(|(_, labels)| texts(&mut labels.iter()))
        .chain(customs.iter().map(|(_, name, _, help, labels)| {
            16 + texts(&mut [name, help].into_iter().chain(labels))
        }))
        .sum::<usize>();
    let mut buf = vec![0u8; 16 * 1024 + 2 * longest];
    let mut each = |out: &mut dyn Series| {
        for (family, name, kind, help, labels) in customs {
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            let def = Custom {
                name,
                kind: *kind,
                help,
                labels: &labels,
            };
            out.custom(*family, &def);
        }
        for (family, labels) in series {
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            out.add(*family, &labels, 0.0);
        }
    };
    match encode_declare(g, &mut each, &mut buf) {
        Ok(n) => {
            assert_eq!(buf[n - 1], b'\n', "encode_declare's line ends in a newline");
            let line = &buf[..n - 1];
            assert!(line.len() <= MAX_LINE);
            assert!(!line.contains(&b'\n'), "a newline inside the line");
            Some(line.to_vec())
        }
        Err(EncodeError::LineTooLong) => None,
        Err(e) => panic!("encode_declare of {} series: {e:?}", series.len()),
    }
}

/// Where the server's reader, which refuses a custom family's name or a series twice or a
/// series past `MAX_DECLARED_SERIES`, stops on what the wire reader handed out (the custom
/// families first): that code, or `None`.
fn server_stops(customs: &[Owned], series: &Declared) -> Option<&'static str> {
    let mut names = HashSet::new();
    if !customs.iter().all(|c| names.insert(&c.1)) {
        return Some(codes::DUPLICATE_SERIES);
    }
    let mut seen = HashSet::new();
    for (i, entry) in series.iter().enumerate() {
        if i == MAX_DECLARED_SERIES {
            return Some(codes::TOO_MANY_SERIES);
        }
        if !seen.insert(entry) {
            return Some(codes::DUPLICATE_SERIES);
        }
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let (decoded, customs, series) = decode(data);

    // The server: the reader's answer, unless a name or series comes twice or one too many first.
    let server = Declaration::read(data);
    match (server_stops(&customs, &series), &decoded, &server) {
        (Some(code), _, Err(refused)) => assert_eq!(refused.code, code, "{refused:?}"),
        (None, Ok(g), Ok(declaration)) => {
            assert_eq!(declaration.g, *g);
            assert_eq!(declaration.len(), series.len());
            assert!(declaration.len() <= MAX_DECLARED_SERIES);
        }
        (None, Err(e), Err(refused)) => assert_eq!(refused.code, e.code(), "{refused:?}"),
        (stops, decoded, server) => panic!(
            "the wire reader says {decoded:?} (the server should stop at {stops:?}), \
             Declaration::read {server:?}"
        ),
    }

    let Ok(g) = decoded else {
        return;
    };
    // Only what the catalogue and the rules allow.
    for (i, (family, name, kind, help, labels)) in customs.iter().enumerate() {
        assert_eq!(usize::from(*family), usize::from(CUSTOM_BASE) + i);
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let def = Custom {
            name,
            kind: *kind,
            help,
            labels: &labels,
        };
        assert_eq!(custom::check(&def), Ok(()), "{def:?}");
    }
    for (family, labels) in &series {
        match family.checked_sub(CUSTOM_BASE) {
            Some(place) => {
                let (_, _, _, _, names) = &customs[usize::from(place)];
                assert_eq!(labels.len(), names.len());
            }
            None => {
                let known = FAMILIES
                    .get(usize::from(*family))
                    .expect("a family of the catalogue");
                assert_eq!(known.source, Source::Agent, "family {family}");
                assert_eq!(Some(labels.len()), label_names(*family).map(|l| l.len()));
            }
        }
        assert!(labels.iter().all(|l| label_text_ok(l)), "{labels:?}");
    }

    // Written again: no longer than what was read (the encoder leaves out unused families and
    // escapes only what must be), so it fits whenever the input did.
    let Some(first) = encode(g, &customs, &series) else {
        assert!(
            data.len() > MAX_LINE,
            "a declaration of {} bytes does not encode",
            data.len()
        );
        return;
    };
    assert!(
        first.len() <= data.len(),
        "encoded {} bytes from {}: {}",
        first.len(),
        data.len(),
        String::from_utf8_lossy(&first)
    );
    let (again, customs_again, series_again) = decode(&first);
    assert_eq!(
        again,
        Ok(g),
        "encode_declare wrote a line the reader refuses: {}",
        String::from_utf8_lossy(&first)
    );
    assert_eq!(
        customs_again, customs,
        "decode -> encode -> decode changed the custom families"
    );
    assert_eq!(
        series_again, series,
        "decode -> encode -> decode changed the series"
    );
    let second = encode(g, &customs_again, &series_again).expect("it encoded once");
    assert_eq!(second, first, "encoding is not a fixed point");

    // The server reads the written line as it read the input.
    let server_again = Declaration::read(&first);
    match (&server, &server_again) {
        (Ok(a), Ok(b)) => assert_eq!((a.g, a.len()), (b.g, b.len())),
        (Err(a), Err(b)) => assert_eq!(a.code, b.code),
        (a, b) => panic!("Declaration::read says {a:?} of the input, {b:?} of its encoding"),
    }
});
