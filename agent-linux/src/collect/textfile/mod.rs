//! node_exporter's textfile collector: the series of the `*.prom` files of one directory
//! (`--textfile-dir`), which other programs write to say what the agent cannot see (a backup's
//! age, a RAID's state, a job's result); `node_textfile_mtime_seconds{file}` for each file
//! read, and `node_textfile_scrape_error`, 1 when a file or the directory could not be read.
//! Without a directory, as node_exporter without one, only the error: 0.
//!
//! Each sample lists the directory (not its subdirectories) in name order, and reads a file
//! again only when its size, times or inode changed (`parse.rs` reads the format, as
//! node_exporter 1.5 does). A file is left out whole, and the error is 1, when it cannot be
//! opened, read or parsed (a timestamp included), or holds what vitals cannot declare: a
//! histogram or summary, a value that is not a finite number, a family against
//! `agent_core::catalogue::custom` (a name of vitals' own, a label `instance`, `job` or `__*`,
//! more than 8 labels, a help text over 256 bytes or on two lines), a label value the server
//! refuses (a control character, over 128 bytes); or when it would pass a bound. The other
//! files' series still go.
//!
//! As node_exporter, the families of the files are merged in name order, and what its registry
//! refuses when it gathers them is left out series by series, logged but not an error: the
//! series of a family whose type or help text is not that of an earlier file's (a family
//! without `HELP` has node_exporter's "Metric read from" and the paths of every file that has
//! it), and a series a file or an earlier one has already. The label names of a family are
//! those of all its series, and a series without one has it empty (which Prometheus takes as
//! no label at all). Each problem is logged when it appears, changes or goes, not every sample.
//!
//! The bounds keep a declaration within a line and the agent small: [`MAX_FILES`] files of at
//! most [`MAX_FILE_BYTES`], [`MAX_SERIES`] series and `custom::MAX_CUSTOM` families in all, and
//! the bytes they add to a declaration within the budget the agent gives (see
//! [`MAX_DECLARED`]).

mod parse;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use agent_core::catalogue::custom::{
    self, CUSTOM_BASE, Custom, MAX_CUSTOM, MAX_CUSTOM_LABELS, MAX_HELP,
};
use agent_core::catalogue::{Kind, Series, f};
use agent_core::sample::label_text_ok;
use agent_core::wire::MAX_TEXT;

use parse::{Family, parse};

/// The most `*.prom` files read, in name order: a directory is for a few programs' reports.
pub const MAX_FILES: usize = 64;

/// The largest file read: 64 KiB holds about two thousand series.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The most series of all the files together: their values line stays within about 13 KB.
pub const MAX_SERIES: usize = 512;

/// The most bytes the files' families and series add to a declaration, whatever the budget:
/// with a 64-CPU server's 12 KiB, a declaration of 28 KiB, well within a line.
pub const MAX_DECLARED: usize = 16 * 1024;

/// What tells one version of a file from the next without reading it: a file written again
/// or replaced has another modification time or inode, and one whose mode changed (it could
/// not be opened, and now can) another change time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
    ctime: i64,
    ctime_nsec: i64,
    ino: u64,
    dev: u64,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        Stamp {
            len: meta.len(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            ctime: meta.ctime(),
            ctime_nsec: meta.ctime_nsec(),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }
}

/// A directory's `*.prom` files in name order, each with its stamp or why it has none; or why
/// the directory cannot be listed.
type Listing = Result<Vec<(OsString, Result<Stamp, String>)>, String>;

/// One family as the agent declares it: merged over the files that have it.
#[derive(Debug, Clone)]
struct Merged {
    name: String,
    kind: Kind,
    /// The first file's `HELP`, or node_exporter's "Metric read from" and its files.
    help: String,
    /// The label names of all its series, sorted (as node_exporter writes them).
    labels: Vec<String>,
    /// Each series' label values in the order of `labels`, and its value.
    series: Vec<(Vec<String>, f64)>,
}

/// A file read whole: its path, its modification time in whole seconds, its families.
struct Good {
    path: String,
    mtime: f64,
    families: Vec<Family>,
}

/// Something that could not be read, or was left out, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    /// The log line.
    why: String,
    /// The log line when it goes.
    gone: String,
    /// Whether it makes `node_textfile_scrape_error` 1: a file (or the directory) not read,
    /// rather than series left out as node_exporter leaves them out.
    error: bool,
}

impl Problem {
    /// A file, or the directory, not read.
    fn error(what: &str, why: String) -> Self {
        Problem {
            why,
            gone: format!("textfile \"{what}\" is read again"),
            error: true,
        }
    }
}

/// Reads the `*.prom` files of a directory.
#[derive(Debug)]
pub(super) struct TextfileCollector {
    /// `--textfile-dir`; `None` gives only `node_textfile_scrape_error 0`.
    dir: Option<PathBuf>,
    /// The most bytes the families and series may add to a declaration (at most
    /// [`MAX_DECLARED`]): what the agent's storage for declarations leaves them.
    budget: usize,
    /// What each file gave when last read, by name, and the stamp it had then.
    read: HashMap<OsString, (Stamp, Result<Vec<Family>, String>)>,
    /// The listing the state below was made from. A sample with the same listing keeps the
    /// state as it is.
    listing: Option<Listing>,
    /// The families of the files read whole, in the order of their first file.
    families: Vec<Merged>,
    /// Each file read whole: its path and its modification time in whole seconds.
    mtimes: Vec<(String, f64)>,
    /// The bytes `families` and `mtimes` add to a declaration, about.
    declared: usize,
    /// What could not be read or was left out, by what it is about (a path, a path and a
    /// family), as logged.
    problems: BTreeMap<String, Problem>,
    /// Log lines not yet taken.
    log: Vec<String>,
}

impl TextfileCollector {
    /// Reads the `*.prom` files of `dir`, if any, within `budget` bytes of declaration (at most
    /// [`MAX_DECLARED`]).
    pub(super) fn new(dir: Option<PathBuf>, budget: usize) -> Self {
        TextfileCollector {
            dir,
            budget: budget.min(MAX_DECLARED),
            read: HashMap::new(),
            listing: None,
            families: Vec::new(),
            mtimes: Vec::new(),
            declared: 0,
            problems: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    /// Lists the directory and reads the files that changed.
    pub(super) fn collect(&mut self) {
        let Some(dir) = self.dir.clone() else {
            return;
        };
        let listing = list(&dir);
        if self.listing.as_ref() == Some(&listing) {
            return;
        }
        self.families.clear();
        self.mtimes.clear();
        self.declared = 0;
        let mut problems = BTreeMap::new();
        let shown = dir.display().to_string();
        match &listing {
            Err(why) => {
                problems.insert(shown.clone(), Problem::error(&shown, why.clone()));
            }
            Ok(files) => {
                if files.len() > MAX_FILES {
                    let why = format!(
                        "{shown} holds {} *.prom files; only the first {MAX_FILES} by name are read",
                        files.len()
                    );
                    problems.insert(shown.clone(), Problem::error(&shown, why));
                }
                let mut good = Vec::new();
                for (name, stamp) in files.iter().take(MAX_FILES) {
                    let path = dir.join(name);
                    match self.file(name, &path, stamp) {
                        Ok(file) => good.push(file),
                        Err(why) => {
                            let path = path.display().to_string();
                            problems.insert(path.clone(), Problem::error(&path, why));
                        }
                    }
                }
                self.read
                    .retain(|name, _| files.iter().any(|(n, _)| n == name));
                let helps = default_helps(&good);
                for file in &good {
                    self.merge(file, &helps, &mut problems);
                }
            }
        }
        self.note_changes(problems);
        self.listing = Some(listing);
    }

    /// One file read (or what it gave last time, if its stamp is the same), or why not.
    fn file(
        &mut self,
        name: &OsString,
        path: &Path,
        stamp: &Result<Stamp, String>,
    ) -> Result<Good, String> {
        let shown = path.display();
        let stamp = *stamp
            .as_ref()
            .map_err(|why| format!("failed to open textfile data file \"{shown}\": {why}"))?;
        let label = path
            .to_str()
            .filter(|p| p.len() <= MAX_TEXT && label_text_ok(p))
            .ok_or_else(|| {
                format!(
                    "textfile \"{shown}\": its path cannot be the file label (not UTF-8, a \
                     control character, or over {MAX_TEXT} bytes), skipping entire file"
                )
            })?;
        if stamp.len > MAX_FILE_BYTES {
            return Err(format!(
                "textfile \"{shown}\" is larger than {MAX_FILE_BYTES} bytes, skipping entire file"
            ));
        }
        if self.read.get(name).is_none_or(|(s, _)| *s != stamp) {
            self.read.insert(name.clone(), (stamp, read(path)));
        }
        match self.read.get(name) {
            Some((_, Ok(families))) => Ok(Good {
                path: label.to_owned(),
                mtime: stamp.mtime as f64,
                families: families.clone(),
            }),
            Some((_, Err(why))) => Err(why.clone()),
            None => Err(format!("textfile \"{shown}\" was not read")),
        }
    }

    /// Merges the families of `file` into those of the files before it, its series of another
    /// type or help text or already there left out (noted in `problems`); or none of them
    /// when they would pass a bound (an error in `problems`).
    fn merge(
        &mut self,
        file: &Good,
        helps: &HashMap<&str, String>,
        problems: &mut BTreeMap<String, Problem>,
    ) {
        let path = file.path.as_str();
        let mut left_out = Vec::new();
        let mut changed: Vec<(Option<usize>, Merged)> = Vec::with_capacity(file.families.len());
        let mut series = 0;
        // The file's `node_textfile_mtime_seconds`.
        let mut bytes = 12 + escaped_len(path);
        for family in &file.families {
            let name = family.name.as_str();
            let help = match &family.help {
                Some(help) => help.clone(),
                None => helps.get(name).cloned().unwrap_or_default(),
            };
            let at = self.families.iter().position(|m| m.name == name);
            let mut merged = match at.and_then(|at| self.families.get(at)) {
                Some(earlier) if earlier.kind != family.kind => {
                    let why = format!(
                        "its type {} is not {}, an earlier file's",
                        family.kind.as_str(),
                        earlier.kind.as_str()
                    );
                    left_out.push((name, why, false));
                    continue;
                }
                Some(earlier) if earlier.help != help => {
                    left_out.push((
                        name,
                        format!("its help text {help:?} is not an earlier file's"),
                        false,
                    ));
                    continue;
                }
                Some(earlier) => earlier.clone(),
                None => {
                    bytes += 32 + name.len() + escaped_len(&help);
                    Merged {
                        name: name.to_owned(),
                        kind: family.kind,
                        help,
                        labels: Vec::new(),
                        series: Vec::new(),
                    }
                }
            };
            let mut labels = merged.labels.clone();
            for sample in &family.samples {
                for (label, _) in &sample.labels {
                    if !labels.contains(label) {
                        bytes += 3 + label.len();
                        labels.push(label.clone());
                    }
                }
            }
            labels.sort();
            if labels.len() > MAX_CUSTOM_LABELS {
                let why = format!(
                    "with an earlier file's, it would have more than {MAX_CUSTOM_LABELS} label names"
                );
                left_out.push((name, why, true));
                continue;
            }
            if labels != merged.labels {
                for (values, _) in &mut merged.series {
                    *values = labels
                        .iter()
                        .map(|l| {
                            let at = merged.labels.iter().position(|m| m == l);
                            at.and_then(|at| values.get(at))
                                .cloned()
                                .unwrap_or_default()
                        })
                        .collect();
                }
                merged.labels = labels;
            }
            let mut twice = 0;
            for sample in &family.samples {
                let values: Vec<String> = merged
                    .labels
                    .iter()
                    .map(|l| {
                        let value = sample.labels.iter().find(|(n, _)| n == l);
                        value.map(|(_, v)| v.clone()).unwrap_or_default()
                    })
                    .collect();
                if merged.series.iter().any(|(v, _)| *v == values) {
                    twice += 1;
                    continue;
                }
                bytes += 10 + values.iter().map(|v| 3 + escaped_len(v)).sum::<usize>();
                merged.series.push((values, sample.value));
                series += 1;
            }
            if twice > 0 {
                let why = format!("{twice} series with the labels of an earlier one");
                left_out.push((name, why, false));
            }
            changed.push((at, merged));
        }
        let skip = |why: String| {
            Problem::error(
                path,
                format!("textfile \"{path}\": {why}, skipping entire file"),
            )
        };
        let held: usize = self.families.iter().map(|m| m.series.len()).sum();
        let new = changed.iter().filter(|(at, _)| at.is_none()).count();
        let past = if held + series > MAX_SERIES {
            Some(format!(
                "its {series} series would take the files' past {MAX_SERIES}"
            ))
        } else if self.families.len() + new > MAX_CUSTOM {
            Some(format!(
                "its {new} new families would take the files' past {MAX_CUSTOM}"
            ))
        } else if self.declared + bytes > self.budget {
            Some(format!(
                "its series would take the files' declaration past {} bytes",
                self.budget
            ))
        } else {
            None
        };
        if let Some(why) = past {
            problems.insert(path.to_owned(), skip(why));
            return;
        }
        for (name, why, error) in left_out {
            let problem = Problem {
                why: format!(
                    "textfile \"{path}\": family {name}: {why}; those series are left out"
                ),
                gone: format!("textfile \"{path}\": family {name} is taken whole again"),
                error,
            };
            problems.insert(format!("{path} {name}"), problem);
        }
        for (at, merged) in changed {
            match at.and_then(|at| self.families.get_mut(at)) {
                Some(earlier) => *earlier = merged,
                None => self.families.push(merged),
            }
        }
        self.mtimes.push((file.path.clone(), file.mtime));
        self.declared += bytes;
    }

    /// Takes `problems` as those of this sample: logs each that is new or says something new,
    /// and each that went.
    fn note_changes(&mut self, problems: BTreeMap<String, Problem>) {
        for (what, problem) in &problems {
            if self.problems.get(what).map(|p| &p.why) != Some(&problem.why) {
                self.log.push(problem.why.clone());
            }
        }
        for (what, problem) in &self.problems {
            if !problems.contains_key(what) {
                self.log.push(problem.gone.clone());
            }
        }
        self.problems = problems;
    }

    /// The log lines about files since the last call.
    pub(super) fn take_log(&mut self) -> std::vec::Drain<'_, String> {
        self.log.drain(..)
    }

    /// The series read by the last [`collect`](Self::collect): each family with its series,
    /// numbered from [`CUSTOM_BASE`], then each file's modification time, then the error.
    pub(super) fn series(&self, out: &mut dyn Series) {
        out.section("textfile");
        let mut names = [""; MAX_CUSTOM_LABELS];
        let mut values = [""; MAX_CUSTOM_LABELS];
        for (number, family) in (CUSTOM_BASE..).zip(&self.families) {
            let count = family.labels.len().min(MAX_CUSTOM_LABELS);
            for (slot, name) in names.iter_mut().zip(&family.labels) {
                *slot = name;
            }
            let def = Custom {
                name: &family.name,
                kind: family.kind,
                help: &family.help,
                labels: names.get(..count).unwrap_or_default(),
            };
            for part in [def.name, def.kind.as_str(), def.help]
                .into_iter()
                .chain(def.labels.iter().copied())
            {
                out.identity(part);
            }
            out.custom(number, &def);
            for (labels, value) in &family.series {
                for (slot, label) in values.iter_mut().zip(labels) {
                    *slot = label;
                    out.identity(label);
                }
                out.add(number, values.get(..count).unwrap_or_default(), *value);
            }
        }
        for (path, mtime) in &self.mtimes {
            out.identity(path);
            out.add(f::TEXTFILE_MTIME, &[path], *mtime);
        }
        let error = self.problems.values().any(|p| p.error);
        out.add(f::TEXTFILE_SCRAPE_ERROR, &[], if error { 1.0 } else { 0.0 });
    }
}

/// The listing of `dir`.
fn list(dir: &Path) -> Listing {
    let entries = fs::read_dir(dir).map_err(|e| {
        format!(
            "failed to read textfile collector directory \"{}\": {e}",
            dir.display()
        )
    })?;
    let mut names: Vec<OsString> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .filter(|name| name.as_encoded_bytes().ends_with(b".prom"))
        .collect();
    names.sort();
    let files = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            // As node_exporter opens it: through a symbolic link. Past the bound, not at all.
            let stamp = if i < MAX_FILES {
                fs::metadata(dir.join(&name))
                    .map(|meta| Stamp::of(&meta))
                    .map_err(|e| e.to_string())
            } else {
                Err("not read".into())
            };
            (name, stamp)
        })
        .collect();
    Ok(files)
}

/// The families of the file at `path`, or why it is refused (in node_exporter's words where
/// it refuses it too): what vitals cannot declare is checked here, each family alone.
fn read(path: &Path) -> Result<Vec<Family>, String> {
    let shown = path.display();
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("failed to open textfile data file \"{shown}\": {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "textfile \"{shown}\" is larger than {MAX_FILE_BYTES} bytes, skipping entire file"
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("failed to parse textfile data from \"{shown}\": not UTF-8"))?;
    let families = parse(text).map_err(|e| match e {
        parse::Error::Timestamps => format!(
            "textfile \"{shown}\" contains unsupported client-side timestamps, skipping entire file"
        ),
        syntax => format!("failed to parse textfile data from \"{shown}\": {syntax}"),
    })?;
    let skip = |why: String| format!("textfile \"{shown}\": {why}, skipping entire file");
    for family in &families {
        let name = &family.name;
        let mut labels: Vec<&str> = Vec::new();
        for (label, value) in family.samples.iter().flat_map(|s| &s.labels) {
            if value.len() > MAX_TEXT || !label_text_ok(value) {
                return Err(skip(format!(
                    "family {name}: the label value {value:?} holds a control character or is \
                     over {MAX_TEXT} bytes"
                )));
            }
            if !labels.contains(&label.as_str()) {
                labels.push(label);
            }
        }
        let def = Custom {
            name,
            kind: family.kind,
            help: family.help.as_deref().unwrap_or_default(),
            labels: &labels,
        };
        custom::check(&def).map_err(|fault| skip(format!("family {name}: {fault}")))?;
    }
    Ok(families)
}

/// The help text node_exporter gives each family without `HELP`: "Metric read from" and the
/// paths of every file read that has it, cut to [`MAX_HELP`] bytes.
fn default_helps(files: &[Good]) -> HashMap<&str, String> {
    let mut paths: HashMap<&str, Vec<&str>> = HashMap::new();
    for file in files {
        for family in &file.families {
            paths.entry(&family.name).or_default().push(&file.path);
        }
    }
    paths
        .into_iter()
        .map(|(name, paths)| (name, default_help(&paths)))
        .collect()
}

/// "Metric read from" and `paths`, cut to [`MAX_HELP`] bytes.
fn default_help(paths: &[&str]) -> String {
    let mut help = format!("Metric read from {}", paths.join(", "));
    if help.len() > MAX_HELP {
        let mut cut = MAX_HELP;
        while !help.is_char_boundary(cut) {
            cut -= 1;
        }
        help.truncate(cut);
    }
    help
}

/// The bytes `text` takes in a JSON string: `"` and `\` escaped (the others that need it are
/// refused).
fn escaped_len(text: &str) -> usize {
    text.len() + text.bytes().filter(|&b| b == b'"' || b == b'\\').count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// A directory under the system's temp dir, removed when dropped.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Self {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .subsec_nanos();
            let dir = std::env::temp_dir().join(format!(
                "vitals-textfile-{name}-{}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }

        fn write(&self, name: &str, contents: &str) -> String {
            let path = self.0.join(name);
            fs::write(&path, contents).unwrap();
            path.display().to_string()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// What a collector hands over: each custom family (name, type, help, label names) and
    /// each series by family name.
    #[derive(Debug, Default)]
    struct Seen {
        custom: Vec<(u16, String, Kind, String, Vec<String>)>,
        series: Vec<(String, Vec<String>, f64)>,
    }

    impl Series for Seen {
        fn custom(&mut self, family: u16, def: &Custom<'_>) {
            let labels = def.labels.iter().map(|l| (*l).to_owned()).collect();
            self.custom
                .push((family, def.name.into(), def.kind, def.help.into(), labels));
        }

        fn add(&mut self, family: u16, labels: &[&str], value: f64) {
            let name = match family.checked_sub(CUSTOM_BASE) {
                Some(place) => self.custom[usize::from(place)].1.clone(),
                None => agent_core::catalogue::family(family)
                    .unwrap()
                    .name
                    .to_owned(),
            };
            let labels = labels.iter().map(|l| (*l).to_owned()).collect();
            self.series.push((name, labels, value));
        }
    }

    fn read_all(collector: &mut TextfileCollector) -> Seen {
        collector.collect();
        let mut seen = Seen::default();
        collector.series(&mut seen);
        seen
    }

    fn error(seen: &Seen) -> f64 {
        let last = seen.series.last().unwrap();
        assert_eq!(last.0, "node_textfile_scrape_error");
        last.2
    }

    fn mtime(path: &str) -> f64 {
        fs::metadata(path).unwrap().mtime() as f64
    }

    fn strings(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn without_a_directory_only_the_error_as_node_exporter() {
        let mut collector = TextfileCollector::new(None, MAX_DECLARED);
        let seen = read_all(&mut collector);
        assert_eq!(
            seen.series,
            [("node_textfile_scrape_error".to_owned(), vec![], 0.0)]
        );
        assert!(seen.custom.is_empty());
    }

    #[test]
    fn the_files_families_are_merged_as_node_exporter_merges_them() {
        let dir = Dir::new("merged");
        let backup = dir.write(
            "backup.prom",
            "# HELP backup_age_seconds Seconds since the last backup.\n\
             # TYPE backup_age_seconds gauge\n\
             backup_age_seconds{target=\"/home\"} 3600\n\
             jobs_total{task=\"x\"} 1\n",
        );
        let raid = dir.write(
            "raid.prom",
            "raid_degraded{md=\"md0\"} 0\n\
             # HELP backup_age_seconds Seconds since the last backup.\n\
             # TYPE backup_age_seconds gauge\n\
             backup_age_seconds{target=\"/srv\",host=\"nas\"} 60\n",
        );
        dir.write("notes.txt", "not a metric file\n");
        fs::create_dir(dir.0.join("sub")).unwrap();
        dir.write("sub/deeper.prom", "deeper 1\n");
        let mut collector = TextfileCollector::new(Some(dir.0.clone()), MAX_DECLARED);
        let seen = read_all(&mut collector);
        assert_eq!(collector.take_log().count(), 0);
        assert_eq!(
            seen.custom,
            [
                (
                    CUSTOM_BASE,
                    "backup_age_seconds".into(),
                    Kind::Gauge,
                    "Seconds since the last backup.".into(),
                    strings(&["host", "target"])
                ),
                (
                    CUSTOM_BASE + 1,
                    "jobs_total".into(),
                    Kind::Untyped,
                    format!("Metric read from {backup}"),
                    strings(&["task"])
                ),
                (
                    CUSTOM_BASE + 2,
                    "raid_degraded".into(),
                    Kind::Untyped,
                    format!("Metric read from {raid}"),
                    strings(&["md"])
                ),
            ]
        );
        assert_eq!(
            seen.series,
            [
                ("backup_age_seconds".into(), strings(&["", "/home"]), 3600.0),
                ("backup_age_seconds".into(), strings(&["nas", "/srv"]), 60.0),
                ("jobs_total".into(), strings(&["x"]), 1.0),
                ("raid_degraded".into(), strings(&["md0"]), 0.0),
                (
                    "node_textfile_mtime_seconds".into(),
                    vec![backup.clone()],
                    mtime(&backup)
                ),
                (
                    "node_textfile_mtime_seconds".into(),
                    vec![raid.clone()],
                    mtime(&raid)
                ),
                ("node_textfile_scrape_error".into(), vec![], 0.0),
            ]
        );
        // The same files again: the same, and nothing logged.
        let again = read_all(&mut collector);
        assert_eq!(again.series, seen.series);
        assert_eq!(collector.take_log().count(), 0);
    }

    #[test]
    fn what_node_exporters_registry_refuses_is_left_out_series_by_series() {
        let dir = Dir::new("registry");
        let first = dir.write(
            "a.prom",
            "# HELP typed Typed.\n# TYPE typed gauge\ntyped 1\n\
             helped{x=\"1\"} 1\n\
             twice 1\ntwice 2\n",
        );
        // Another type, another help text (the default one names both files, and the first
        // file has it too), a series of the first file's, and one it repeats.
        let second = dir.write(
            "b.prom",
            "# HELP typed Typed.\n# TYPE typed counter\ntyped 2\n\
             # HELP helped Helped.\nhelped{x=\"2\"} 2\n\
             twice 3\n\
             fine 1\n",
        );
        let mut collector = TextfileCollector::new(Some(dir.0.clone()), MAX_DECLARED);
        let seen = read_all(&mut collector);
        assert_eq!(error(&seen), 0.0, "node_exporter does not count them");
        let series: Vec<(&str, f64)> = seen.series.iter().map(|s| (s.0.as_str(), s.2)).collect();
        assert_eq!(
            series,
            [
                ("typed", 1.0),
                ("helped", 1.0),
                ("twice", 1.0),
                ("fine", 1.0),
                ("node_textfile_mtime_seconds", mtime(&first)),
                ("node_textfile_mtime_seconds", mtime(&second)),
                ("node_textfile_scrape_error", 0.0),
            ]
        );
        assert_eq!(
            seen.custom[1].3,
            format!("Metric read from {first}, {second}")
        );
        let log: Vec<String> = collector.take_log().collect();
        assert_eq!(
            log,
            [
                format!(
                    "textfile \"{first}\": family twice: 1 series with the labels of an earlier \
                     one; those series are left out"
                ),
                format!(
                    "textfile \"{second}\": family helped: its help text \"Helped.\" is not an \
                     earlier file's; those series are left out"
                ),
                format!(
                    "textfile \"{second}\": family twice: 1 series with the labels of an \
                     earlier one; those series are left out"
                ),
                format!(
                    "textfile \"{second}\": family typed: its type counter is not gauge, an \
                     earlier file's; those series are left out"
                ),
            ]
        );
        seen_again(&mut collector);
        // Agreed again.
        dir.write(
            "b.prom",
            "# HELP typed Typed.\n# TYPE typed gauge\ntyped{b=\"\"} 2\n",
        );
        let seen = read_all(&mut collector);
        let log: Vec<String> = collector.take_log().collect();
        assert_eq!(
            log,
            [
                format!(
                    "textfile \"{second}\": family typed: 1 series with the labels of an \
                     earlier one; those series are left out"
                ),
                format!("textfile \"{second}\": family helped is taken whole again"),
                format!("textfile \"{second}\": family twice is taken whole again"),
            ]
        );
        // `typed{b=""}` is `typed` to Prometheus, and the first file has it.
        let typed: Vec<&(String, Vec<String>, f64)> =
            seen.series.iter().filter(|s| s.0 == "typed").collect();
        assert_eq!(typed, [&("typed".to_owned(), strings(&[""]), 1.0)]);
    }

    #[test]
    fn a_bad_file_is_left_out_whole_and_logged_once_while_the_others_go() {
        let dir = Dir::new("bad");
        dir.write(
            "good.prom",
            "# HELP up_to_date Up to date.\n# TYPE up_to_date gauge\nup_to_date 1\n",
        );
        let cases: &[(&str, &str)] = &[
            (
                "a 1 1700000000000\n",
                "contains unsupported client-side timestamps, skipping entire file",
            ),
            (
                "a{b=\"c\"} 1\nb one\n",
                "text format parsing error in line 2: expected float as value, got \"one\"",
            ),
            (
                "# TYPE h histogram\nh_bucket{le=\"1\"} 1\n",
                "is not supported by vitals",
            ),
            ("a NaN\n", "is not a finite number"),
            (
                "node_load1 1\n",
                "family node_load1: its name is vitals' own",
            ),
            ("vitals_x 1\n", "family vitals_x: its name is vitals' own"),
            (
                "a{instance=\"x\"} 1\n",
                "family a: a label name is not valid",
            ),
            ("b{job=\"x\"} 1\n", "family b: a label name is not valid"),
            (
                "a{a=\"1\"} 1\na{b=\"1\"} 1\na{c=\"1\"} 1\na{d=\"1\"} 1\na{e=\"1\"} 1\n\
                 a{f=\"1\"} 1\na{g=\"1\"} 1\na{h=\"1\"} 1\na{i=\"1\"} 1\n",
                "there are more than 8",
            ),
            ("a{l=\"tab\\there\"} 1\n", "invalid escape sequence"),
            ("a{l=\"new\\nline\"} 1\n", "holds a control character"),
            (
                "# HELP a two\\nlines\na 1\n",
                "its help text is longer than 256 bytes or holds a control character",
            ),
            (
                "a{b=\"\u{fffd}\"} 1\n\u{1}",
                "unexpected end of input stream",
            ),
        ];
        let mut collector = TextfileCollector::new(Some(dir.0.clone()), MAX_DECLARED);
        for (text, why) in cases {
            let bad = dir.write("later.prom", text);
            let seen = read_all(&mut collector);
            assert_eq!(error(&seen), 1.0, "{text}");
            let names: Vec<&str> = seen.series.iter().map(|s| s.0.as_str()).collect();
            assert_eq!(
                names,
                [
                    "up_to_date",
                    "node_textfile_mtime_seconds",
                    "node_textfile_scrape_error"
                ],
                "{text}"
            );
            let log: Vec<String> = collector.take_log().collect();
            assert!(
                log.len() == 1 && log[0].contains(why) && log[0].contains(&bad),
                "{text}: {log:?}"
            );
            // Logged once, not every sample.
            seen_again(&mut collector);
        }
        fs::write(dir.0.join("later.prom"), [b'a', b' ', 0xff, b'\n']).unwrap();
        assert_eq!(error(&read_all(&mut collector)), 1.0);
        assert!(collector.take_log().next().unwrap().contains("not UTF-8"));
        let long = format!("a{{l=\"{}\"}} 1\n", "x".repeat(MAX_TEXT + 1));
        dir.write("later.prom", &long);
        assert_eq!(error(&read_all(&mut collector)), 1.0);
        assert!(
            collector
                .take_log()
                .next()
                .unwrap()
                .contains("over 128 bytes")
        );
        fs::remove_file(dir.0.join("later.prom")).unwrap();
        assert_eq!(error(&read_all(&mut collector)), 0.0);
        let log: Vec<String> = collector.take_log().collect();
        assert_eq!(log.len(), 1);
        assert!(log[0].ends_with("later.prom\" is read again"), "{log:?}");
    }

    fn seen_again(collector: &mut TextfileCollector) {
        let _ = read_all(collector);
        assert_eq!(collector.take_log().count(), 0);
    }

    #[test]
    fn a_missing_directory_is_an_error_and_logged_once() {
        let mut collector = TextfileCollector::new(
            Some(PathBuf::from("/nonexistent/vitals/textfile")),
            MAX_DECLARED,
        );
        let seen = read_all(&mut collector);
        assert_eq!(seen.series.len(), 1);
        assert_eq!(error(&seen), 1.0);
        let log: Vec<String> = collector.take_log().collect();
        assert_eq!(log.len(), 1);
        assert!(
            log[0].starts_with(
                "failed to read textfile collector directory \"/nonexistent/vitals/textfile\": "
            ),
            "{log:?}"
        );
        seen_again(&mut collector);
    }

    #[test]
    fn each_bound_leaves_out_the_file_that_passes_it() {
        let dir = Dir::new("bounds");
        let big = "# a comment\n".repeat(MAX_FILE_BYTES as usize / 12 + 1);
        dir.write("a_big.prom", &big);
        let series: String = (0..MAX_SERIES)
            .map(|i| format!("s{{i=\"{i}\"}} 1\n"))
            .collect();
        dir.write("b_series.prom", &series);
        dir.write("c_one_more.prom", "one_more 1\n");
        let mut collector = TextfileCollector::new(Some(dir.0.clone()), MAX_DECLARED);
        let seen = read_all(&mut collector);
        let log: Vec<String> = collector.take_log().collect();
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(
            log[0].contains("a_big.prom\" is larger than 65536 bytes"),
            "{log:?}"
        );
        assert!(
            log[1].contains("c_one_more.prom\": its 1 series would take the files' past 512"),
            "{log:?}"
        );
        assert_eq!(error(&seen), 1.0);
        assert_eq!(
            seen.series.iter().filter(|s| s.0 == "s").count(),
            MAX_SERIES
        );

        // The bytes of a declaration: the budget the agent gives.
        let dir = Dir::new("budget");
        let long = "v".repeat(100);
        let series: String = (0..40)
            .map(|i| format!("s{{i=\"{i}{long}\"}} 1\n"))
            .collect();
        dir.write("a.prom", &series);
        dir.write("b.prom", "small 1\n");
        let mut collector = TextfileCollector::new(Some(dir.0.clone()), 4096);
        let seen = read_all(&mut collector);
        assert_eq!(seen.custom.len(), 1, "only b.prom fits: {:?}", seen.custom);
        let log: Vec<String> = collector.take_log().collect();
        assert!(
            log[0]
                .contains("a.prom\": its series would take the files' declaration past 4096 bytes"),
            "{log:?}"
        );

        // Files: the first by name.
        let dir = Dir::new("files");
        for i in 0..=MAX_FILES {
            dir.write(&format!("f{i:03}.prom"), &format!("f{i:03} 1\n"));
        }
        let mut collector = TextfileCollector::new(Some(dir.0.clone()), MAX_DECLARED);
        let seen = read_all(&mut collector);
        assert_eq!(seen.custom.len(), MAX_FILES);
        assert_eq!(
            seen.custom.last().unwrap().1,
            format!("f{:03}", MAX_FILES - 1)
        );
        assert_eq!(error(&seen), 1.0);
        let log: Vec<String> = collector.take_log().collect();
        assert!(
            log[0].contains("holds 65 *.prom files; only the first 64 by name are read"),
            "{log:?}"
        );
    }

    #[test]
    fn a_file_changed_between_samples_gives_its_new_series() {
        let dir = Dir::new("changed");
        let path = dir.write("jobs.prom", "job_ok{task=\"a\"} 1\n");
        let mut collector = TextfileCollector::new(Some(dir.0.clone()), MAX_DECLARED);
        assert_eq!(read_all(&mut collector).series[0].1, ["a"]);
        // Replaced as a program should (write, then rename), with another series.
        let tmp = dir.write("jobs.prom.tmp", "job_ok{task=\"b\"} 0\n");
        fs::rename(&tmp, &path).unwrap();
        let seen = read_all(&mut collector);
        assert_eq!(seen.series[0], ("job_ok".into(), strings(&["b"]), 0.0));
        assert_eq!(seen.series[1].2, mtime(&path));
        // Gone: so are its series.
        fs::remove_file(&path).unwrap();
        let seen = read_all(&mut collector);
        assert_eq!(seen.series.len(), 1);
        assert_eq!(error(&seen), 0.0);
        assert!(Path::new(&dir.0).exists());
    }

    #[test]
    fn the_help_node_exporter_makes_is_cut_to_the_bound() {
        let files: Vec<String> = (0..20)
            .map(|i| format!("/var/lib/textfile/{i}.prom"))
            .collect();
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let help = default_help(&files);
        assert_eq!(help.len(), MAX_HELP);
        assert!(
            help.starts_with("Metric read from /var/lib/textfile/0.prom, /var/lib/textfile/1.prom")
        );
        assert_eq!(
            default_help(&files[..1]),
            "Metric read from /var/lib/textfile/0.prom"
        );
        let wide = "é".repeat(200);
        assert!(default_help(&[&wide]).len() <= MAX_HELP);
    }
}
