//! The HTML of `/` (the fleet) and `/agents/<id>` (one agent): small, self-contained (no
//! external asset, font or script), readable on a phone, and whole without JavaScript. Sorting
//! and filtering are links and a form that the server answers; the page's one script only
//! fetches the same URL every few seconds and swaps the fresh table in.

use std::fmt::Write;

use super::Fleet;
use super::html::{attr, text, url};
use super::summary::{Row, Series};
use crate::facts::{History, Point};

/// Seconds between the page's refreshes of its data.
pub const REFRESH_SECONDS: u32 = 5;

/// A column of the fleet's table, by which it may be sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Status,
    Id,
    Seen,
    Address,
    Version,
    Arch,
    Os,
    Kernel,
    Interval,
    Merged,
    Lost,
    Dropped,
    Cpu,
    Memory,
    Disk,
    Load,
    Temperature,
}

impl Column {
    /// In the table's order: what says whether a host needs a look first, so that a phone's
    /// width shows it; its facts after.
    pub const ALL: [Column; 17] = [
        Column::Status,
        Column::Id,
        Column::Seen,
        Column::Cpu,
        Column::Memory,
        Column::Disk,
        Column::Load,
        Column::Temperature,
        Column::Merged,
        Column::Lost,
        Column::Dropped,
        Column::Address,
        Column::Version,
        Column::Arch,
        Column::Os,
        Column::Kernel,
        Column::Interval,
    ];

    /// Its name in URLs and the API.
    pub fn name(self) -> &'static str {
        match self {
            Column::Status => "status",
            Column::Id => "id",
            Column::Seen => "seen",
            Column::Address => "address",
            Column::Version => "version",
            Column::Arch => "arch",
            Column::Os => "os",
            Column::Kernel => "kernel",
            Column::Interval => "interval",
            Column::Merged => "merged",
            Column::Lost => "lost",
            Column::Dropped => "dropped",
            Column::Cpu => "cpu",
            Column::Memory => "memory",
            Column::Disk => "disk",
            Column::Load => "load",
            Column::Temperature => "temperature",
        }
    }

    /// Its heading.
    fn heading(self) -> &'static str {
        match self {
            Column::Status => "Status",
            Column::Id => "Agent",
            Column::Seen => "Last seen",
            Column::Address => "Address",
            Column::Version => "Version",
            Column::Arch => "Arch",
            Column::Os => "OS",
            Column::Kernel => "Kernel",
            Column::Interval => "Interval",
            Column::Merged => "Merged",
            Column::Lost => "Lost",
            Column::Dropped => "Dropped",
            Column::Cpu => "CPU",
            Column::Memory => "Memory",
            Column::Disk => "Fullest disk",
            Column::Load => "Load/CPU",
            Column::Temperature => "Hottest",
        }
    }

    pub fn parse(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// How the fleet's table is shown: the sort and the filter, from the query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub sort: Column,
    pub descending: bool,
    /// Rows whose id, address, host name, version, arch, OS or kernel hold this text, in any
    /// case; empty for every row.
    pub filter: String,
}

impl Default for View {
    /// Down first, then by id.
    fn default() -> Self {
        View {
            sort: Column::Status,
            descending: false,
            filter: String::new(),
        }
    }
}

impl View {
    /// The view a query string asks for; what it does not say (or says wrongly) is the default.
    pub fn from_query(query: &str) -> View {
        let value = |name| super::html::query_value(query, name);
        View {
            sort: value("sort")
                .and_then(|s| Column::parse(&s))
                .unwrap_or(Column::Status),
            descending: value("dir").as_deref() == Some("desc"),
            filter: value("q").unwrap_or_default(),
        }
    }

    /// The rows this view shows, in its order.
    pub fn apply<'a>(&self, rows: &'a [Row]) -> Vec<&'a Row> {
        let needle = self.filter.to_lowercase();
        let mut shown: Vec<&Row> = rows
            .iter()
            .filter(|row| needle.is_empty() || matches(row, &needle))
            .collect();
        // By id first, so that equal keys keep the order of their ids (the sort is stable).
        shown.sort_by(|a, b| a.facts.id.cmp(&b.facts.id));
        let sort = self.sort;
        shown.sort_by(|a, b| {
            let (ka, kb) = (key(a, sort), key(b, sort));
            // A row without a value comes last, either way.
            match (ka.is_empty(), kb.is_empty()) {
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if self.descending => kb.cmp(&ka),
                _ => ka.cmp(&kb),
            }
        });
        shown
    }

    /// The query string of this view, with `sort` and `dir` as given.
    fn query(&self, sort: Column, descending: bool) -> String {
        let mut q = format!("?sort={}", sort.name());
        if descending {
            q.push_str("&dir=desc");
        }
        if !self.filter.is_empty() {
            q.push_str("&q=");
            url(&mut q, &self.filter);
        }
        q
    }
}

fn matches(row: &Row, needle: &str) -> bool {
    let f = &row.facts;
    let address = f.address.map(|a| a.to_string()).unwrap_or_default();
    [
        &f.id,
        &address,
        &f.hostname,
        &f.version,
        &f.arch,
        &f.os,
        &f.kernel,
    ]
    .iter()
    .any(|s| s.to_lowercase().contains(needle))
}

/// A sort key: text, or a number that sorts as one (empty when the row has no value).
#[derive(Debug, PartialEq, PartialOrd)]
enum Key {
    Text(String),
    Number(f64),
    None,
}

impl Key {
    fn is_empty(&self) -> bool {
        matches!(self, Key::None)
    }

    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        match (self, other) {
            (Key::Number(a), Key::Number(b)) => a.total_cmp(b),
            _ => self.partial_cmp(other).unwrap_or(std::cmp::Ordering::Equal),
        }
    }
}

fn key(row: &Row, column: Column) -> Key {
    let f = &row.facts;
    let number = |v: Option<f64>| v.map_or(Key::None, Key::Number);
    let text = |s: &str| Key::Text(s.to_lowercase());
    match column {
        Column::Status => Key::Number(if row.up { 1.0 } else { 0.0 }),
        Column::Id => text(&f.id),
        Column::Seen => number(row.last_seen.map(|t| -t)),
        // By the address' numbers, not its text.
        Column::Address => f.address.map_or(Key::None, |a| {
            Key::Text(match a.ip() {
                std::net::IpAddr::V4(ip) => format!("4{:010}:{:05}", u32::from(ip), a.port()),
                std::net::IpAddr::V6(ip) => format!("6{:039}:{:05}", u128::from(ip), a.port()),
            })
        }),
        Column::Version => text(&f.version),
        Column::Arch => text(&f.arch),
        Column::Os => text(&f.os),
        Column::Kernel => text(&f.kernel),
        Column::Interval => number(Some(f.interval)),
        Column::Merged => number(row.samples),
        Column::Lost => number(row.gaps),
        Column::Dropped => number(row.dropped),
        Column::Cpu => number(row.health.cpu),
        Column::Memory => number(row.health.memory),
        Column::Disk => number(row.health.fullest.as_ref().map(|f| f.1)),
        Column::Load => number(row.health.load_per_cpu),
        Column::Temperature => number(row.health.hottest.as_ref().map(|h| h.1)),
    }
}

/// Amber and red from these shares of a bar: a gauge's thresholds.
#[derive(Debug, Clone, Copy)]
struct Thresholds {
    /// The value of a full bar.
    full: f64,
    amber: f64,
    red: f64,
}

const SHARE: Thresholds = Thresholds {
    full: 1.0,
    amber: 0.8,
    red: 0.9,
};
const LOAD: Thresholds = Thresholds {
    full: 2.0,
    amber: 1.0,
    red: 1.5,
};
const CELSIUS: Thresholds = Thresholds {
    full: 100.0,
    amber: 70.0,
    red: 85.0,
};

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fff}\
header,main,footer,section{padding:8px 12px}h1{font-size:20px;margin:4px 0}\
h2{font-size:16px;margin:16px 0 6px}.counts span{margin-right:12px}\
form{margin:6px 0}input{font:inherit;padding:4px;max-width:60vw}\
.wrap{overflow-x:auto}table{border-collapse:collapse;min-width:100%}\
th,td{padding:4px 8px;border-bottom:1px solid #d8dee4;text-align:left;white-space:nowrap}\
th a{color:inherit}td.n{text-align:right;font-variant-numeric:tabular-nums}\
tr.down td{background:#fff1f0}.st{font-weight:600}.st.up{color:#1a7f37}.st.down{color:#cf222e}\
.bar{display:inline-block;width:60px;height:8px;background:#eaeef2;margin-right:6px;vertical-align:middle}\
.bar i{display:block;height:8px;background:#2da44e}.bar i.amber{background:#d4a72c}\
.bar i.red{background:#cf222e}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}\
dt{color:#57606a}dd{margin:0}pre{overflow-x:auto;font-size:12px;background:#f6f8fa;padding:8px}\
svg{max-width:100%;height:auto;background:#f6f8fa}svg polyline{fill:none;stroke-width:1.5}\
.muted{color:#57606a}";

fn head(out: &mut String, title: &str) {
    out.push_str(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>",
    );
    text(out, title);
    out.push_str("</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body>");
}

/// `/`: every agent, as `view` sorts and filters them.
pub fn fleet(fleet: &Fleet, view: &View) -> String {
    let rows = view.apply(&fleet.rows);
    let mut out = String::with_capacity(2048 + rows.len() * 900);
    let up = fleet.rows.iter().filter(|r| r.up).count();
    let down = fleet.rows.len() - up;
    head(
        &mut out,
        &format!("vitals: {}, {down} down", agents(fleet.rows.len())),
    );
    out.push_str("<header><h1>vitals</h1>");
    out.push_str("<div id=\"counts\" class=\"counts\">");
    let _ = write!(
        out,
        "<span><b>{}</b> {}</span><span class=\"st up\"><b>{up}</b> up</span>\
         <span class=\"st down\"><b>{down}</b> down</span>",
        fleet.rows.len(),
        if fleet.rows.len() == 1 {
            "agent"
        } else {
            "agents"
        }
    );
    out.push_str("<span>refused connections: ");
    if fleet.refused.is_empty() {
        out.push_str("none");
    }
    for (i, (reason, n)) in fleet.refused.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        text(&mut out, reason);
        let _ = write!(out, " {n}");
    }
    out.push_str("</span></div>");
    out.push_str("<form method=\"get\" action=\"/\"><input type=\"search\" name=\"q\" value=\"");
    attr(&mut out, &view.filter);
    out.push_str(
        "\" placeholder=\"filter: id, address, host, version, arch, OS, kernel\" \
         aria-label=\"filter\">",
    );
    let _ = write!(
        out,
        "<input type=\"hidden\" name=\"sort\" value=\"{}\">",
        view.sort.name()
    );
    if view.descending {
        out.push_str("<input type=\"hidden\" name=\"dir\" value=\"desc\">");
    }
    out.push_str(" <button>Filter</button></form></header>");

    out.push_str("<main><div class=\"wrap\"><table id=\"fleet\"><thead><tr>");
    for column in Column::ALL {
        let current = column == view.sort;
        // A click on the current column turns its order; on another, sorts by it.
        let descending = current && !view.descending;
        out.push_str("<th");
        if current {
            let order = if view.descending {
                "descending"
            } else {
                "ascending"
            };
            let _ = write!(out, " aria-sort=\"{order}\"");
        }
        out.push_str("><a href=\"/");
        attr(&mut out, &view.query(column, descending));
        out.push_str("\">");
        out.push_str(column.heading());
        if current {
            out.push_str(if view.descending { " ▼" } else { " ▲" });
        }
        out.push_str("</a></th>");
    }
    out.push_str("</tr></thead><tbody>");
    for row in &rows {
        fleet_row(&mut out, row, fleet.now);
    }
    out.push_str("</tbody></table></div>");
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">No agent");
        if !view.filter.is_empty() {
            out.push_str(" matches the filter");
        }
        out.push_str(".</p>");
    }
    let _ = write!(
        out,
        "</main><footer class=\"muted\">{} of {} shown; refreshed every {REFRESH_SECONDS} s. \
         <a href=\"/api/v1/agents\">JSON</a> · <a href=\"/metrics\">/metrics</a> · \
         <a href=\"/healthz\">/healthz</a></footer>",
        rows.len(),
        agents(fleet.rows.len())
    );
    refresh_script(&mut out, &["counts", "fleet"]);
    out.push_str("</body></html>\n");
    out
}

fn fleet_row(out: &mut String, row: &Row, now: f64) {
    let f = &row.facts;
    let state = if row.up { "up" } else { "down" };
    let _ = write!(out, "<tr class=\"{state}\" data-id=\"");
    attr(out, &f.id);
    out.push_str("\">");
    for column in Column::ALL {
        cell(out, row, column, now);
    }
    out.push_str("</tr>");
}

/// One cell of a row of the fleet's table.
fn cell(out: &mut String, row: &Row, column: Column, now: f64) {
    let (f, h) = (&row.facts, &row.health);
    let state = if row.up { "up" } else { "down" };
    let percent = |v: f64| format!("{:.0}%", v * 100.0);
    match column {
        Column::Status => {
            let _ = write!(out, "<td class=\"st {state}\">{state}");
        }
        Column::Id => {
            out.push_str("<td><a href=\"/agents/");
            url(out, &f.id);
            out.push_str("\">");
            text(out, &f.id);
            out.push_str("</a>");
        }
        Column::Seen => {
            out.push_str("<td>");
            seen(out, row, now);
        }
        Column::Address => {
            out.push_str("<td>");
            if let Some(address) = f.address {
                let _ = write!(out, "{address}");
            }
        }
        Column::Version | Column::Arch | Column::Os | Column::Kernel => {
            out.push_str("<td>");
            text(
                out,
                match column {
                    Column::Version => &f.version,
                    Column::Arch => &f.arch,
                    Column::Os => &f.os,
                    _ => &f.kernel,
                },
            );
        }
        Column::Interval => {
            let _ = write!(out, "<td class=\"n\">{}", seconds(f.interval));
        }
        Column::Merged | Column::Lost | Column::Dropped => {
            let value = match column {
                Column::Merged => row.samples,
                Column::Lost => row.gaps,
                _ => row.dropped,
            };
            let _ = write!(out, "<td class=\"n\">{}", count(value));
        }
        Column::Cpu => {
            out.push_str("<td>");
            bar(out, h.cpu, SHARE, percent);
        }
        Column::Memory => {
            out.push_str("<td>");
            bar(out, h.memory, SHARE, percent);
        }
        Column::Disk => {
            out.push_str("<td>");
            if let Some((mount, used)) = &h.fullest {
                bar(out, Some(*used), SHARE, percent);
                out.push(' ');
                text(out, mount);
            }
        }
        Column::Load => {
            out.push_str("<td>");
            bar(out, h.load_per_cpu, LOAD, |v| format!("{v:.2}"));
        }
        Column::Temperature => {
            out.push_str("<td>");
            if let Some((sensor, celsius)) = &h.hottest {
                bar(out, Some(*celsius), CELSIUS, |v| format!("{v:.0} °C"));
                out.push(' ');
                text(out, sensor.trim());
            }
        }
    }
    out.push_str("</td>");
}

/// "3 s ago", or "never".
fn seen(out: &mut String, row: &Row, now: f64) {
    match row.seen_ago(now) {
        None => out.push_str("never"),
        Some(ago) => {
            out.push_str(&ago_text(ago));
            out.push_str(" ago");
        }
    }
}

fn ago_text(ago: f64) -> String {
    match ago {
        a if a < 120.0 => format!("{a:.0} s"),
        a if a < 7200.0 => format!("{:.0} min", a / 60.0),
        a if a < 172_800.0 => format!("{:.0} h", a / 3600.0),
        a => format!("{:.0} d", a / 86400.0),
    }
}

fn percent(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// "1 agent", "3 agents".
fn agents(n: usize) -> String {
    if n == 1 {
        "1 agent".into()
    } else {
        format!("{n} agents")
    }
}

/// A count, or nothing once its series expired.
fn count(v: Option<f64>) -> String {
    v.map(|v| format!("{v}")).unwrap_or_default()
}

/// Bytes a second, in the units a person reads: 950 B/s, 12.3 kB/s, 4.5 MB/s.
fn rate(v: f64) -> String {
    match v {
        v if v >= 1e9 => format!("{:.1} GB/s", v / 1e9),
        v if v >= 1e6 => format!("{:.1} MB/s", v / 1e6),
        v if v >= 1e3 => format!("{:.1} kB/s", v / 1e3),
        v => format!("{v:.0} B/s"),
    }
}

fn seconds(s: f64) -> String {
    if s >= 1.0 && s.fract() == 0.0 {
        format!("{s} s")
    } else {
        format!("{} ms", (s * 1000.0).round())
    }
}

/// A number with a small bar, amber and red past the thresholds; nothing without a value.
fn bar(out: &mut String, value: Option<f64>, t: Thresholds, shown: impl Fn(f64) -> String) {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return;
    };
    let width = (v / t.full * 100.0).clamp(0.0, 100.0);
    let class = if v >= t.red {
        " class=\"red\""
    } else if v >= t.amber {
        " class=\"amber\""
    } else {
        ""
    };
    let _ = write!(
        out,
        "<span class=\"bar\"><i{class} style=\"width:{width:.0}%\"></i></span>{}",
        shown(v)
    );
}

/// The page's one script: fetches the same URL every [`REFRESH_SECONDS`] and replaces the
/// elements of these ids with the fresh ones. Without it the page is whole, only not live.
fn refresh_script(out: &mut String, ids: &[&str]) {
    let ids: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    let _ = write!(
        out,
        "<script>setInterval(async()=>{{try{{const r=await fetch(location.href,{{cache:\"no-store\"}});\
         if(!r.ok)return;const d=new DOMParser().parseFromString(await r.text(),\"text/html\");\
         for(const id of [{}]){{const n=d.getElementById(id),o=document.getElementById(id);\
         if(n&&o)o.replaceWith(n)}}}}catch(e){{}}}},{});</script>",
        ids.join(","),
        REFRESH_SECONDS * 1000
    );
}

/// `/agents/<id>`: one agent.
pub fn agent(row: &Row, history: &[Point], series: &Series<'_>, now: f64) -> String {
    let f = &row.facts;
    let mut out = String::with_capacity(16 * 1024);
    head(&mut out, &format!("vitals: {}", f.id));
    out.push_str("<header><p><a href=\"/\">← the fleet</a></p><h1>");
    text(&mut out, &f.id);
    let state = if row.up { "up" } else { "down" };
    let _ = write!(
        out,
        " <span class=\"st {state}\">{state}</span></h1></header>"
    );

    out.push_str("<div id=\"live\"><section><h2>Facts</h2><dl>");
    let address = f.address.map(|a| a.to_string()).unwrap_or_default();
    let mut last_seen = String::new();
    seen(&mut last_seen, row, now);
    for (name, value) in [
        ("Last seen", last_seen.as_str()),
        ("Address", address.as_str()),
        ("Host name", f.hostname.as_str()),
        ("Version", f.version.as_str()),
        ("Arch", f.arch.as_str()),
        ("OS", f.os.as_str()),
        ("Kernel", f.kernel.as_str()),
        ("Protocol", f.protocol),
        ("Interval", seconds(f.interval).as_str()),
    ] {
        let _ = write!(out, "<dt>{name}</dt><dd>");
        text(&mut out, value);
        out.push_str("</dd>");
    }
    let _ = write!(
        out,
        "<dt>Samples merged</dt><dd>{}</dd><dt>Lost (sequence gaps)</dt><dd>{}</dd>\
         <dt>Dropped by its ring</dt><dd>{}</dd></dl></section>",
        count(row.samples),
        count(row.gaps),
        count(row.dropped)
    );

    out.push_str("<section><h2>Health</h2><dl>");
    let h = &row.health;
    out.push_str("<dt>CPU busy</dt><dd>");
    bar(&mut out, h.cpu, SHARE, |v| format!("{:.1}%", v * 100.0));
    out.push_str("</dd><dt>Memory used</dt><dd>");
    bar(&mut out, h.memory, SHARE, |v| format!("{:.1}%", v * 100.0));
    out.push_str("</dd><dt>Fullest filesystem</dt><dd>");
    if let Some((mount, used)) = &h.fullest {
        bar(&mut out, Some(*used), SHARE, |v| {
            format!("{:.1}%", v * 100.0)
        });
        out.push(' ');
        text(&mut out, mount);
    }
    out.push_str("</dd><dt>Load per CPU</dt><dd>");
    bar(&mut out, h.load_per_cpu, LOAD, |v| format!("{v:.2}"));
    out.push_str("</dd><dt>Hottest sensor</dt><dd>");
    if let Some((sensor, celsius)) = &h.hottest {
        bar(&mut out, Some(*celsius), CELSIUS, |v| format!("{v:.1} °C"));
        out.push(' ');
        text(&mut out, sensor.trim());
    }
    out.push_str("</dd></dl></section>");

    out.push_str("<section><h2>Connections</h2><dl>");
    let when = |t: Option<std::time::SystemTime>| -> String {
        t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or("never".into(), |d| {
                format!("{} ago", ago_text((now - d.as_secs_f64()).max(0.0)))
            })
    };
    let _ = write!(
        out,
        "<dt>Connects</dt><dd>{}</dd><dt>Disconnects</dt><dd>{}</dd>\
         <dt>Last connected</dt><dd>{}</dd><dt>Last disconnected</dt><dd>{}</dd>\
         <dt>Last error</dt><dd>",
        f.connects,
        f.disconnects,
        when(f.connected_at),
        when(f.disconnected_at)
    );
    match f.last_error {
        Some((at, code)) => {
            text(&mut out, code);
            let _ = write!(out, ", {}", when(Some(at)));
        }
        None => out.push_str("none"),
    }
    out.push_str("</dd></dl></section>");

    out.push_str("<section><h2>The last minutes</h2>");
    chart(
        &mut out,
        "CPU busy",
        history,
        &[("cpu", "#0969da", |p| p.cpu)],
        Some(1.0),
        percent,
    );
    chart(
        &mut out,
        "Memory used",
        history,
        &[("memory", "#8250df", |p| p.memory)],
        Some(1.0),
        percent,
    );
    chart(
        &mut out,
        "Network, bytes a second (received, sent)",
        history,
        &[
            ("received", "#1a7f37", |p| p.receive),
            ("sent", "#bc4c00", |p| p.transmit),
        ],
        None,
        rate,
    );
    out.push_str("</section>");

    out.push_str("<section><h2>Series</h2><pre>");
    let mut count = 0;
    for (line, value) in series.all() {
        text(&mut out, line);
        let _ = writeln!(out, "{value}");
        count += 1;
    }
    let _ = write!(
        out,
        "</pre><p class=\"muted\">{count} series, as the server holds them now.</p></section></div>"
    );
    out.push_str("<footer class=\"muted\"><a href=\"/api/v1/agents/");
    url(&mut out, &f.id);
    let _ = write!(
        out,
        "\">JSON</a>; refreshed every {REFRESH_SECONDS} s.</footer>"
    );
    refresh_script(&mut out, &["live"]);
    out.push_str("</body></html>\n");
    out
}

/// One line of a chart: its name, its colour, and its value in a point.
type Line = (&'static str, &'static str, fn(&Point) -> f32);

const CHART_W: f64 = 600.0;
const CHART_H: f64 = 100.0;

/// A line chart of `lines` over the points, as inline SVG; `max` is the top of its scale (the
/// largest value when `None`). A missing value breaks its line.
fn chart(
    out: &mut String,
    title: &str,
    points: &[Point],
    lines: &[Line],
    max: Option<f64>,
    shown: fn(f64) -> String,
) {
    let _ = write!(
        out,
        "<figure><figcaption>{title}</figcaption><svg class=\"chart\" viewBox=\"0 0 {CHART_W} {}\" \
         width=\"{CHART_W}\" height=\"{}\" role=\"img\" aria-label=\"{title}\">",
        CHART_H + 14.0,
        CHART_H + 14.0
    );
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        out.push_str("<text x=\"8\" y=\"20\">no points yet</text></svg></figure>");
        return;
    };
    let top = max.unwrap_or_else(|| {
        points
            .iter()
            .flat_map(|p| lines.iter().map(move |(_, _, get)| f64::from(get(p))))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
            .max(1.0)
    });
    let span = (last.at - first.at).max(1.0);
    for (name, color, get) in lines {
        let mut segment = String::new();
        let flush = |segment: &mut String, out: &mut String| {
            if !segment.is_empty() {
                let _ = write!(
                    out,
                    "<polyline data-series=\"{name}\" stroke=\"{color}\" points=\"{}\"/>",
                    segment.trim_end()
                );
                segment.clear();
            }
        };
        for p in points {
            let v = f64::from(get(p));
            if !v.is_finite() {
                flush(&mut segment, out);
                continue;
            }
            let x = (p.at - first.at) / span * CHART_W;
            let y = CHART_H - (v / top).clamp(0.0, 1.0) * CHART_H;
            let _ = write!(segment, "{x:.1},{y:.1} ");
        }
        flush(&mut segment, out);
    }
    let scale = shown(top);
    let _ = write!(
        out,
        "<text x=\"4\" y=\"12\" font-size=\"11\">{scale}</text>\
         <text x=\"4\" y=\"{}\" font-size=\"11\">{} ago</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">now</text></svg></figure>",
        CHART_H + 12.0,
        ago_text(span),
        CHART_W - 4.0,
        CHART_H + 12.0
    );
}

/// The points of a history, oldest first.
pub fn points(history: &History) -> Vec<Point> {
    history.points.iter().copied().collect()
}
