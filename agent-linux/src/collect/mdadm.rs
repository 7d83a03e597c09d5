//! Software RAID arrays, `/proc/mdstat`, as node_exporter's mdadm collector reads it (through
//! procfs 0.8's parser, whose rules are kept here, odd ones included, so that the numbers are
//! node_exporter's): each array's state, its disks active, failed and spare, the disks it
//! needs, and its blocks and those synced.
//!
//! A file node_exporter cannot parse gives it no `node_md_*` series at all; the same here.

use std::path::Path;

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::proc_file::ProcFile;

/// The states `node_md_state` has a series for, each with the parser's word for it.
const STATES: [(&str, &str); 5] = [
    ("active", "active"),
    ("inactive", "inactive"),
    ("recovering", "recovering"),
    ("resync", "resyncing"),
    ("check", "checking"),
];

/// One array, as the parser reads it.
#[derive(Debug, Clone, PartialEq)]
struct Array {
    name: String,
    /// `active`, `inactive` or what the device line says, then `recovering`, `resyncing` or
    /// `checking` while the array syncs.
    state: String,
    active: i64,
    total: i64,
    failed: i64,
    spare: i64,
    blocks: i64,
    synced: i64,
}

/// Reads `proc/mdstat` under the root each sample.
#[derive(Debug)]
pub(super) struct MdadmCollector {
    file: ProcFile,
    buf: Vec<u8>,
    arrays: Vec<Array>,
}

impl MdadmCollector {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            file: ProcFile::new(root.join("proc/mdstat")),
            buf: Vec::new(),
            arrays: Vec::new(),
        }
    }
}

impl Families for MdadmCollector {
    fn collect(&mut self) {
        self.arrays = match self.file.read(&mut self.buf) {
            Some(text) => parse(&text).unwrap_or_default(),
            None => Vec::new(),
        };
    }

    fn series(&self, out: &mut dyn Series) {
        for md in &self.arrays {
            let device = md.name.as_str();
            out.add(f::MD_DISKS_REQUIRED, &[device], md.total as f64);
            for (state, count) in [
                ("active", md.active),
                ("failed", md.failed),
                ("spare", md.spare),
            ] {
                out.add(f::MD_DISKS, &[device, state], count as f64);
            }
            for (state, word) in STATES {
                let on = if md.state == word { 1.0 } else { 0.0 };
                out.add(f::MD_STATE, &[device, state], on);
            }
            out.add(f::MD_BLOCKS, &[device], md.blocks as f64);
            out.add(f::MD_BLOCKS_SYNCED, &[device], md.synced as f64);
        }
    }
}

/// The arrays of a `/proc/mdstat`; `None` where the parser gives up on the whole file.
fn parse(text: &str) -> Option<Vec<Array>> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut arrays = Vec::new();
    for (i, &line) in lines.iter().enumerate() {
        if line.trim().is_empty()
            || line.starts_with(' ')
            || line.starts_with("Personalities")
            || line.starts_with("unused")
        {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (&name, &state) = (fields.first()?, fields.get(2)?);
        // An array takes its line and three more, the last one possibly empty.
        if lines.len() <= i + 3 {
            return None;
        }
        let (active, total, blocks) = status(line, lines.get(i + 1)?)?;
        let sync_line = match lines.get(i + 2)? {
            l if l.contains("bitmap") => lines.get(i + 3)?,
            l => l,
        };
        let mut state = state.to_owned();
        let mut synced = blocks;
        let (recovering, resyncing, checking) = (
            sync_line.contains("recovery"),
            sync_line.contains("resync"),
            sync_line.contains("check"),
        );
        if recovering || resyncing || checking {
            state = if recovering {
                "recovering"
            } else if checking {
                "checking"
            } else {
                "resyncing"
            }
            .to_owned();
            synced = if sync_line.contains("PENDING") || sync_line.contains("DELAYED") {
                0
            } else {
                recovery(sync_line)?
            };
        }
        arrays.push(Array {
            name: name.to_owned(),
            state,
            active,
            total,
            failed: line.matches("(F)").count() as i64,
            spare: line.matches("(S)").count() as i64,
            blocks,
            synced,
        });
    }
    Some(arrays)
}

/// The disks active and required, and the blocks, from an array's device and status lines.
fn status(device_line: &str, status_line: &str) -> Option<(i64, i64, i64)> {
    let blocks: i64 = status_line.split_whitespace().next()?.parse().ok()?;
    // Striped and linear arrays have no redundancy line: every member counts.
    if device_line.contains("raid0") || device_line.contains("linear") {
        let members = device_line.matches('[').count() as i64;
        return Some((members, members, blocks));
    }
    if device_line.contains("inactive") {
        return Some((0, 0, blocks));
    }
    // `<n> blocks ... [<total>/<active>] [U_...]`, the last such brackets on the line.
    let after = status_line.find(" blocks ").filter(|&at| {
        status_line[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_digit())
    })?;
    let rest = &status_line[after..];
    let (active, total) = rest
        .match_indices('[')
        .rev()
        .find_map(|(at, _)| redundancy(&rest[at..]))?;
    Some((active, total, blocks))
}

/// `[<total>/<active>] [U_...]` at the start of `text`: the active and total disks.
fn redundancy(text: &str) -> Option<(i64, i64)> {
    let inner = text.strip_prefix('[')?;
    let (total, inner) = inner.split_once('/')?;
    let (active, inner) = inner.split_once(']')?;
    let disks = inner.strip_prefix(" [")?;
    let end = disks.find(']')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let map = disks.get(..end)?;
    if !digits(total)
        || !digits(active)
        || map.is_empty()
        || !map.bytes().all(|b| b == b'U' || b == b'_')
    {
        return None;
    }
    Some((active.parse().ok()?, total.parse().ok()?))
}

/// The blocks synced of a `recovery`, `resync` or `check` line; `None` (the whole file given
/// up) unless the line also has its percentage, finish time and speed, as procfs requires.
fn recovery(line: &str) -> Option<i64> {
    // `(<synced>/<total>)`: the first parenthesis that holds digits, a slash and digits.
    let synced = line.match_indices('(').find_map(|(at, _)| {
        let inner = &line[at + 1..];
        let (synced, rest) = inner.split_once('/')?;
        let end = rest.find(')')?;
        let total = &rest[..end];
        (!synced.is_empty()
            && synced.bytes().all(|b| b.is_ascii_digit())
            && !total.is_empty()
            && total.bytes().all(|b| b.is_ascii_digit()))
        .then(|| synced.parse::<i64>().ok())
        .flatten()
    })?;
    // `= <percent>%`, `finish=<minutes>min` and `speed=<n><unit>`, each up to the last of its
    // terminator on the line (the parser's patterns are greedy).
    let between = |start: &str, end: &str| -> Option<f64> {
        let from = line.find(start)? + start.len();
        let to = line.rfind(end).filter(|&to| to > from)?;
        line[from..to].trim().parse().ok()
    };
    between("= ", "%")?;
    between("finish=", "min")?;
    let from = line.find("speed=")? + "speed=".len();
    let to = line[from..]
        .char_indices()
        .rev()
        .find(|(i, c)| *i > 0 && c.is_ascii_uppercase())
        .map(|(i, _)| from + i)?;
    line[from..to].parse::<f64>().ok()?;
    Some(synced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/mdadm");
        std::fs::read_to_string(root.join("proc/mdstat")).unwrap()
    }

    fn array(name: &str, state: &str, disks: [i64; 4], blocks: i64, synced: i64) -> Array {
        let [active, total, failed, spare] = disks;
        Array {
            name: name.into(),
            state: state.into(),
            active,
            total,
            failed,
            spare,
            blocks,
            synced,
        }
    }

    #[test]
    fn every_kind_of_array_in_the_fixture() {
        let arrays = parse(&fixture()).unwrap();
        assert_eq!(
            arrays,
            [
                array("md0", "active", [2, 2, 0, 0], 1046528, 1046528),
                array("md1", "recovering", [2, 3, 1, 1], 585728000, 73801728),
                array("md2", "resyncing", [4, 4, 0, 0], 3906764800, 0),
                array("md3", "checking", [2, 2, 0, 0], 976630464, 312515520),
                array("md4", "resyncing", [2, 2, 0, 0], 104320, 20480),
                array("md127", "inactive", [0, 0, 0, 2], 3906764800, 3906764800),
                array("md5", "active", [3, 3, 0, 0], 2929893888, 2929893888),
                array("md6", "active", [2, 2, 0, 0], 5860270080, 5860270080),
                array(
                    "md7",
                    "active(auto-read-only)",
                    [1, 2, 0, 0],
                    8384448,
                    8384448
                ),
            ]
        );
    }

    #[test]
    fn what_the_parser_gives_up_on_gives_no_array() {
        // Too few lines after the last array.
        assert_eq!(
            parse("md0 : active raid1 sda1[0]\n      10 blocks [1/1] [U]"),
            None
        );
        // A status line without its redundancy.
        let text =
            "md0 : active raid1 sda1[0]\n      10 blocks super 1.2\n\nunused devices: <none>\n";
        assert_eq!(parse(text), None);
        // A recovery line without its speed.
        let text = "md0 : active raid1 sdb1[1] sda1[0]\n      10 blocks [2/1] [U_]\n      \
                    [>....]  recovery =  1.0% (1/10) finish=1.0min\n\nunused devices: <none>\n";
        assert_eq!(parse(text), None);
        assert_eq!(
            parse("Personalities : [raid1]\nunused devices: <none>\n"),
            Some(vec![])
        );
    }

    #[test]
    fn each_array_gives_node_exporters_series() {
        let mut collector = MdadmCollector {
            file: ProcFile::new("/nonexistent".into()),
            buf: Vec::new(),
            arrays: parse(&fixture()).unwrap()[..2].to_vec(),
        };
        let listed = super::super::families::listed::series(|out| collector.series(out));
        assert_eq!(listed.len(), 2 * 11);
        let of = |family: u16, labels: &[&str]| {
            listed
                .iter()
                .find(|(f, l, _)| *f == family && l == labels)
                .map(|(_, _, v)| *v)
        };
        assert_eq!(of(f::MD_STATE, &["md1", "recovering"]), Some(1.0));
        assert_eq!(of(f::MD_STATE, &["md1", "active"]), Some(0.0));
        assert_eq!(of(f::MD_DISKS, &["md1", "failed"]), Some(1.0));
        assert_eq!(of(f::MD_DISKS_REQUIRED, &["md1"]), Some(3.0));
        assert_eq!(of(f::MD_BLOCKS_SYNCED, &["md1"]), Some(73801728.0));
        collector.file = ProcFile::new("/nonexistent/mdstat".into());
        collector.collect();
        assert!(collector.arrays.is_empty(), "no file, no arrays");
    }
}
