//! The operating system's release, from os-release(5): node_exporter's os collector.
//!
//! node_exporter reads `/etc/os-release`, or `/usr/lib/os-release` where that does not exist,
//! with go-envparse, and reads it again only when its modification time changes (a
//! dist-upgrade without a reboot): so does this, at the cost of one `stat` a sample.

use std::fs::{self, File};
use std::io::{ErrorKind, Read as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use agent_core::catalogue::{Series, f};
use agent_core::sample::{bounded, label_text_ok};
use agent_core::wire::MAX_TEXT;
use heapless::String as Text;

use super::families::Families;

/// The variables of os-release that are `node_os_info`'s labels, in the family's order: each
/// label is its variable's name in lower case.
const KEYS: [&str; 12] = [
    "BUILD_ID",
    "ID",
    "ID_LIKE",
    "IMAGE_ID",
    "IMAGE_VERSION",
    "NAME",
    "PRETTY_NAME",
    "VARIANT",
    "VARIANT_ID",
    "VERSION",
    "VERSION_CODENAME",
    "VERSION_ID",
];

/// Where `node_os_version`'s labels, `id`, `id_like` and `name`, are in [`KEYS`].
const VERSION_LABELS: [usize; 3] = [1, 2, 5];

/// Where `VERSION_ID` is in [`KEYS`].
const VERSION_ID: usize = 11;

/// The most bytes of os-release read: a real one has a few hundred, and a longer file gives
/// no series rather than a sample's worth of work.
const MAX_FILE: u64 = 64 * 1024;

/// The texts of [`KEYS`], each cut to the longest label text the protocol carries.
type Labels = [Text<MAX_TEXT>; 12];

/// What the file read says.
#[derive(Debug, PartialEq)]
struct Release {
    /// `node_os_info`'s labels; empty for a variable the file does not set.
    labels: Labels,
    /// `VERSION_ID`'s major.minor (`node_os_version`), or 0 when it does not start with a
    /// number: node_exporter then has no such series.
    version: f64,
}

/// Reads os-release when it changes.
#[derive(Debug)]
pub(super) struct OsCollector {
    /// `etc/os-release` and `usr/lib/os-release` under the root, in the order they are tried.
    paths: [PathBuf; 2],
    /// Which of `paths` was read last, and its modification time then: a sample that finds
    /// both the same reads nothing.
    read: Option<(usize, SystemTime)>,
    /// What the file read says; `None` when no file could be read or parsed.
    release: Option<Release>,
}

impl OsCollector {
    /// Reads `etc/os-release`, or `usr/lib/os-release`, under `root` (node_exporter's
    /// `--path.rootfs`).
    pub(super) fn new(root: &Path) -> Self {
        Self {
            paths: [root.join("etc/os-release"), root.join("usr/lib/os-release")],
            read: None,
            release: None,
        }
    }
}

impl Families for OsCollector {
    fn collect(&mut self) {
        for (i, path) in self.paths.iter().enumerate() {
            match fs::metadata(path) {
                // Only a missing file sends node_exporter to the next one; any other error
                // gives no series.
                Err(error) if error.kind() == ErrorKind::NotFound => continue,
                Err(_) => break,
                Ok(meta) => {
                    let stamp = meta.modified().ok().map(|time| (i, time));
                    if stamp.is_none() || stamp != self.read {
                        self.read = stamp;
                        self.release = read_release(path);
                    }
                    return;
                }
            }
        }
        self.read = None;
        self.release = None;
    }

    fn series(&self, out: &mut dyn Series) {
        let Some(release) = &self.release else {
            return;
        };
        out.section("os");
        let info = release.labels.each_ref().map(|label| label.as_str());
        let version = VERSION_LABELS.map(|i| info.get(i).copied().unwrap_or_default());
        for (family, labels, value) in [
            (f::OS_INFO, &info[..], 1.0),
            (f::OS_VERSION, &version[..], release.version),
        ] {
            if value > 0.0 && labels.iter().all(|label| label_text_ok(label)) {
                for label in labels {
                    out.identity(label);
                }
                out.add(family, labels, value);
            }
        }
    }
}

/// The release `path` describes; `None` if it cannot be read, is longer than [`MAX_FILE`], is
/// not UTF-8, or has a line go-envparse refuses.
fn read_release(path: &Path) -> Option<Release> {
    let mut text = String::new();
    File::open(path)
        .ok()?
        .take(MAX_FILE + 1)
        .read_to_string(&mut text)
        .ok()?;
    if text.len() as u64 > MAX_FILE {
        return None;
    }
    let labels = parse(&text).ok()?;
    let version = labels.get(VERSION_ID).map_or(0.0, |id| major_minor(id));
    Some(Release { labels, version })
}

/// A line go-envparse refuses: it fails the whole file, and node_exporter then reports nothing.
/// (Once, in fact: it has noted the file's time, so its later scrapes report the labels all
/// empty until the file changes. Reporting nothing until then is the honest half of that.)
#[derive(Debug, PartialEq)]
struct Garbled;

/// The texts of [`KEYS`] in os-release's `text`, as go-envparse 0.1 reads it (see
/// [`parse_line`]): a variable set twice has its last value.
fn parse(text: &str) -> Result<Labels, Garbled> {
    let mut labels = Labels::default();
    for line in text.lines() {
        if let Some((key, value)) = parse_line(line)?
            && let Some(slot) = KEYS
                .iter()
                .position(|&k| k == key)
                .and_then(|i| labels.get_mut(i))
        {
            *slot = bounded(&value);
        }
    }
    Ok(labels)
}

/// One line, trimmed: `None` if blank or a comment (`#` first), else `KEY=value`, with an
/// optional `export ` before the key. The key is `[A-Za-z_][A-Za-z0-9_./]*`, the value as
/// [`unquote`] reads it.
fn parse_line(line: &str) -> Result<Option<(&str, String)>, Garbled> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (key, value) = line.split_once('=').ok_or(Garbled)?;
    let (mut key, value) = (key.trim(), value.trim());
    // go-envparse drops the prefix only when a key follows it.
    if key.len() > "export ".len() {
        key = key.strip_prefix("export ").unwrap_or(key);
    }
    let mut bytes = key.bytes();
    let first = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if !first || !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/')) {
        return Err(Garbled);
    }
    unquote(value).map(|value| Some((key, value)))
}

/// Where [`unquote`] is in a value.
#[derive(PartialEq)]
enum Quoting {
    Plain,
    Double,
    Single,
}

/// A value as go-envparse reads it: outside quotes, `#` starts a comment (the spaces before it
/// dropped); `'...'` is taken as it is; `"..."` takes JSON's escapes. A control character
/// anywhere, a quote left open or an unknown escape is [`Garbled`].
fn unquote(value: &str) -> Result<String, Garbled> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    // The length of `out` up to its last byte that is not an unquoted space.
    let mut significant = 0;
    let mut quoting = Quoting::Plain;
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        at += 1;
        if b < 0x20 {
            return Err(Garbled);
        }
        match (&quoting, b) {
            (Quoting::Plain, b'"') => quoting = Quoting::Double,
            (Quoting::Plain, b'\'') => quoting = Quoting::Single,
            (Quoting::Plain, b'#') => {
                out.truncate(significant);
                break;
            }
            (Quoting::Plain, b' ') => out.push(b),
            (Quoting::Double, b'"') | (Quoting::Single, b'\'') => quoting = Quoting::Plain,
            (Quoting::Double, b'\\') => {
                let (ch, used) = escape(bytes.get(at..).unwrap_or_default())?;
                at += used;
                out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                significant = out.len();
            }
            _ => {
                out.push(b);
                significant = out.len();
            }
        }
    }
    if quoting != Quoting::Plain {
        return Err(Garbled);
    }
    String::from_utf8(out).map_err(|_| Garbled)
}

/// The character of the escape at the start of `rest` (after its `\`), and its length: JSON's
/// escapes. A `\u` of half a surrogate pair must be followed by another `\u`; a pair that is
/// not one is U+FFFD, as Go decodes it.
fn escape(rest: &[u8]) -> Result<(char, usize), Garbled> {
    let simple = match rest.first().ok_or(Garbled)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'r' => '\r',
        b'n' => '\n',
        b't' => '\t',
        b'u' => {
            let high = hex4(rest.get(1..5))?;
            if !(0xd800..0xe000).contains(&high) {
                return Ok((
                    char::from_u32(high).unwrap_or(char::REPLACEMENT_CHARACTER),
                    5,
                ));
            }
            if rest.get(5..7) != Some(b"\\u") {
                return Err(Garbled);
            }
            let low = hex4(rest.get(7..11))?;
            let pair = ((0xd800..0xdc00).contains(&high) && (0xdc00..0xe000).contains(&low))
                .then(|| char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)))
                .flatten();
            return Ok((pair.unwrap_or(char::REPLACEMENT_CHARACTER), 11));
        }
        _ => return Err(Garbled),
    };
    Ok((simple, 1))
}

/// Four hexadecimal digits.
fn hex4(digits: Option<&[u8]>) -> Result<u32, Garbled> {
    let digits = std::str::from_utf8(digits.ok_or(Garbled)?).map_err(|_| Garbled)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Garbled);
    }
    u32::from_str_radix(digits, 16).map_err(|_| Garbled)
}

/// The number `VERSION_ID` starts with, as node_exporter matches it (`^[0-9]+\.?[0-9]*`):
/// `22.04` of `22.04`, `3.18` of `3.18.4`, `12` of `12`; 0 when it starts otherwise.
fn major_minor(version_id: &str) -> f64 {
    let digits = |text: &str| text.bytes().take_while(u8::is_ascii_digit).count();
    let whole = digits(version_id);
    if whole == 0 {
        return 0.0;
    }
    let mut end = whole;
    if let Some(fraction) = version_id.get(whole..).and_then(|r| r.strip_prefix('.')) {
        end += 1 + digits(fraction);
    }
    version_id
        .get(..end)
        .and_then(|number| number.parse().ok())
        .filter(|v: &f64| v.is_finite())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::FileTimes;
    use std::time::Duration;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/collect/fixtures/os")
            .join(name)
    }

    /// Each series, by family name.
    fn series_of(collector: &OsCollector) -> Vec<(&'static str, Vec<String>, f64)> {
        super::super::families::listed::named(|out| collector.series(out))
    }

    fn texts(labels: &[&str]) -> Vec<String> {
        labels.iter().map(|l| (*l).to_owned()).collect()
    }

    /// Debian 12's, where `/etc/os-release` links to `/usr/lib/os-release`: what
    /// node_exporter 1.5 reports on Debian 12, label for label.
    #[test]
    fn debian_through_the_link_in_etc() {
        let mut collector = OsCollector::new(&fixture("debian"));
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [
                (
                    "node_os_info",
                    texts(&[
                        "",
                        "debian",
                        "",
                        "",
                        "",
                        "Debian GNU/Linux",
                        "Debian GNU/Linux 12 (bookworm)",
                        "",
                        "",
                        "12 (bookworm)",
                        "bookworm",
                        "12",
                    ]),
                    1.0
                ),
                (
                    "node_os_version",
                    texts(&["debian", "", "Debian GNU/Linux"]),
                    12.0
                ),
            ]
        );
    }

    /// Fedora's container image has no `/etc/os-release`; it sets a variant and an empty
    /// codename.
    #[test]
    fn fedora_from_usr_lib_when_etc_has_none() {
        let mut collector = OsCollector::new(&fixture("fedora"));
        collector.collect();
        let series = series_of(&collector);
        assert_eq!(
            series[0].1,
            texts(&[
                "",
                "fedora",
                "",
                "",
                "",
                "Fedora Linux",
                "Fedora Linux 39 (Container Image)",
                "Container Image",
                "container",
                "39 (Container Image)",
                "",
                "39",
            ])
        );
        assert_eq!(
            series[1],
            (
                "node_os_version",
                texts(&["fedora", "", "Fedora Linux"]),
                39.0
            )
        );
    }

    #[test]
    fn read_again_when_the_file_changes_and_forgotten_when_it_goes() {
        let tree = std::env::temp_dir().join(format!("vitals-os-{}", std::process::id()));
        let file = tree.join("usr/lib/os-release");
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        let write = |text: &str, secs: u64| {
            fs::write(&file, text).unwrap();
            let time = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            let times = FileTimes::new().set_modified(time);
            File::options()
                .write(true)
                .open(&file)
                .unwrap()
                .set_times(times)
                .unwrap();
        };
        let versions = |collector: &OsCollector| -> Vec<f64> {
            series_of(collector)
                .into_iter()
                .filter(|s| s.0 == "node_os_version")
                .map(|s| s.2)
                .collect()
        };
        let mut collector = OsCollector::new(&tree);
        write("ID=alpine\nVERSION_ID=3.18.4\n", 1_000);
        collector.collect();
        assert_eq!(versions(&collector), [3.18]);

        // The same time: not read again, as node_exporter would not.
        write("ID=alpine\nVERSION_ID=3.19.0\n", 1_000);
        collector.collect();
        assert_eq!(versions(&collector), [3.18]);
        write("ID=alpine\nVERSION_ID=3.19.0\n", 2_000);
        collector.collect();
        assert_eq!(versions(&collector), [3.19]);

        // /etc/os-release, once there, comes first.
        fs::create_dir_all(tree.join("etc")).unwrap();
        fs::write(tree.join("etc/os-release"), "ID=arch\n").unwrap();
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [(
                "node_os_info",
                texts(&["", "arch", "", "", "", "", "", "", "", "", "", ""]),
                1.0
            )]
        );

        // A garbled file, then none.
        fs::write(tree.join("etc/os-release"), "ID=\"arch\n").unwrap();
        collector.collect();
        assert_eq!(series_of(&collector), []);
        fs::remove_dir_all(&tree).unwrap();
        collector.collect();
        assert_eq!(series_of(&collector), []);
    }

    #[test]
    fn values_as_go_envparse_reads_them() {
        let value = |line: &str| parse_line(line).map(|kv| kv.map(|(_, v)| v));
        let ok = |text: &str| Ok(Some(text.to_owned()));
        for (line, want) in [
            ("NAME=plain", ok("plain")),
            ("  NAME = spaced out  ", ok("spaced out")),
            ("NAME=\"double quoted\"", ok("double quoted")),
            ("NAME='single \\n quoted'", ok("single \\n quoted")),
            (
                "NAME=\"a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\"",
                ok("a\"b\\c/dé😀"),
            ),
            ("NAME=\"\\ud83dx\\ude00\"", Err(Garbled)),
            ("NAME=\"\\ude00\\ud83d\"", ok("\u{fffd}")),
            ("NAME=\"new\\nline\"", ok("new\nline")),
            ("NAME=value # comment", ok("value")),
            ("NAME=\"quoted # kept\" # dropped", ok("quoted # kept")),
            ("NAME=half\"quoted\"again", ok("halfquotedagain")),
            ("NAME=é", ok("é")),
            ("NAME=", ok("")),
            ("export NAME=exported", ok("exported")),
            ("export=not a prefix", ok("not a prefix")),
            ("_KEY.x/y=1", ok("1")),
            ("# a comment", Ok(None)),
            ("   ", Ok(None)),
            ("NAME", Err(Garbled)),
            ("=value", Err(Garbled)),
            ("1NAME=x", Err(Garbled)),
            ("NA-ME=x", Err(Garbled)),
            ("export  NAME=x", Err(Garbled)),
            ("NAME=\"open", Err(Garbled)),
            ("NAME='open", Err(Garbled)),
            ("NAME=\"bad \\q escape\"", Err(Garbled)),
            ("NAME=\"\\u12\"", Err(Garbled)),
            ("NAME=tab\there", Err(Garbled)),
            ("NAME=\"tab\there\"", Err(Garbled)),
        ] {
            assert_eq!(value(line), want, "{line:?}");
        }
        assert_eq!(parse_line("export NAME=x").unwrap().unwrap().0, "NAME");
    }

    #[test]
    fn a_garbled_line_anywhere_fails_the_file_and_the_last_value_counts() {
        assert_eq!(parse("ID=debian\nHOME URL=x\n"), Err(Garbled));
        let labels = parse("ID=first\n\n# ID=comment\nID=second\nOTHER=1\n").unwrap();
        assert_eq!(labels[1].as_str(), "second");
        assert!(
            labels
                .iter()
                .enumerate()
                .all(|(i, l)| i == 1 || l.is_empty())
        );
        let long = "x".repeat(300);
        assert_eq!(parse(&format!("NAME={long}\n")).unwrap()[5].len(), MAX_TEXT);
    }

    #[test]
    fn a_label_the_server_would_refuse_leaves_out_its_series() {
        let collector = OsCollector {
            paths: [PathBuf::new(), PathBuf::new()],
            read: None,
            release: Some(Release {
                labels: parse("ID=x\nPRETTY_NAME=\"two\\nlines\"\nVERSION_ID=1\n").unwrap(),
                version: 1.0,
            }),
        };
        assert_eq!(
            series_of(&collector),
            [("node_os_version", texts(&["x", "", ""]), 1.0)]
        );
    }

    #[test]
    fn the_version_is_the_leading_major_minor() {
        for (id, want) in [
            ("12", 12.0),
            ("22.04", 22.04),
            ("3.18.4", 3.18),
            ("8.", 8.0),
            ("10.0.19045", 10.0),
            ("2023.1-rc", 2023.1),
            ("0", 0.0),
            ("rolling", 0.0),
            (".5", 0.0),
            ("", 0.0),
        ] {
            assert_eq!(major_minor(id), want, "{id:?}");
        }
    }

    /// The labels of `node_os_info` are the variables' names in lower case, and
    /// `node_os_version`'s are where [`VERSION_LABELS`] says.
    #[test]
    fn the_keys_are_the_catalogue_labels() {
        let info = agent_core::catalogue::family(f::OS_INFO).unwrap();
        let lower: Vec<String> = KEYS.iter().map(|k| k.to_lowercase()).collect();
        assert_eq!(info.labels, lower);
        let version = agent_core::catalogue::family(f::OS_VERSION).unwrap();
        assert_eq!(version.labels, VERSION_LABELS.map(|i| info.labels[i]));
        assert_eq!(info.labels[VERSION_ID], "version_id");
    }
}
