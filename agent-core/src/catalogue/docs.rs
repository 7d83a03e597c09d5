//! The documents that list the catalogue: docs/metrics.md, rendered from [`FAMILIES`] and
//! compared byte for byte (`VITALS_BLESS=1` rewrites it: `make metrics-doc`).

extern crate std;
use std::format;
use std::path::{Path, PathBuf};
use std::string::String;
use std::vec::Vec;

use super::{FAMILIES, Family, Source};

/// A file of the workspace, by its path from the workspace's root.
fn workspace_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
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
         - **labels**: the label names after `agent`, which every series here has first.\n\
         - **given by**: `agent`, the agent's samples; `hello`, the agent's hello, once a\n  \
         connection; `time`, the time the agent took a sample; `server`, the server, from what it\n  \
         counts of the agent.\n\
         \n\
         The server's own `vitals_server_*` metrics, which have no `agent` label, are in the\n\
         README's [Metrics](../README.md#metrics) table with the rest, and where each value comes\n\
         from on the agent.\n\
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
