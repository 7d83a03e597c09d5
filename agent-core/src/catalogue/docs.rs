//! The documents that list the catalogue: docs/metrics.md, rendered from [`FAMILIES`] and
//! compared byte for byte (`VITALS_BLESS=1` rewrites it: `make metrics-doc`), and the README's
//! Metrics section, checked to name every family in full and nothing that is not one.

extern crate std;
use std::collections::BTreeSet;
use std::format;
use std::path::{Path, PathBuf};
use std::string::String;
use std::vec::Vec;

use super::{FAMILIES, Family, Source};

/// A file of the workspace, by its path from the workspace's root.
fn workspace_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn read(path: &str) -> String {
    let full = workspace_file(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn source(family: &Family) -> &'static str {
    match family.source {
        Source::Agent => "agent",
        Source::Hello => "hello",
        Source::Time => "time",
        Source::Server => "server",
    }
}

/// A table cell: a `|` would end it.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// docs/metrics.md as the catalogue gives it.
fn render() -> String {
    let mut out = String::from(
        "# Metric families\n\
         \n\
         <!-- Generated from agent-core/src/catalogue.rs by `make metrics-doc`: do not edit. -->\n\
         \n\
         Every per-agent metric family vitals exposes, as the catalogue (`FAMILIES` in\n\
         [agent-core/src/catalogue.rs](../agent-core/src/catalogue.rs)) lists it. This file is\n\
         generated: change the catalogue, then run `make metrics-doc` to write it again;\n\
         `cargo test -p agent-core` fails while the two differ.\n\
         \n\
         - **#**: the family's number, its place in the catalogue. Rows are only ever added at\n  \
         the end, so a number never changes.\n\
         - **labels**: the label names after `instance` (the agent's id), which every series\n  \
         here has first.\n\
         - **given by**: `agent`, the agent's samples; `hello`, the agent's hello, once a\n  \
         connection; `time`, the time the agent took a sample; `server`, the server, from what it\n  \
         counts of the agent.\n\
         \n\
         The server's own `vitals_server_*` metrics, which carry the server's own `instance`, are\n\
         in the README's [Metrics](../README.md#metrics) table with the rest, and where each value\n\
         comes from on the agent.\n\
         \n\
         | # | name | type | unit | labels | help | given by |\n\
         |---:|---|---|---|---|---|---|\n",
    );
    for (number, family) in FAMILIES.iter().enumerate() {
        let labels: Vec<String> = family.labels.iter().map(|l| format!("`{l}`")).collect();
        out += &format!(
            "| {number} | `{}` | {} | {} | {} | {} | {} |\n",
            family.name,
            family.kind.as_str(),
            family.unit,
            labels.join(", "),
            cell(family.help),
            source(family),
        );
    }
    out
}

#[test]
fn docs_metrics_md_is_the_catalogue() {
    const PATH: &str = "docs/metrics.md";
    let want = render();
    if std::env::var_os("VITALS_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(workspace_file(PATH), &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(workspace_file(PATH)).unwrap_or_default();
    if have.as_bytes() != want.as_bytes() {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "{PATH} is not the catalogue's table (they differ from line {}: {:?}, the catalogue \
             gives {:?}); regenerate it with `make metrics-doc` \
             (VITALS_BLESS=1 cargo test -p agent-core docs_metrics_md)",
            line + 1,
            have.lines().nth(line).unwrap_or("<end of file>"),
            want.lines().nth(line).unwrap_or("<end of file>"),
        );
    }
}

/// The metric name a `code span` of the README starts with, if it starts with one: `None` for
/// a pattern (`node_*`) and for text that is not a name.
fn metric_name(span: &str) -> Option<&str> {
    let end = span
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(span.len());
    let (name, rest) = span.split_at(end);
    // `up` is the one family without a prefix: Prometheus' own name for a target's health.
    let metric = ["node_", "vitals_", "process_"]
        .iter()
        .any(|p| name.starts_with(p))
        || name == "up";
    (metric && !rest.starts_with('*')).then_some(name)
}

/// The metric names written in backticks in `text`.
fn metric_names(text: &str) -> BTreeSet<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(metric_name)
        .collect()
}

/// Every `.rs` file under `dir`, read.
fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn readme_metrics_section_names_every_family_and_only_them() {
    let readme = read("README.md");
    let start = readme
        .find("\n## Metrics\n")
        .expect("README.md has a `## Metrics` section");
    let section = &readme[start + 1..];
    let section = &section[..section[1..].find("\n## ").map_or(section.len(), |i| i + 1)];
    assert!(
        !section.contains("```"),
        "the Metrics section has no code blocks"
    );

    // The list of node_exporter's families vitals does not export: none may be a family.
    let not_covered_at = section
        .find("\n### What vitals does not export\n")
        .expect("README.md's Metrics section says what vitals does not export");
    let rest = &section[not_covered_at + 1..];
    let not_covered = &rest[..rest[1..].find("\n#").map_or(rest.len(), |i| i + 1)];
    let described = section.replace(not_covered, "");

    let families: BTreeSet<&str> = FAMILIES.iter().map(|f| f.name).collect();
    let mut server_sources = Vec::new();
    sources(&workspace_file("server/src"), &mut server_sources);
    let named = metric_names(&described);
    let mut wrong = Vec::new();
    for family in &families {
        if !named.contains(family) {
            wrong.push(format!(
                "{family}: a family of the catalogue, not written in full in the Metrics section"
            ));
        }
    }
    for name in &named {
        if families.contains(name) {
            continue;
        }
        let quoted = format!("\"{name}\"");
        // The server's own metrics are in its sources.
        if name.starts_with("vitals_server_") {
            if !server_sources.iter().any(|s| s.contains(&quoted)) {
                wrong.push(format!("{name}: not a metric of the server (server/src)"));
            }
        } else {
            wrong.push(format!("{name}: not a family of the catalogue"));
        }
    }
    for name in metric_names(not_covered) {
        if families.contains(name) {
            wrong.push(format!(
                "{name}: a family of the catalogue now, but listed as not exported"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "README.md's Metrics section and the catalogue (agent-core/src/catalogue.rs) differ; \
         write each family's full name in the table (docs/metrics.md has them all):\n{}",
        wrong.join("\n")
    );
}
