//! A v2 agent's declaration of its series, as the server keeps it for the connection: each
//! series' family and label values, in the order of the values that follow, and the identity
//! that tells the aggregator whether the labels it rendered still hold.
//!
//! The wire reader (`agent_core::wire::decode_declare`) checks the declaration against the
//! catalogue; this adds what needs memory: no series twice, and at most
//! [`MAX_DECLARED_SERIES`] of them.

use std::collections::HashSet;

use agent_core::catalogue::f;
use agent_core::wire::{self, DecodeError, codes};

use crate::exposition::{Builder, join_identity};

/// The most series one declaration may name: more than a v1 sample can hold (a 64-CPU host
/// with every collection full has about 1,000), and reachable within one line.
pub const MAX_DECLARED_SERIES: usize = 4096;

/// One declaration, shared by the session and the samples it hands on.
#[derive(Debug, Default)]
pub struct Declaration {
    /// Its number within the agent's session: the `g` its values lines name.
    pub g: u32,
    /// Each series' family and label values, in declared order.
    series: Vec<(u16, Box<[Box<str>]>)>,
    /// The identity parts of every label text, joined (see [`Builder::identity_joined`]).
    key: Vec<u8>,
}

/// Why a declaration is refused: an error code and a message for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The code.
    pub code: &'static str,
    /// What it says.
    pub message: String,
}

impl From<DecodeError> for Refused {
    fn from(error: DecodeError) -> Self {
        Refused {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

impl Declaration {
    /// Reads a `declare` line (without its newline).
    ///
    /// # Errors
    /// What the wire reader refuses, a series named twice (`duplicate_series`), or more than
    /// [`MAX_DECLARED_SERIES`] (`too_many_series`).
    pub fn read(line: &[u8]) -> Result<Self, Refused> {
        let mut series: Vec<(u16, Box<[Box<str>]>)> = Vec::new();
        let mut seen: HashSet<(u16, Box<[Box<str>]>)> = HashSet::new();
        let mut too_many = false;
        let g = wire::decode_declare(line, |family, labels| {
            if series.len() == MAX_DECLARED_SERIES {
                too_many = true;
                return Err(DecodeError::InvalidValue("series"));
            }
            let entry: (u16, Box<[Box<str>]>) =
                (family, labels.iter().map(|&l| l.into()).collect());
            if !seen.insert(entry.clone()) {
                return Err(DecodeError::DuplicateSeries("series"));
            }
            series.push(entry);
            Ok(())
        });
        let g = match g {
            Ok(g) => g,
            Err(_) if too_many => {
                return Err(Refused {
                    code: codes::TOO_MANY_SERIES,
                    message: format!("a declaration may name at most {MAX_DECLARED_SERIES} series"),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let mut family = itoa::Buffer::new();
        let mut parts: Vec<String> = Vec::new();
        for (id, labels) in &series {
            parts.push(family.format(*id).to_owned());
            parts.extend(labels.iter().map(|l| l.to_string()));
        }
        let key = join_identity("declared", parts.iter().map(String::as_str));
        Ok(Declaration { g, series, key })
    }

    /// How many values each of its `values` lines carries.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether it names no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Fills `flat` with a values line's values as the aggregator emits them: the declared
    /// series in order, then `node_time_seconds` from the line's `t`.
    pub fn flatten(&self, flat: &mut Builder, values: &[f64], t_ms: u64) {
        flat.start();
        flat.identity_joined(&self.key);
        flat.extend_values(values);
        flat.extend_values(&[t_ms as f64 / 1000.0]);
    }

    /// Adds the series with their labels to `b`, with the values `flatten` made (`flat`).
    pub fn series(&self, b: &mut Builder, flat: &[f64]) {
        b.identity_joined(&self.key);
        let mut values = flat.iter().copied();
        for (family, labels) in &self.series {
            let labels: Vec<&str> = labels.iter().map(|l| &**l).collect();
            b.add(
                usize::from(*family),
                &labels,
                values.next().unwrap_or(f64::NAN),
            );
        }
        b.add(usize::from(f::TIME), &[], values.next().unwrap_or(f64::NAN));
    }
}
