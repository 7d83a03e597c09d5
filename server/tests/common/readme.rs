//! What the README promises that the tests check.

/// The README's list of families vitals does not export (the backticked names, a trailing `*`
/// for a prefix, before each item's colon).
pub fn not_exported() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split("\n### What vitals does not export\n")
        .nth(1)
        .expect("the README has a section `### What vitals does not export`");
    let section = section.split("\n#").next().unwrap_or_default();
    // Each item, its continuation lines joined to it.
    let mut items: Vec<String> = Vec::new();
    for line in section.lines() {
        if let Some(item) = line.strip_prefix("- ") {
            items.push(item.to_owned());
        } else if let (Some(rest), Some(item)) = (line.strip_prefix("  "), items.last_mut()) {
            item.push(' ');
            item.push_str(rest);
        }
    }
    let mut out = Vec::new();
    for item in &items {
        let head = item
            .split_once(": ")
            .map_or(item.as_str(), |(head, _)| head);
        out.extend(head.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    assert!(!out.is_empty(), "no names in the README's list");
    out
}

/// Whether `name` is one of `patterns`, or begins with one that ends in `*`.
pub fn listed(name: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == p,
    })
}
