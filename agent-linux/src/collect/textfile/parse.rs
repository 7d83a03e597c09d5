//! The Prometheus text format (0.0.4) as node_exporter 1.5's textfile collector reads a
//! `*.prom` file, with the parser of prometheus/common 0.37 (`expfmt.TextParser`): the same
//! files are read, and the same are refused, with its reasons. Two more are refused, for what
//! a declaration cannot carry: a `histogram` or `summary` family, and a value that is not a
//! finite number (`NaN`, `+Inf`).
//!
//! A line is blank, a comment, or a sample. A comment is `# HELP name text` (with `\\` and
//! `\n` escaped), `# TYPE name type`, or anything else, which is skipped. A sample is
//! `name{label="value",...} value [timestamp]`: blanks and tabs may stand between the
//! tokens inside the braces, one or more between value and timestamp, and none after the last
//! token; a label value escapes `\\`, `\"` and `\n`. A family's `TYPE` comes before its first
//! sample, and each comment kind at most once; its samples need not be together. The last line
//! must end in a newline. A file with a timestamp is refused whole, as node_exporter refuses
//! it, once the rest has parsed.

use std::collections::HashMap;
use std::fmt;

use agent_core::catalogue::Kind;

/// One family of a file: its name, its type and help text if given, and its samples.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Family {
    pub(super) name: String,
    /// `untyped` when no `TYPE` line says otherwise.
    pub(super) kind: Kind,
    pub(super) help: Option<String>,
    pub(super) samples: Vec<Sample>,
}

/// One sample: its label names and values, as written, and its value.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sample {
    pub(super) labels: Vec<(String, String)>,
    pub(super) value: f64,
}

/// Why a file is refused, in node_exporter's words where it has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Error {
    /// The text is not the format: the line (from 1) and why.
    Syntax(usize, String),
    /// Every line parsed, but a sample has a timestamp.
    Timestamps,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax(line, why) => {
                write!(f, "text format parsing error in line {line}: {why}")
            }
            Error::Timestamps => f.write_str("contains unsupported client-side timestamps"),
        }
    }
}

/// The families of `text`, in the order of their first line, without those that have no
/// sample.
pub(super) fn parse(text: &str) -> Result<Vec<Family>, Error> {
    let mut parser = Parser {
        families: Vec::new(),
        by_name: HashMap::new(),
        typed: Vec::new(),
        timestamps: false,
    };
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let number = i + 1;
        if lines.peek().is_none() {
            // After the last newline: nothing but blanks, or the file ends mid-line.
            if !line.bytes().all(blank) {
                return Err(Error::Syntax(
                    number,
                    "unexpected end of input stream".into(),
                ));
            }
            break;
        }
        parser
            .line(line)
            .map_err(|why| Error::Syntax(number, why))?;
    }
    if parser.timestamps {
        return Err(Error::Timestamps);
    }
    let mut families = parser.families;
    families.retain(|f| !f.samples.is_empty());
    Ok(families)
}

struct Parser {
    families: Vec<Family>,
    /// Each family's place, by name.
    by_name: HashMap<String, usize>,
    /// Whether each family's type is settled: by its `TYPE` line or by its first sample.
    typed: Vec<bool>,
    timestamps: bool,
}

impl Parser {
    /// The place of the family `name`, made if new.
    fn family(&mut self, name: &str) -> usize {
        if let Some(&at) = self.by_name.get(name) {
            return at;
        }
        self.by_name.insert(name.to_owned(), self.families.len());
        self.families.push(Family {
            name: name.to_owned(),
            kind: Kind::Untyped,
            help: None,
            samples: Vec::new(),
        });
        self.typed.push(false);
        self.families.len() - 1
    }

    /// One line, without its newline.
    fn line(&mut self, line: &str) -> Result<(), String> {
        let mut c = Cursor(line);
        c.skip_blanks();
        match c.peek() {
            None => Ok(()),
            Some(b'#') => {
                c.skip(1);
                self.comment(c)
            }
            Some(_) => self.sample(c),
        }
    }

    fn comment(&mut self, mut c: Cursor<'_>) -> Result<(), String> {
        c.skip_blanks();
        let keyword = c.until_whitespace();
        if c.is_empty() || (keyword != "HELP" && keyword != "TYPE") {
            return Ok(());
        }
        c.skip_blanks();
        let name = c.name(metric_char);
        if c.is_empty() {
            return Ok(());
        }
        if !c.peek().is_some_and(blank) {
            return Err("invalid metric name in comment".into());
        }
        let at = self.family(name);
        c.skip_blanks();
        if c.is_empty() {
            return Ok(());
        }
        let (family, typed) = match (self.families.get_mut(at), self.typed.get_mut(at)) {
            (Some(family), Some(typed)) => (family, typed),
            _ => return Ok(()),
        };
        if keyword == "HELP" {
            if family.help.is_some() {
                return Err(format!("second HELP line for metric name {name:?}"));
            }
            family.help = Some(unescape_help(c.rest())?);
            return Ok(());
        }
        if *typed {
            return Err(format!(
                "second TYPE line for metric name {name:?}, or TYPE reported after samples"
            ));
        }
        let word = c.rest();
        family.kind = match word.to_ascii_uppercase().as_str() {
            "COUNTER" => Kind::Counter,
            "GAUGE" => Kind::Gauge,
            "UNTYPED" => Kind::Untyped,
            "HISTOGRAM" | "SUMMARY" => {
                return Err(format!(
                    "type {word:?} of metric name {name:?} is not supported by vitals"
                ));
            }
            _ => return Err(format!("unknown metric type {word:?}")),
        };
        *typed = true;
        Ok(())
    }

    fn sample(&mut self, mut c: Cursor<'_>) -> Result<(), String> {
        let name = c.name(metric_char);
        if name.is_empty() {
            return Err("invalid metric name".into());
        }
        let at = self.family(name);
        if let Some(typed) = self.typed.get_mut(at) {
            *typed = true;
        }
        c.skip_blanks();
        let mut labels: Vec<(String, String)> = Vec::new();
        if c.peek() == Some(b'{') {
            c.skip(1);
            loop {
                c.skip_blanks();
                if c.peek() == Some(b'}') {
                    c.skip(1);
                    break;
                }
                let label = c.name(label_char);
                if label.is_empty() {
                    return Err(format!("invalid label name for metric {name:?}"));
                }
                if label == "__name__" {
                    return Err("label name \"__name__\" is reserved".into());
                }
                c.skip_blanks();
                if c.peek() != Some(b'=') {
                    return Err(format!(
                        "expected '=' after label name, found {:?}",
                        c.peek().map(char::from)
                    ));
                }
                c.skip(1);
                if labels.iter().any(|(n, _)| n == label) {
                    return Err(format!("duplicate label names for metric {name:?}"));
                }
                c.skip_blanks();
                if c.peek() != Some(b'"') {
                    return Err(format!(
                        "expected '\"' at start of label value, found {:?}",
                        c.peek().map(char::from)
                    ));
                }
                c.skip(1);
                let value = c.label_value()?;
                c.skip_blanks();
                match c.peek() {
                    Some(b',') => c.skip(1),
                    Some(b'}') => {
                        c.skip(1);
                        labels.push((label.to_owned(), value));
                        break;
                    }
                    _ => return Err(format!("unexpected end of label value {value:?}")),
                }
                labels.push((label.to_owned(), value));
            }
            c.skip_blanks();
        }
        let token = c.until_whitespace();
        let value =
            parse_float(token).ok_or_else(|| format!("expected float as value, got {token:?}"))?;
        if !c.is_empty() {
            c.skip_blanks();
            let token = c.until_whitespace();
            if token.parse::<i64>().is_err() {
                return Err(format!("expected integer as timestamp, got {token:?}"));
            }
            if !c.is_empty() {
                return Err(format!("spurious string after timestamp: {:?}", c.rest()));
            }
            self.timestamps = true;
        }
        if !value.is_finite() {
            return Err(format!(
                "value {token:?} of metric name {name:?} is not a finite number, which vitals cannot carry"
            ));
        }
        if let Some(family) = self.families.get_mut(at) {
            family.samples.push(Sample { labels, value });
        }
        Ok(())
    }
}

/// What is left of a line.
struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.0.as_bytes().first().copied()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn rest(&self) -> &'a str {
        self.0
    }

    /// Moves past `n` bytes of ASCII.
    fn skip(&mut self, n: usize) {
        self.0 = self.0.get(n..).unwrap_or_default();
    }

    fn skip_blanks(&mut self) {
        self.0 = self.0.trim_start_matches([' ', '\t']);
    }

    /// The text up to a blank or the end of the line.
    fn until_whitespace(&mut self) -> &'a str {
        let end = self.0.find([' ', '\t']).unwrap_or(self.0.len());
        let (token, rest) = self.0.split_at(end);
        self.0 = rest;
        token
    }

    /// A name of the characters `char_ok` allows (the first not a digit), or nothing.
    fn name(&mut self, char_ok: fn(u8) -> bool) -> &'a str {
        let bytes = self.0.as_bytes();
        if bytes
            .first()
            .is_none_or(|b| b.is_ascii_digit() || !char_ok(*b))
        {
            return "";
        }
        let end = bytes
            .iter()
            .position(|&b| !char_ok(b))
            .unwrap_or(bytes.len());
        let (name, rest) = self.0.split_at(end);
        self.0 = rest;
        name
    }

    /// A label value after its opening quote, unescaped, and past its closing quote.
    fn label_value(&mut self) -> Result<String, String> {
        let mut value = String::new();
        let mut chars = self.0.char_indices();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '"' => {
                    self.0 = self.0.get(i + 1..).unwrap_or_default();
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, '"')) => value.push('"'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => {
                        return Err(format!("invalid escape sequence '\\{other}'"));
                    }
                    None => return Err(END_ESCAPE.into()),
                },
                other => value.push(other),
            }
        }
        Err(format!("label value {value:?} contains unescaped new-line"))
    }
}

fn blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn label_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn metric_char(b: u8) -> bool {
    label_char(b) || b == b':'
}

/// Why a line ending in a backslash is refused: it would escape the newline, which is no
/// escape (Go says so with the newline itself in its message, which would break a log line).
const END_ESCAPE: &str = "invalid escape sequence '\\' at the end of the line";

/// A `HELP` text: `\\` and `\n` unescaped, any other escape refused.
fn unescape_help(text: &str) -> Result<String, String> {
    let mut help = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            help.push(ch);
            continue;
        }
        match chars.next() {
            Some('\\') => help.push('\\'),
            Some('n') => help.push('\n'),
            Some(other) => return Err(format!("invalid escape sequence '\\{other}'")),
            None => return Err(END_ESCAPE.into()),
        }
    }
    Ok(help)
}

/// A value as Go's `strconv.ParseFloat` reads it, without the hexadecimal and underscored
/// forms that prometheus/common refuses.
fn parse_float(token: &str) -> Option<f64> {
    if token.contains(['p', 'P', '_']) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(labels: &[(&str, &str)], value: f64) -> Sample {
        Sample {
            labels: labels
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            value,
        }
    }

    fn family(name: &str, kind: Kind, help: Option<&str>, samples: Vec<Sample>) -> Family {
        Family {
            name: name.into(),
            kind,
            help: help.map(str::to_owned),
            samples,
        }
    }

    /// A file as node_exporter's own textfile fixtures write them, and the odd spellings the
    /// format allows.
    const GOOD: &str = "\
# A comment, and a blank line.

# HELP backup_age_seconds Seconds since the last backup \\\\ of \"home\".
# TYPE backup_age_seconds gauge
backup_age_seconds{target=\"/home\"} 3600
backup_age_seconds{ target = \"/srv\" , } 86400.5
\t raid_degraded 0
# TYPE jobs_total COUNTER
jobs_total{job_name=\"a \\\"quoted\\\" \\\\ \\n one\",result=\"ok\"} 1e3
jobs_total{result=\"failed\",job_name=\"b\"}\t-2.5e-1
# HELP raid_degraded 1 when an array is degraded.
#HELP not_sampled is a help line without a space too, of a family without samples
# TYPE
# HELP empty_help
backup_age_seconds{target=\"/var\"} .5
empty_family_with_type_only_is_dropped_but_this_one_is{} +4
";

    #[test]
    fn a_good_file_gives_its_families_in_order() {
        let families = parse(GOOD).unwrap();
        assert_eq!(
            families,
            [
                family(
                    "backup_age_seconds",
                    Kind::Gauge,
                    Some("Seconds since the last backup \\ of \"home\"."),
                    vec![
                        sample(&[("target", "/home")], 3600.0),
                        sample(&[("target", "/srv")], 86400.5),
                        sample(&[("target", "/var")], 0.5),
                    ]
                ),
                family(
                    "raid_degraded",
                    Kind::Untyped,
                    Some("1 when an array is degraded."),
                    vec![sample(&[], 0.0)]
                ),
                family(
                    "jobs_total",
                    Kind::Counter,
                    None,
                    vec![
                        sample(
                            &[("job_name", "a \"quoted\" \\ \n one"), ("result", "ok")],
                            1000.0
                        ),
                        sample(&[("result", "failed"), ("job_name", "b")], -0.25),
                    ]
                ),
                family(
                    "empty_family_with_type_only_is_dropped_but_this_one_is",
                    Kind::Untyped,
                    None,
                    vec![sample(&[], 4.0)]
                ),
            ]
        );
    }

    #[test]
    fn an_empty_file_or_one_of_comments_has_no_family() {
        for text in [
            "",
            "\n\n",
            "   ",
            "# only\n",
            "# TYPE a gauge\n# HELP a A.\n",
        ] {
            assert_eq!(parse(text), Ok(Vec::new()), "{text:?}");
        }
    }

    #[test]
    fn timestamps_refuse_the_whole_file_once_it_parsed() {
        assert_eq!(parse("a 1\nb 2 1700000000000\n"), Err(Error::Timestamps));
        assert_eq!(parse("a 1 -5\n"), Err(Error::Timestamps));
        // A syntax error after the timestamp is the answer: the file did not parse.
        assert_eq!(
            parse("a 1 17\nb\n"),
            Err(Error::Syntax(2, "expected float as value, got \"\"".into()))
        );
        assert_eq!(
            Error::Timestamps.to_string(),
            "contains unsupported client-side timestamps"
        );
    }

    #[test]
    fn garbage_is_refused_with_its_line_and_reason() {
        let cases: &[(&str, usize, &str)] = &[
            ("a 1", 1, "unexpected end of input stream"),
            ("a 1\n# end", 2, "unexpected end of input stream"),
            ("a\n", 1, "expected float as value, got \"\""),
            ("a one\n", 1, "expected float as value, got \"one\""),
            ("a 0x1p3\n", 1, "expected float as value, got \"0x1p3\""),
            ("a 1_000\n", 1, "expected float as value, got \"1_000\""),
            ("a 1\r\n", 1, "expected float as value, got \"1\\r\""),
            ("a 1 \n", 1, "expected integer as timestamp, got \"\""),
            ("a 1 2 3\n", 1, "spurious string after timestamp: \" 3\""),
            ("a 1 2.5\n", 1, "expected integer as timestamp, got \"2.5\""),
            ("9a 1\n", 1, "invalid metric name"),
            ("{a=\"b\"} 1\n", 1, "invalid metric name"),
            ("a-b 1\n", 1, "expected float as value, got \"-b\""),
            ("a{9=\"x\"} 1\n", 1, "invalid label name for metric \"a\""),
            (
                "a{__name__=\"x\"} 1\n",
                1,
                "label name \"__name__\" is reserved",
            ),
            (
                "a{b=\"x\",b=\"y\"} 1\n",
                1,
                "duplicate label names for metric \"a\"",
            ),
            (
                "a{b \"x\"} 1\n",
                1,
                "expected '=' after label name, found Some('\"')",
            ),
            (
                "a{b=x} 1\n",
                1,
                "expected '\"' at start of label value, found Some('x')",
            ),
            ("a{b=\"x\\t\"} 1\n", 1, "invalid escape sequence '\\t'"),
            (
                "a{b=\"x} 1\n",
                1,
                "label value \"x} 1\" contains unescaped new-line",
            ),
            ("a{b=\"x\\\n", 1, END_ESCAPE),
            (
                "a{b=\"x\" c=\"y\"} 1\n",
                1,
                "unexpected end of label value \"x\"",
            ),
            (
                "# HELP a one\n# HELP a two\n",
                2,
                "second HELP line for metric name \"a\"",
            ),
            (
                "# HELP a bad \\t escape\n",
                1,
                "invalid escape sequence '\\t'",
            ),
            ("# HELP a ends in \\\n", 1, END_ESCAPE),
            (
                "# TYPE a gauge\n# TYPE a gauge\n",
                2,
                "second TYPE line for metric name \"a\", or TYPE reported after samples",
            ),
            (
                "a 1\n# TYPE a gauge\n",
                2,
                "second TYPE line for metric name \"a\", or TYPE reported after samples",
            ),
            ("# TYPE a gauge \n", 1, "unknown metric type \"gauge \""),
            ("# TYPE a info\n", 1, "unknown metric type \"info\""),
            ("# HELP 9a x\n", 1, "invalid metric name in comment"),
            ("# HELP a-b x\n", 1, "invalid metric name in comment"),
            (
                "# TYPE h histogram\n",
                1,
                "type \"histogram\" of metric name \"h\" is not supported by vitals",
            ),
            (
                "# TYPE s Summary\n",
                1,
                "type \"Summary\" of metric name \"s\" is not supported by vitals",
            ),
            (
                "a NaN\n",
                1,
                "value \"NaN\" of metric name \"a\" is not a finite number, which vitals cannot carry",
            ),
            (
                "a{b=\"c\"} -Inf\n",
                1,
                "value \"-Inf\" of metric name \"a\" is not a finite number, which vitals cannot carry",
            ),
            (
                "a 1e400\n",
                1,
                "value \"1e400\" of metric name \"a\" is not a finite number, which vitals cannot carry",
            ),
        ];
        for (text, line, why) in cases {
            assert_eq!(
                parse(text),
                Err(Error::Syntax(*line, (*why).to_owned())),
                "{text:?}"
            );
        }
        assert_eq!(
            Error::Syntax(3, "invalid metric name".into()).to_string(),
            "text format parsing error in line 3: invalid metric name"
        );
    }

    #[test]
    fn values_read_as_go_reads_them() {
        for (token, value) in [
            ("1", 1.0),
            ("-0", 0.0),
            ("+5", 5.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("1E+3", 1000.0),
            ("-2.5e-3", -0.0025),
            ("18446744073709551616", 18_446_744_073_709_551_616.0),
        ] {
            let text = format!("a {token}\n");
            assert_eq!(parse(&text).unwrap()[0].samples[0].value, value, "{token}");
        }
    }

    #[test]
    fn a_big_file_parses_in_one_pass() {
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!("m{} {{i=\"{i}\"}} {i}\n", i % 7));
        }
        // And as many families as a 64 KiB file holds, each found by name.
        for i in 0..6000 {
            text.push_str(&format!("f{i} 1\n"));
        }
        let families = parse(&text).unwrap();
        assert_eq!(families.len(), 6007);
        assert_eq!(
            families.iter().map(|f| f.samples.len()).sum::<usize>(),
            8000
        );
    }
}
