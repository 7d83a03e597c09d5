//! The server's modules follow its threads: the I/O side (`io`) and the aggregator side
//! (`aggregator`) never import each other, only what crosses a thread (`shared`), and no
//! modules import each other in a circle. Read from `server/src` and its `crate::`, `super::`
//! and `self::` paths (comments left out), as a newcomer would follow them.
//!
//! A module's references to its own parent or children do not count: a child is part of its
//! parent (the aggregator's files each add an `impl` block to the `Aggregator` of `mod.rs`). Any
//! other reference is an edge between two sibling modules: the files of one folder, or the
//! crate's top-level modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module's path from the crate root: `["aggregator", "merge"]`.
type Module = Vec<String>;

/// The lines of one file, and the module it is.
struct Source {
    file: String,
    module: Module,
    text: String,
}

/// Why one module refers to a sibling: where, and the path it names.
type Why = (String, usize, String);

/// The edges between sibling modules, each with the first place that made it.
type Edges = BTreeMap<(Module, Module), Why>;

/// The crate's library files (not its binaries) under `dir`, with their modules.
fn read_crate(dir: &Path) -> Vec<Source> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<Source>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                // The binaries are crates of their own.
                if rel != "bin" {
                    walk(&path, root, out);
                }
                continue;
            }
            if !rel.ends_with(".rs") || rel == "main.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            out.push(Source {
                module: module_of(&rel),
                file: format!("server/src/{rel}"),
                text,
            });
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// The module a file under `src` is: `lib.rs` the root, `a/mod.rs` and `a.rs` `a`, `a/b.rs`
/// `a::b`.
fn module_of(rel: &str) -> Module {
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Module = rel.split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// A line without its comment (doc comments included): a `//` outside a string.
fn code_of(line: &str) -> &str {
    let mut in_string = false;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '"' if prev != '\\' => in_string = !in_string,
            '/' if !in_string && prev == '/' => return &line[..i - 1],
            _ => {}
        }
        prev = c;
    }
    line
}

/// Every path a `use` tree names, `{...}` groups expanded: `crate::{a::B, c}` gives `crate::a::B`
/// and `crate::c`.
fn expand_use(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let (prefix, rest) = tree.split_at(open);
    let inner = &rest[1..rest.len().saturating_sub(1)];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|item| !item.is_empty())
        .flat_map(|item| expand_use(&format!("{prefix}{item}")))
        .collect()
}

/// The paths a line of code names from `crate`, `super` or `self`.
fn paths_in(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    for anchor in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(anchor).map(|i| i + from) {
            from = at + anchor.len();
            let word_before =
                at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
            // `super::` inside `crate::a::super` cannot happen; inside `self::super::x`, the
            // outer anchor has it.
            if word_before || (at >= 2 && &code[at - 2..at] == "::") {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |i| i + at);
            paths.push(code[at..end].trim_end_matches(':').to_owned());
        }
    }
    paths
}

/// The module a path names from `module`, if the path is one of the crate's: the longest of
/// `modules` it starts with.
fn resolve(path: &str, module: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let mut segments = path.split("::").peekable();
    let mut at: Module = match segments.next()? {
        "crate" => Vec::new(),
        "self" => module.to_vec(),
        "super" => module.get(..module.len().checked_sub(1)?)?.to_vec(),
        _ => return None,
    };
    while segments.peek() == Some(&"super") {
        segments.next();
        at.pop();
    }
    for segment in segments {
        let mut next = at.clone();
        next.push(segment.to_owned());
        if !modules.contains(&next) {
            break;
        }
        at = next;
    }
    Some(at)
}

/// The edges between sibling modules that `sources` make, and every module they hold (inline
/// `mod x {` blocks included).
fn edges(sources: &[Source]) -> (Edges, BTreeSet<Module>) {
    // Each line's module, inline modules included: rustfmt closes a block at its indentation.
    let mut lines: Vec<(&Source, usize, Module, &str)> = Vec::new();
    let mut modules: BTreeSet<Module> = BTreeSet::new();
    for source in sources {
        modules.insert(source.module.clone());
        let mut stack: Vec<(String, String)> = Vec::new();
        for (n, line) in source.text.lines().enumerate() {
            let code = code_of(line);
            let indent = &line[..line.len() - line.trim_start().len()];
            if stack
                .last()
                .is_some_and(|(i, _)| *i == indent && code.trim() == "}")
            {
                stack.pop();
                continue;
            }
            let mut module = source.module.clone();
            module.extend(stack.iter().map(|(_, name)| name.clone()));
            let words: Vec<&str> = code.split_whitespace().collect();
            if let Some(at) = words.iter().position(|w| *w == "mod")
                && words.get(at + 2) == Some(&"{")
                && let Some(name) = words.get(at + 1)
            {
                stack.push((indent.to_owned(), (*name).to_owned()));
                let mut inner = module.clone();
                inner.push((*name).to_owned());
                modules.insert(inner);
            }
            lines.push((source, n + 1, module, code));
        }
    }
    let mut edges = Edges::new();
    let mut statement = String::new();
    for (source, n, module, code) in lines {
        let trimmed = code.trim();
        // A `use` statement may span lines: gather it up to its `;`.
        let is_use = trimmed.split_whitespace().take(2).any(|w| w == "use");
        let paths = if !statement.is_empty() || is_use {
            statement.push_str(trimmed);
            if !trimmed.ends_with(';') {
                continue;
            }
            let tree = statement
                .trim_end_matches(';')
                .rsplit_once("use ")
                .map(|(_, tree)| tree.to_owned())
                .unwrap_or_default();
            statement.clear();
            expand_use(&tree)
        } else {
            paths_in(code)
        };
        for path in paths {
            let Some(target) = resolve(&path, &module, &modules) else {
                continue;
            };
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == module.len() || common == target.len() {
                continue;
            }
            let from = module[..=common].to_vec();
            let to = target[..=common].to_vec();
            edges
                .entry((from, to))
                .or_insert_with(|| (source.file.clone(), n, path.clone()));
        }
    }
    (edges, modules)
}

/// A circle among `edges`, as the modules in order and the places that make each step.
fn circle(edges: &Edges) -> Option<Vec<(Module, Why)>> {
    let mut next: BTreeMap<&Module, Vec<&Module>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    // Depth first, with the path so far: a module met again on the path closes a circle.
    fn visit<'a>(
        at: &'a Module,
        next: &BTreeMap<&'a Module, Vec<&'a Module>>,
        path: &mut Vec<&'a Module>,
        done: &mut BTreeSet<&'a Module>,
    ) -> Option<Vec<&'a Module>> {
        if let Some(start) = path.iter().position(|m| *m == at) {
            let mut found = path[start..].to_vec();
            found.push(at);
            return Some(found);
        }
        if !done.insert(at) {
            return None;
        }
        path.push(at);
        for to in next.get(at).into_iter().flatten() {
            if let Some(found) = visit(to, next, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for from in next.keys() {
        if let Some(found) = visit(from, &next, &mut Vec::new(), &mut done) {
            return Some(
                found
                    .windows(2)
                    .map(|w| (w[0].clone(), edges[&(w[0].clone(), w[1].clone())].clone()))
                    .collect(),
            );
        }
    }
    None
}

/// The edges between the I/O side and the aggregator side, either way.
fn crossings(edges: &Edges) -> Vec<String> {
    let sides = [vec!["io".to_owned()], vec!["aggregator".to_owned()]];
    edges
        .iter()
        .filter(|((from, to), _)| sides.contains(from) && sides.contains(to))
        .map(|((from, to), (file, line, path))| {
            format!(
                "{} -> {}: {file}:{line} names {path}",
                from.join("::"),
                to.join("::")
            )
        })
        .collect()
}

fn describe(circle: &[(Module, Why)]) -> String {
    circle
        .iter()
        .map(|(from, (file, line, path))| {
            format!("  {} ({file}:{line} names {path})", from.join("::"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn server() -> (Edges, BTreeSet<Module>) {
    let sources = read_crate(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    edges(&sources)
}

#[test]
fn no_modules_of_the_server_import_each_other_in_a_circle() {
    let (edges, modules) = server();
    // What the check rests on, so that a reading that finds nothing cannot pass.
    for module in [["io", "thread"], ["aggregator", "merge"]] {
        let module: Module = module.map(str::to_owned).to_vec();
        assert!(modules.contains(&module), "no module {module:?}");
    }
    assert!(edges.len() > 10, "only {} edges: {edges:?}", edges.len());
    if let Some(found) = circle(&edges) {
        panic!(
            "modules that import each other in a circle:\n{}",
            describe(&found)
        );
    }
}

#[test]
fn the_io_side_and_the_aggregator_side_never_import_each_other() {
    let (edges, _) = server();
    let shared = vec!["shared".to_owned()];
    for side in ["io", "aggregator"] {
        let side = vec![side.to_owned()];
        assert!(
            edges.contains_key(&(side.clone(), shared.clone())),
            "{side:?} does not import `shared`: is the check reading the code?"
        );
    }
    let crossings = crossings(&edges);
    assert!(
        crossings.is_empty(),
        "imports across sides:\n{}",
        crossings.join("\n")
    );
}

/// The check itself, on a made-up crate: it must see what the two tests above forbid.
#[test]
fn the_layer_check_sees_a_circle_and_a_crossing() {
    let source = |file: &str, text: &str| Source {
        module: module_of(file),
        file: file.to_owned(),
        text: text.to_owned(),
    };
    let sources = [
        source(
            "lib.rs",
            "pub mod a;\npub mod b;\npub mod io;\npub mod aggregator;\n",
        ),
        source("a.rs", "use crate::b::{X, Y};\n"),
        source(
            "b.rs",
            "// use crate::io::Z;\nfn f() {\n    crate::a::g();\n}\n",
        ),
        source("io/mod.rs", "mod thread;\n"),
        source(
            "io/thread.rs",
            "use super::super::aggregator::{\n    Agg,\n};\n",
        ),
        source("aggregator/mod.rs", "mod merge;\nuse self::merge::M;\n"),
        source(
            "aggregator/merge.rs",
            "use super::Aggregator;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::shared::S;\n}\n",
        ),
    ];
    let (edges, modules) = edges(&sources);
    assert!(modules.contains(&vec![
        "aggregator".to_owned(),
        "merge".to_owned(),
        "tests".to_owned()
    ]));
    let names: BTreeSet<(String, String)> = edges
        .keys()
        .map(|(from, to)| (from.join("::"), to.join("::")))
        .collect();
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    // The comment in b.rs names nothing; the parent and child references do not count.
    assert_eq!(
        names,
        BTreeSet::from([pair("a", "b"), pair("b", "a"), pair("io", "aggregator")]),
    );
    let found = circle(&edges).expect("a circle");
    assert_eq!(found.len(), 2, "{}", describe(&found));
    assert_eq!(crossings(&edges).len(), 1);
}
