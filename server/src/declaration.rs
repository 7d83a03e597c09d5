//! A v2 agent's declaration of its series, as the server keeps it for the connection: each
//! series' family and label values, in the order of the values that follow, and the identity
//! that tells the aggregator whether the labels it rendered still hold.
//!
//! The wire reader (`agent_core::wire::decode_declare`) checks the declaration against the
//! catalogue and the rules of custom families; this adds what needs memory: no series twice,
//! no custom family twice, and at most [`MAX_DECLARED_SERIES`] series, custom ones included.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_core::catalogue::custom::CUSTOM_BASE;
use agent_core::catalogue::{f, label_names};
use agent_core::wire::{self, DecodeError, codes};

use crate::exposition::{Builder, CustomDef, join_identity};

/// The most series one declaration may name: more than a v1 sample can hold (a 64-CPU host
/// with every collection full has about 1,000), and reachable within one line.
pub const MAX_DECLARED_SERIES: usize = 4096;

/// Tells declarations apart for as long as the server runs (see [`Declaration::key`]).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One declaration, shared by the session and the samples it hands on.
///
/// Its label texts are kept in one string, each series an entry of its family and where its
/// texts start (a family's number of labels is the catalogue's): a 4-CPU host's 130 series take
/// about 3 KB, where a string per label took 10 KB, and ten thousand agents hold one each.
#[derive(Debug, Default)]
pub struct Declaration {
    /// Its number within the agent's session: the `g` its values lines name.
    pub g: u32,
    /// Each series' family and the offset of its first label text in `texts`, in declared
    /// order.
    series: Vec<(u16, u32)>,
    /// Every label text, one after the other, and where each ends.
    texts: String,
    ends: Vec<u32>,
    /// The custom families, numbered from `CUSTOM_BASE` by place, with their label names.
    custom: Vec<(Arc<CustomDef>, Vec<String>)>,
    /// The identity the aggregator compares (see [`Builder::identity_joined`]): this
    /// declaration's number among all the server has read, so a few bytes, not every label.
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
    /// What the wire reader refuses, a series or a custom family named twice
    /// (`duplicate_series`), or more than [`MAX_DECLARED_SERIES`] series (`too_many_series`).
    pub fn read(line: &[u8]) -> Result<Self, Refused> {
        let mut out = Declaration::default();
        let mut seen: HashSet<(u16, Vec<String>)> = HashSet::new();
        let mut names: HashSet<String> = HashSet::new();
        let mut custom = Vec::new();
        let mut too_many = false;
        let custom_family = |_: u16, def: &agent_core::catalogue::custom::Custom<'_>| {
            if !names.insert(def.name.to_owned()) {
                return Err(DecodeError::DuplicateSeries("custom"));
            }
            let labels = def.labels.iter().map(|l| (*l).to_owned()).collect();
            let def = CustomDef {
                name: def.name.to_owned(),
                kind: def.kind,
                help: def.help.to_owned(),
            };
            custom.push((Arc::new(def), labels));
            Ok(())
        };
        let g = wire::decode_declare(line, custom_family, |family, labels| {
            if out.series.len() == MAX_DECLARED_SERIES {
                too_many = true;
                return Err(DecodeError::InvalidValue("series"));
            }
            if !seen.insert((family, labels.iter().map(|l| (*l).to_owned()).collect())) {
                return Err(DecodeError::DuplicateSeries("series"));
            }
            let start = u32::try_from(out.ends.len()).unwrap_or(u32::MAX);
            out.series.push((family, start));
            for label in labels {
                out.texts.push_str(label);
                out.ends
                    .push(u32::try_from(out.texts.len()).unwrap_or(u32::MAX));
            }
            Ok(())
        });
        out.g = match g {
            Ok(g) => g,
            Err(_) if too_many => {
                return Err(Refused {
                    code: codes::TOO_MANY_SERIES,
                    message: format!("a declaration may name at most {MAX_DECLARED_SERIES} series"),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        out.key = join_identity("declared", [itoa::Buffer::new().format(id)]);
        out.custom = custom;
        out.series.shrink_to_fit();
        out.texts.shrink_to_fit();
        out.ends.shrink_to_fit();
        Ok(out)
    }

    /// How many values each of its `values` lines carries.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether it names no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Finishes `flat`, which holds a values line's values, as the aggregator emits them: the
    /// declared series in order, then `node_time_seconds` from the line's `t`.
    pub fn finish(&self, flat: &mut Builder, t_ms: u64) {
        flat.identity_joined(&self.key);
        flat.extend_values(&[t_ms as f64 / 1000.0]);
    }

    /// Adds the series with their labels to `b`, with the values `finish` made (`flat`).
    pub fn series(&self, b: &mut Builder, flat: &[f64]) {
        b.identity_joined(&self.key);
        for (def, labels) in &self.custom {
            b.custom(def, labels);
        }
        let mut values = flat.iter().copied();
        let mut labels: Vec<&str> = Vec::new();
        for &(family, start) in &self.series {
            let count = match family.checked_sub(CUSTOM_BASE) {
                Some(place) => self.custom.get(usize::from(place)).map_or(0, |c| c.1.len()),
                None => label_names(family).map_or(0, |l| l.len()),
            };
            labels.clear();
            for i in start as usize..start as usize + count {
                let from = match i.checked_sub(1) {
                    Some(before) => self.ends.get(before).copied().unwrap_or(0) as usize,
                    None => 0,
                };
                let to = self.ends.get(i).copied().unwrap_or(0) as usize;
                labels.push(self.texts.get(from..to).unwrap_or_default());
            }
            b.add(
                usize::from(family),
                &labels,
                values.next().unwrap_or(f64::NAN),
            );
        }
        b.add(usize::from(f::TIME), &[], values.next().unwrap_or(f64::NAN));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::catalogue::Kind;

    fn read(custom: &str, series: &str) -> Result<Declaration, &'static str> {
        let line = format!(
            r#"{{"v":2,"kind":"declare","g":1,"families":[[1]],"custom":[{custom}],"series":[{series}]}}"#
        );
        Declaration::read(line.as_bytes()).map_err(|r| r.code)
    }

    #[test]
    fn custom_families_are_held_and_refused_as_the_wire_says() {
        let ok = read(
            r#"[32768,"a","gauge","A.","x"],[32769,"b","counter","B."]"#,
            r#"[1],[32768,"p"],[32768,"q"],[32769]"#,
        )
        .unwrap();
        assert_eq!(ok.len(), 4);
        assert_eq!(ok.custom.len(), 2);
        assert_eq!(
            (ok.custom[1].0.name.as_str(), ok.custom[1].0.kind),
            ("b", Kind::Counter)
        );
        for (custom, series, code) in [
            (
                r#"[32768,"a","gauge",""],[32769,"a","counter",""]"#,
                "",
                codes::DUPLICATE_SERIES,
            ),
            (
                r#"[32768,"a","gauge","","x"]"#,
                r#"[32768,"p"],[32768,"p"]"#,
                codes::DUPLICATE_SERIES,
            ),
            (
                r#"[32768,"node_load1","gauge",""]"#,
                "",
                codes::UNKNOWN_FAMILY,
            ),
            (r#"[32768,"a","gauge","","job"]"#, "", codes::WRONG_LABELS),
            (
                r#"[32768,"a","gauge","","x"]"#,
                "[32768]",
                codes::WRONG_LABELS,
            ),
            (r#"[32768,"a","gauge","\u0007"]"#, "", codes::BAD_LABEL),
            (r#"[32768,"a","summary",""]"#, "", codes::INVALID_VALUE),
        ] {
            assert_eq!(
                read(custom, series).map(|_| ()),
                Err(code),
                "{custom} {series}"
            );
        }
        // Custom series count against the bound as any.
        let many: Vec<String> = (0..MAX_DECLARED_SERIES)
            .map(|i| format!(r#"[32768,"{i}"]"#))
            .collect();
        let many = many.join(",");
        assert!(read(r#"[32768,"a","gauge","","x"]"#, &many).is_ok());
        assert_eq!(
            read(r#"[32768,"a","gauge","","x"]"#, &format!("[1],{many}")).map(|_| ()),
            Err(codes::TOO_MANY_SERIES),
            "one more than the bound with node_load1"
        );
    }
}
