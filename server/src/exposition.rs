//! The per-agent series and their text exposition.
//!
//! Why not the `prometheus` crate's vectors for these: with thousands of agents of about 150
//! series each, `Registry::gather` builds a protobuf message with owned label pairs for every
//! series on every scrape (a million allocations and hundreds of megabytes at 10,000 agents), and
//! an agent's series would be updated one by one where a scrape can see half of them. Here each
//! agent's series are one immutable [`View`]: the label sets rendered once into a shared
//! [`Layout`], and the values in an array. The aggregator publishes a new view per sample by
//! swapping a pointer, so it never waits for a scrape and a scrape never sees half a sample; a
//! scrape writes the text straight from the views. The server's own health metrics stay in the
//! crate's [`prometheus::Registry`], whose exposition is appended.
//!
//! The families agents describe themselves ([`CustomDef`], a textfile's) come after the
//! catalogue's, by name: each family once, with the series of every agent that has it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use prometheus::proto::MetricFamily;
use prometheus::{Encoder, Registry, TextEncoder};
use rustc_hash::FxHasher;

use agent_core::catalogue::custom::CUSTOM_BASE;
pub use agent_core::catalogue::{Family as Def, Kind};

/// A family an agent describes itself (a textfile's, see `agent_core::catalogue::custom`): what
/// its `# HELP` and `# TYPE` lines say. Agents that declare one name share one, the first's
/// (see the aggregator's `custom.rs`), so that a scrape writes one help text and type for it.
#[derive(Debug, PartialEq, Eq)]
pub struct CustomDef {
    /// The metric name.
    pub name: String,
    /// Its type.
    pub kind: Kind,
    /// Its help text, as the agent gave it (escaped when written).
    pub help: String,
}

/// A custom family's series in a [`Layout`]: its definition and its range of series positions.
#[derive(Debug, Clone)]
pub struct CustomRange {
    /// The family.
    pub def: Arc<CustomDef>,
    /// Its series' positions.
    pub range: Range<usize>,
}

/// The label sets of one agent's series, rendered, grouped by family.
#[derive(Debug, Default)]
pub struct Layout {
    /// What identifies these series (the identity parts of [`Builder::identity`], in emission
    /// order), to tell whether the next sample has the same ones.
    pub key: Vec<u8>,
    /// For each family (index into the family table), its range of series positions.
    pub ranges: Vec<Range<usize>>,
    /// Every series' line up to its value, `name{instance="a",cpu="0",mode="user"} `,
    /// grouped by family, in one string: a scrape copies them from one place rather than
    /// chasing a pointer per series.
    pub text: String,
    /// Each series' place in `text` and among the values, by series position.
    pub lines: Vec<Line>,
    /// The custom families and their ranges of series positions (after the catalogue's), in
    /// declared order. A family the aggregator leaves out (another agent declared its name with
    /// another type) is not here, and its series are not written.
    pub custom: Vec<CustomRange>,
}

/// One series of a [`Layout`]: where its text starts (it ends where the next one starts, or
/// at the end of the text) and the index of its value in emission order. Both in one small
/// entry, so that a scrape reads one vector for them, and 8 bytes a series rather than 16.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Line {
    /// Offset of its text.
    pub start: u32,
    /// Index of its value.
    pub value: u32,
}

impl Line {
    /// Its value's index, as an index.
    pub fn value_index(self) -> Option<usize> {
        usize::try_from(self.value).ok()
    }
}

impl Layout {
    /// Series position `i`'s index among the values.
    pub fn value_index(&self, i: usize) -> Option<usize> {
        self.lines.get(i)?.value_index()
    }

    /// Series position `i`'s line up to its value, `name{instance="a",cpu="0"} `.
    pub fn prefix(&self, i: usize) -> Option<&str> {
        self.text.get(line_span(&self.lines, self.text.len(), i)?)
    }
}

/// Where series position `i`'s line up to its value lies in a layout's text of `text_len`
/// bytes: from its start to the next one's, or to the end.
fn line_span(lines: &[Line], text_len: usize, i: usize) -> Option<Range<usize>> {
    let start = usize::try_from(lines.get(i)?.start).ok()?;
    let end = match lines.get(i + 1) {
        Some(next) => usize::try_from(next.start).ok()?,
        None => text_len,
    };
    Some(start..end)
}

/// One agent's series at one moment: what a scrape sees, never half of one update.
#[derive(Debug, Default, Clone)]
pub struct View {
    /// The label sets.
    pub layout: Arc<Layout>,
    /// The values in emission order, as the aggregator writes them from a sample: series `i`
    /// of the layout has the value its [`Line::value`] says.
    pub values: Vec<f64>,
}

impl View {
    /// The value of series position `i`.
    pub fn value(&self, i: usize) -> Option<f64> {
        Parts::of(self).value(i)
    }

    /// Series position `i`'s line up to its value, `name{instance="a",cpu="0"} `.
    pub fn prefix(&self, i: usize) -> Option<&str> {
        self.layout.prefix(i)
    }
}

/// One agent's current view, updated by the aggregator and read by scrapes.
///
/// A scrape holds the lock only to take a reference to the view. The aggregator writes the new
/// values into the view in place when no scrape holds it (the common case: no allocation per
/// sample), and otherwise makes a new one, which the scrape in progress does not see.
#[derive(Debug, Default)]
pub struct Slot {
    view: Mutex<Arc<View>>,
    /// What the status page shows of the agent beside its series.
    pub status: crate::facts::Status,
}

impl Slot {
    /// The current view.
    pub fn get(&self) -> Arc<View> {
        self.view
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Publishes `values` (in emission order) with `layout`.
    pub fn publish(&self, layout: &Arc<Layout>, values: &[f64]) {
        self.publish_parts(layout, [values]);
    }

    /// Publishes the values of `parts`, one after the other (in emission order), with
    /// `layout`: as [`publish`](Slot::publish), without first joining them elsewhere.
    pub fn publish_parts<const N: usize>(&self, layout: &Arc<Layout>, parts: [&[f64]; N]) {
        let mut view = self.view.lock().unwrap_or_else(PoisonError::into_inner);
        let fill = |values: &mut Vec<f64>| {
            values.clear();
            for part in parts {
                values.extend_from_slice(part);
            }
        };
        if let Some(view) = Arc::get_mut(&mut view) {
            if !Arc::ptr_eq(&view.layout, layout) {
                view.layout = layout.clone();
            }
            fill(&mut view.values);
        } else {
            let mut values = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
            fill(&mut values);
            *view = Arc::new(View {
                layout: layout.clone(),
                values,
            });
        }
    }

    /// Writes `parts` into the view with `layout` in place, each part's values from its
    /// emission index on, leaving the others; false, and nothing written, when the view has
    /// another layout (publish it whole then).
    pub fn patch(
        &self,
        layout: &Arc<Layout>,
        parts: &[(usize, &[f64])],
        changes: (usize, &[(u32, f64)]),
    ) -> bool {
        let mut view = self.view.lock().unwrap_or_else(PoisonError::into_inner);
        if !Arc::ptr_eq(&view.layout, layout) {
            return false;
        }
        // A scrape holding the view keeps it; the aggregator writes a copy.
        let values = &mut Arc::make_mut(&mut view).values;
        for &(from, part) in parts {
            if let Some(room) = values.get_mut(from..from + part.len()) {
                room.copy_from_slice(part);
            }
        }
        let (from, changes) = changes;
        for &(at, value) in changes {
            if let Some(v) = values.get_mut(from + at as usize) {
                *v = value;
            }
        }
        true
    }

    /// Changes the value at emission index `at`, leaving the others.
    pub fn set_value(&self, at: usize, value: f64) {
        let mut view = self.view.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = Arc::make_mut(&mut view).values.get_mut(at) {
            *v = value;
        }
    }
}

/// What the aggregator publishes for scrapes.
#[derive(Debug)]
pub struct Published {
    /// The family table.
    pub defs: &'static [Def],
    /// Every agent's slot, in a stable order; replaced when agents come or go.
    pub agents: RwLock<Arc<Vec<Arc<Slot>>>>,
    /// The server's own metrics.
    pub registry: Registry,
}

impl Published {
    /// The exposition in Prometheus text format (version 0.0.4).
    pub fn render(&self) -> Vec<u8> {
        let mut all = Vec::new();
        self.render_with(usize::MAX, |chunk| all = chunk);
        all
    }

    /// The exposition in pieces of about [`CHUNK`] bytes, in order, so that a consumer (gzip)
    /// can work on one piece on another core while the next is written.
    pub fn render_chunks(&self, emit: impl FnMut(Vec<u8>)) {
        self.render_with(CHUNK, emit);
    }

    fn render_with(&self, chunk: usize, mut emit: impl FnMut(Vec<u8>)) {
        let agents = self
            .agents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let views: Vec<Arc<View>> = agents.iter().map(|slot| slot.get()).collect();
        // The parts of each view that a scrape reads, side by side, so that a visit to an agent
        // starts loads it can issue at once rather than a chain (view, layout, then each of its
        // vectors). Text is copied as bytes: every piece is whole UTF-8, and checking each cut
        // for a character boundary costs a read per series.
        let parts: Vec<Parts<'_>> = views.iter().map(|v| Parts::of(v)).collect();
        // The server's own metrics; a family the agents have too (`process_*`, each agent's own
        // and the server's) goes in the agents' block, as one family may appear only once.
        let mut own = self.registry.gather();
        let series: usize = views.iter().map(|v| v.values.len()).sum();
        let capacity = (series * 80 + 16 * 1024).min(chunk.saturating_add(64 * 1024));
        let mut out = Vec::with_capacity(capacity);
        // A family's series are written together, agent after agent; taken one family at a
        // time over 10,000 agents, each agent's piece of it is a cache (and TLB) miss, since its
        // pieces of the other families lie beside it in memory but are visited 10,000 agents
        // later. So a few families are written at once, into a text each, for a few agents at a
        // time: each agent's pieces of those families are read one after the other.
        let mut bodies: Vec<Vec<u8>> = Vec::new();
        for first in (0..self.defs.len()).step_by(FAMILIES_AT_ONCE) {
            let group = first..(first + FAMILIES_AT_ONCE).min(self.defs.len());
            bodies.resize_with(group.len(), Vec::new);
            bodies.iter_mut().for_each(Vec::clear);
            for block in parts.chunks(AGENTS_AT_ONCE) {
                for (family, body) in group.clone().zip(bodies.iter_mut()) {
                    for p in block {
                        let Some(span) = p.ranges.get(family) else {
                            continue;
                        };
                        for i in span.clone() {
                            let (Some(prefix), Some(value)) = (p.prefix(i), p.value(i)) else {
                                continue;
                            };
                            body.extend_from_slice(prefix);
                            push_value(body, value);
                            body.push(b'\n');
                        }
                    }
                }
            }
            let defs = self.defs.get(group).unwrap_or_default();
            for (def, body) in defs.iter().zip(&bodies) {
                if body.is_empty() {
                    continue;
                }
                let kind = def.kind.as_str();
                out.extend_from_slice(
                    format!(
                        "# HELP {} {}\n# TYPE {} {kind}\n",
                        def.name, def.help, def.name
                    )
                    .as_bytes(),
                );
                for piece in body.chunks(chunk) {
                    out.extend_from_slice(piece);
                    if out.len() >= chunk {
                        emit(std::mem::replace(&mut out, Vec::with_capacity(capacity)));
                    }
                }
                if let Some(at) = own.iter().position(|f| f.name() == def.name) {
                    push_series_of(&own.remove(at), &mut out);
                }
            }
        }
        // The custom families by name, each with the agents that have it in their order: the
        // first one's help and type are the family's, and an agent's series of another type
        // (which the aggregator leaves out as it takes their layout) are never written.
        let mut custom: BTreeMap<&str, Vec<(&Parts<'_>, &CustomRange)>> = BTreeMap::new();
        for p in &parts {
            for c in p.custom {
                custom.entry(c.def.name.as_str()).or_default().push((p, c));
            }
        }
        for (name, agents) in custom {
            let Some((_, first)) = agents.first() else {
                continue;
            };
            let kind = first.def.kind;
            out.extend_from_slice(b"# HELP ");
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            push_help(&mut out, &first.def.help);
            out.extend_from_slice(format!("\n# TYPE {name} {}\n", kind.as_str()).as_bytes());
            for (p, c) in agents.iter().filter(|(_, c)| c.def.kind == kind) {
                for i in c.range.clone() {
                    let (Some(prefix), Some(value)) = (p.prefix(i), p.value(i)) else {
                        continue;
                    };
                    out.extend_from_slice(prefix);
                    push_value(&mut out, value);
                    out.push(b'\n');
                }
            }
            if out.len() >= chunk {
                emit(std::mem::replace(&mut out, Vec::with_capacity(capacity)));
            }
        }
        // Encoding our own well-formed families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&own, &mut out);
        emit(out);
    }
}

/// The series lines of one of the server's own families, without its `# HELP` and `# TYPE`.
fn push_series_of(family: &MetricFamily, out: &mut Vec<u8>) {
    let mut text = Vec::new();
    let _ = TextEncoder::new().encode(std::slice::from_ref(family), &mut text);
    for line in text.split_inclusive(|&b| b == b'\n') {
        if !line.starts_with(b"#") {
            out.extend_from_slice(line);
        }
    }
}

/// What a scrape reads of one view, with the layout's vectors reached directly.
struct Parts<'a> {
    ranges: &'a [Range<usize>],
    custom: &'a [CustomRange],
    text: &'a [u8],
    lines: &'a [Line],
    values: &'a [f64],
}

impl<'a> Parts<'a> {
    fn of(view: &'a View) -> Self {
        let layout = &*view.layout;
        Parts {
            ranges: &layout.ranges,
            custom: &layout.custom,
            text: layout.text.as_bytes(),
            lines: &layout.lines,
            values: &view.values,
        }
    }

    /// Series `i`'s line up to its value.
    fn prefix(&self, i: usize) -> Option<&'a [u8]> {
        self.text.get(line_span(self.lines, self.text.len(), i)?)
    }

    /// The value of series position `i`.
    fn value(&self, i: usize) -> Option<f64> {
        self.values.get(self.lines.get(i)?.value_index()?).copied()
    }
}

/// Families a scrape writes at once, and agents at a time (see [`Published::render_chunks`]):
/// the pieces of the families of the agents at hand stay in cache while they are read.
const FAMILIES_AT_ONCE: usize = 16;
const AGENTS_AT_ONCE: usize = 64;

/// About how much text [`Published::render_chunks`] hands on at a time.
pub const CHUNK: usize = 1 << 20;

/// Writes a sample value as the text format wants it.
fn push_value(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v.abs() < 9.007_199_254_740_992e15 && v == (v as i64) as f64 {
        // Whole numbers (bytes, counts) without a fraction, exactly.
        push_integer(out, v as i64);
    } else {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    }
}

/// Writes a whole number in decimal, without the formatting machinery: most values are whole,
/// and a scrape writes a million of them.
fn push_integer(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends `value` to `out` escaped as a label value (`\`, `"` and newline).
pub fn push_label_value(out: &mut String, value: &str) {
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
}

/// Appends a help text as the text format's `# HELP` line wants it: `\` and a newline escaped.
fn push_help(out: &mut Vec<u8>, help: &str) {
    for &b in help.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            other => out.push(other),
        }
    }
}

/// A section and its identity parts joined as [`Builder::section`] and [`Builder::identity`]
/// add them, for [`Builder::identity_joined`].
pub fn join_identity<'a>(section: &str, parts: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut joined = Vec::new();
    push_token(&mut joined, SECTION, section);
    for part in parts {
        push_token(&mut joined, PART, part);
    }
    joined
}

/// The tag of an identity token that a label text gave (see [`push_token`]).
const PART: u8 = 0;
/// The tag of an identity token that the server's own code gave.
const SECTION: u8 = 1;

/// Appends one identity token: its tag, its length (LEB128) and its bytes. Every token says
/// where it ends, and no label text can pass for a section, so a key reads back as one sequence
/// of sections and parts: two different label sets never share a key, whatever their texts
/// (joined with a separator, a NUL moved from one text to the next would give the same key).
fn push_token(key: &mut Vec<u8>, tag: u8, text: &str) {
    key.push(tag);
    let mut len = text.len();
    while len >= 0x80 {
        key.push((len & 0x7f) as u8 | 0x80);
        len >>= 7;
    }
    key.push(len as u8);
    key.extend_from_slice(text.as_bytes());
}

/// A sample's series go straight into the builder: [`Sample::series`] is the one mapping.
///
/// [`Sample::series`]: agent_core::sample::Sample::series
impl agent_core::catalogue::Series for Builder {
    fn section(&mut self, name: &str) {
        Builder::section(self, name);
    }

    fn identity(&mut self, part: &str) {
        Builder::identity(self, part);
    }

    #[inline]
    fn add(&mut self, family: u16, labels: &[&str], value: f64) {
        Builder::add(self, usize::from(family), labels, value);
    }
}

/// Collects one agent's series in the order a sample yields them, then builds its [`View`],
/// reusing the previous [`Layout`] when the series are the same ones.
#[derive(Debug, Default)]
pub struct Builder {
    key: Vec<u8>,
    values: Vec<f64>,
    /// Family and label values of each series, kept only while a layout is being rebuilt.
    series: Vec<(usize, Vec<String>)>,
    /// The custom families and their label names, numbered from [`CUSTOM_BASE`] by place,
    /// kept only while a layout is being rebuilt.
    custom: Vec<(Arc<CustomDef>, Vec<String>)>,
    rebuilding: bool,
}

impl Builder {
    /// Starts a new set of series.
    pub fn start(&mut self) {
        self.key.clear();
        self.values.clear();
        self.series.clear();
        self.custom.clear();
        self.rebuilding = false;
    }

    /// Adds a custom family, with its label names, for the series that follow to name by its
    /// number: the first [`CUSTOM_BASE`], each next one the number after. Its identity is the
    /// caller's to add.
    pub fn custom(&mut self, def: &Arc<CustomDef>, labels: &[String]) {
        if self.rebuilding {
            self.custom.push((def.clone(), labels.to_vec()));
        }
    }

    /// Adds what identifies the series that follow (a CPU number, a mount's labels, ...): the
    /// caller adds every string that ends up in a label, so that equal identities mean equal
    /// label sets and the layout can be reused without comparing every series.
    pub fn identity(&mut self, part: &str) {
        push_token(&mut self.key, PART, part);
    }

    /// Starts a section of the identity (the CPUs, the filesystems, ...): what the series that
    /// follow are, where [`identity`](Builder::identity) says which ones. A section cannot be
    /// confused with a part, whatever the part's text.
    pub fn section(&mut self, name: &str) {
        push_token(&mut self.key, SECTION, name);
    }

    /// Adds a section and its parts joined beforehand by [`join_identity`], as if each had
    /// been added with [`section`](Builder::section) and [`identity`](Builder::identity).
    pub fn identity_joined(&mut self, joined: &[u8]) {
        self.key.extend_from_slice(joined);
    }

    /// Adds the series of `family` with `labels` (the values of the family's labels after
    /// `agent`, in order). Its labels must follow from the [`identity`](Builder::identity)
    /// parts added so far.
    #[inline]
    pub fn add(&mut self, family: usize, labels: &[&str], value: f64) {
        self.values.push(value);
        if self.rebuilding {
            self.record(family, labels);
        }
    }

    /// As [`add`](Builder::add), with labels that are made only while a layout is rebuilt:
    /// for labels whose texts are scattered over memory that a sample need not touch.
    #[inline]
    pub fn add_labelled<'a, const N: usize>(
        &mut self,
        family: usize,
        labels: impl FnOnce() -> [&'a str; N],
        value: f64,
    ) {
        self.values.push(value);
        if self.rebuilding {
            self.record(family, &labels());
        }
    }

    /// Keeps a series' family and labels for the layout being rebuilt: out of line, so that
    /// [`add`](Builder::add), called for every value of every sample, stays a push.
    #[cold]
    #[inline(never)]
    fn record(&mut self, family: usize, labels: &[&str]) {
        self.series
            .push((family, labels.iter().map(|l| (*l).to_owned()).collect()));
    }

    /// A hash of the identity parts added since [`start`](Builder::start): equal identities
    /// hash alike, and different ones almost never do. FxHash, eight bytes a multiplication,
    /// as it runs for every sample; not for tables an adversary fills (a sender choosing a
    /// collision only hides the change of its own series, see `shared::Decoded`).
    pub fn identity_hash(&self) -> u64 {
        let mut h = FxHasher::default();
        self.key.hash(&mut h);
        h.finish()
    }

    /// The identity parts added since [`start`](Builder::start), as [`Layout::key`] keeps them.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// Whether the series added since [`start`](Builder::start) are those of `layout`.
    pub fn same_as(&self, layout: &Layout) -> bool {
        // A default layout (no families at all) is never the same as anything.
        !layout.ranges.is_empty() && self.key == layout.key
    }

    /// Call [`start`](Builder::start), then again the same `add`s, then this, to rebuild.
    pub fn start_rebuild(&mut self) {
        self.start();
        self.rebuilding = true;
    }

    /// Adds what `other` collected: its identity parts and values, as if its `identity`s and
    /// `add`s had been made here. Not while rebuilding, as `other` keeps no labels.
    pub fn append(&mut self, other: &Builder) {
        debug_assert!(!self.rebuilding && !other.rebuilding);
        self.key.extend_from_slice(&other.key);
        self.values.extend_from_slice(&other.values);
    }

    /// Adds values without labels, as [`append`](Builder::append) does: a v2 sample's, whose
    /// identity was added whole.
    pub fn extend_values(&mut self, values: &[f64]) {
        debug_assert!(!self.rebuilding);
        self.values.extend_from_slice(values);
    }

    /// Whether a layout is being rebuilt (see [`start_rebuild`](Builder::start_rebuild)).
    pub fn rebuilding(&self) -> bool {
        self.rebuilding
    }

    /// The values added, in emission order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The layout of the series added, which needs the `add`s to have followed
    /// [`start_rebuild`](Builder::start_rebuild).
    pub fn layout(&self, agent: &str, defs: &[Def]) -> Layout {
        let mut order: Vec<usize> = (0..self.series.len()).collect();
        order.sort_by_key(|&i| self.series.get(i).map_or(usize::MAX, |s| s.0));
        let mut ranges = vec![0..0; defs.len()];
        let mut custom: Vec<CustomRange> = Vec::new();
        let mut text = String::with_capacity(order.len() * 64);
        let mut lines = Vec::with_capacity(order.len());
        for (pos, &i) in order.iter().enumerate() {
            lines.push(Line {
                start: u32::try_from(text.len()).unwrap_or(u32::MAX),
                value: u32::try_from(i).unwrap_or(u32::MAX),
            });
            let Some((family, values)) = self.series.get(i) else {
                continue;
            };
            let (name, labels): (&str, &mut dyn Iterator<Item = &str>) =
                match family.checked_sub(usize::from(CUSTOM_BASE)) {
                    None => {
                        let Some(def) = defs.get(*family) else {
                            continue;
                        };
                        if let Some(range) = ranges.get_mut(*family) {
                            if range.start == range.end {
                                range.start = pos;
                            }
                            range.end = pos + 1;
                        }
                        (def.name, &mut def.labels.iter().copied())
                    }
                    Some(place) => {
                        let Some((def, labels)) = self.custom.get(place) else {
                            continue;
                        };
                        // Its series are together, in the order of the numbers.
                        match custom.last_mut() {
                            Some(last) if Arc::ptr_eq(&last.def, def) => last.range.end = pos + 1,
                            _ => custom.push(CustomRange {
                                def: def.clone(),
                                range: pos..pos + 1,
                            }),
                        }
                        (&def.name, &mut labels.iter().map(String::as_str))
                    }
                };
            text.push_str(name);
            text.push_str("{instance=\"");
            push_label_value(&mut text, agent);
            text.push('"');
            for (name, value) in labels.zip(values) {
                let _ = write!(text, ",{name}=\"");
                push_label_value(&mut text, value);
                text.push('"');
            }
            text.push_str("} ");
        }
        Layout {
            key: self.key.clone(),
            ranges,
            text,
            lines,
            custom,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFS: &[Def] = &[
        Def {
            name: "a_total",
            unit: "",
            help: "A.",
            kind: Kind::Counter,
            labels: &["x"],
            source: agent_core::catalogue::Source::Agent,
        },
        Def {
            name: "b",
            unit: "",
            help: "B.",
            kind: Kind::Gauge,
            labels: &[],
            source: agent_core::catalogue::Source::Agent,
        },
    ];

    fn build(b: &mut Builder, layout: &Arc<Layout>, xs: &[(&str, f64)], bval: f64) -> View {
        b.start();
        let add = |b: &mut Builder| {
            b.add(1, &[], bval);
            for (x, v) in xs {
                b.identity(x);
                b.add(0, &[x], *v);
            }
        };
        add(b);
        if !b.same_as(layout) {
            b.start_rebuild();
            add(b);
        }
        let layout = if b.same_as(layout) {
            layout.clone()
        } else {
            Arc::new(b.layout("ag\"ent", DEFS))
        };
        View {
            layout,
            values: b.values().to_vec(),
        }
    }

    fn values(v: &View) -> Vec<f64> {
        (0..v.values.len()).filter_map(|i| v.value(i)).collect()
    }

    fn render(views: Vec<View>) -> String {
        render_with_own(views, Registry::new())
    }

    fn render_with_own(views: Vec<View>, registry: Registry) -> String {
        let p = Published {
            defs: DEFS,
            agents: RwLock::new(Arc::new(
                views
                    .into_iter()
                    .map(|v| {
                        let s = Slot::default();
                        s.publish(&v.layout, &v.values);
                        Arc::new(s)
                    })
                    .collect(),
            )),
            registry,
        };
        String::from_utf8(p.render()).unwrap()
    }

    #[test]
    fn families_are_grouped_escaped_and_values_exact() {
        let mut b = Builder::default();
        let v = build(
            &mut b,
            &Arc::default(),
            &[("p\\q", 1.5), ("n\nl", 1e21)],
            1024.0,
        );
        assert_eq!(
            render(vec![v]),
            "# HELP a_total A.\n# TYPE a_total counter\n\
             a_total{instance=\"ag\\\"ent\",x=\"p\\\\q\"} 1.5\n\
             a_total{instance=\"ag\\\"ent\",x=\"n\\nl\"} 1e21\n\
             # HELP b B.\n# TYPE b gauge\n\
             b{instance=\"ag\\\"ent\"} 1024\n"
        );
    }

    /// The server's own series of a family the agents have too go in the agents' block: a
    /// family named twice is an invalid exposition.
    #[test]
    fn the_servers_own_series_of_an_agents_family_share_its_block() {
        let registry = Registry::new();
        let own = prometheus::Gauge::new("b", "B.").unwrap();
        own.set(7.0);
        registry.register(Box::new(own)).unwrap();
        let other = prometheus::Gauge::new("c", "C.").unwrap();
        registry.register(Box::new(other)).unwrap();
        let mut b = Builder::default();
        let v = build(&mut b, &Arc::default(), &[], 1024.0);
        assert_eq!(
            render_with_own(vec![v], registry.clone()),
            "# HELP b B.\n# TYPE b gauge\nb{instance=\"ag\\\"ent\"} 1024\nb 7\n\
             # HELP c C.\n# TYPE c gauge\nc 0\n"
        );
        // No agent has it: the server's own alone.
        assert_eq!(
            render_with_own(Vec::new(), registry),
            "# HELP b B.\n# TYPE b gauge\nb 7\n# HELP c C.\n# TYPE c gauge\nc 0\n"
        );
    }

    #[test]
    fn the_same_series_reuse_the_layout_and_new_ones_rebuild_it() {
        let mut b = Builder::default();
        let v1 = build(&mut b, &Arc::default(), &[("p", 1.0)], 0.0);
        let v2 = build(&mut b, &v1.layout, &[("p", 2.0)], 0.5);
        assert!(Arc::ptr_eq(&v1.layout, &v2.layout));
        assert_eq!(values(&v2), [2.0, 0.5]);
        let v3 = build(&mut b, &v2.layout, &[("p", 3.0), ("q", 4.0)], 0.5);
        assert!(!Arc::ptr_eq(&v2.layout, &v3.layout));
        assert_eq!(values(&v3), [3.0, 4.0, 0.5]);
        assert_eq!(v3.layout.ranges, [0..2, 2..3]);
    }

    #[test]
    fn a_view_a_scrape_holds_is_not_written_over() {
        let mut b = Builder::default();
        let v1 = build(&mut b, &Arc::default(), &[("p", 1.0)], 0.0);
        let slot = Slot::default();
        slot.publish(&v1.layout, &v1.values);
        let first = slot.get();
        let at = Arc::as_ptr(&first);
        drop(first);
        // Nobody holds it: written in place.
        slot.publish(&v1.layout, &[0.5, 2.0]);
        let held = slot.get();
        assert_eq!(Arc::as_ptr(&held), at);
        assert_eq!(values(&held), [2.0, 0.5]);
        // A scrape holds it: the next values go to a new view, and the held one stays whole.
        slot.publish(&v1.layout, &[0.25, 3.0]);
        slot.set_value(0, 1.0);
        assert_eq!(values(&held), [2.0, 0.5]);
        assert_eq!(values(&slot.get()), [3.0, 1.0]);
    }

    #[test]
    fn different_parts_never_make_one_identity() {
        let key = |tokens: &[(bool, &str)]| {
            let mut b = Builder::default();
            b.start();
            for &(section, text) in tokens {
                if section {
                    b.section(text);
                } else {
                    b.identity(text);
                }
            }
            b.key
        };
        let long = "x".repeat(200);
        let cases: &[&[(bool, &str)]] = &[
            &[(false, "a\0"), (false, "b")],
            &[(false, "a"), (false, "\0b")],
            &[(false, "a\0b")],
            &[(false, "a"), (false, "b"), (false, "")],
            &[(false, "a"), (false, "b")],
            &[(true, "s"), (false, "a")],
            &[(false, "s"), (false, "a")],
            &[(false, "\u{1}\u{1}s"), (false, "a")],
            &[(false, &long)],
            &[(false, &long[1..]), (false, "x")],
        ];
        for (i, a) in cases.iter().enumerate() {
            for b in &cases[i + 1..] {
                assert_ne!(key(a), key(b), "{a:?} and {b:?}");
            }
            assert_eq!(key(a), key(a));
        }
        // Joined beforehand, the same as added one by one.
        let mut b = Builder::default();
        b.identity_joined(&join_identity("hello", ["a", "b"]));
        assert_eq!(b.key, key(&[(true, "hello"), (false, "a"), (false, "b")]));
    }

    /// A view of one custom family `name` of `kind` with series `x="p"` and `x="q"`.
    fn custom_view(agent: &str, name: &str, kind: Kind, help: &str, values: [f64; 2]) -> View {
        let def = Arc::new(CustomDef {
            name: name.into(),
            kind,
            help: help.into(),
        });
        let mut b = Builder::default();
        b.start_rebuild();
        b.custom(&def, &["x".to_owned()]);
        b.add(1, &[], 0.5);
        for (x, value) in ["p", "q"].into_iter().zip(values) {
            b.add(usize::from(CUSTOM_BASE), &[x], value);
        }
        View {
            layout: Arc::new(b.layout(agent, DEFS)),
            values: b.values().to_vec(),
        }
    }

    #[test]
    fn custom_families_come_after_the_catalogues_by_name_each_once() {
        let views = vec![
            custom_view("a", "zz", Kind::Gauge, "Z.", [1.0, 2.0]),
            custom_view("b", "zz", Kind::Gauge, "Z of b.", [3.0, 4.0]),
            custom_view("c", "zz", Kind::Counter, "Z.", [5.0, 6.0]),
            custom_view("d", "aa", Kind::Untyped, "A \\ back\nslash.", [7.0, 8.0]),
        ];
        assert_eq!(views[0].layout.custom[0].range, 1..3);
        assert_eq!(
            render(views),
            "# HELP b B.\n# TYPE b gauge\n\
             b{instance=\"a\"} 0.5\nb{instance=\"b\"} 0.5\nb{instance=\"c\"} 0.5\nb{instance=\"d\"} 0.5\n\
             # HELP aa A \\\\ back\\nslash.\n# TYPE aa untyped\n\
             aa{instance=\"d\",x=\"p\"} 7\naa{instance=\"d\",x=\"q\"} 8\n\
             # HELP zz Z.\n# TYPE zz gauge\n\
             zz{instance=\"a\",x=\"p\"} 1\nzz{instance=\"a\",x=\"q\"} 2\n\
             zz{instance=\"b\",x=\"p\"} 3\nzz{instance=\"b\",x=\"q\"} 4\n"
        );
    }

    #[test]
    fn special_values_are_written_as_the_format_wants() {
        let mut s = Vec::new();
        for v in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.25,
            0.0,
            -0.0,
            123456789.0,
            -42.0,
            9.007_199_254_740_991e15,
            9.007_199_254_740_992e15,
        ] {
            push_value(&mut s, v);
            s.push(b' ');
        }
        assert_eq!(
            String::from_utf8(s).unwrap(),
            "NaN +Inf -Inf -0.25 0 0 123456789 -42 9007199254740991 9007199254740992.0 "
        );
    }

    #[test]
    fn whole_numbers_are_written_as_format_writes_them() {
        let mut n: i64 = 1;
        let mut values = vec![0, i64::MAX, i64::MIN + 1];
        while let Some(next) = n.checked_mul(10) {
            values.extend([n - 1, n, n + 1, -n, 9 * n, 10 * n - 1]);
            n = next;
        }
        values.extend((0..2000).map(|i| i * 7919 % 100_003));
        for v in values {
            let mut out = Vec::new();
            push_integer(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }
}
