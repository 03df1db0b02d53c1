//! The house drawn from the code: which module uses which, read from the
//! sources of both crates. Imports run one way, down the data flow
//! (capture → packet → flow → dissect → judge → report): no module uses a
//! module that uses it back, directly or around a loop, and a few layers
//! never reach certain others (judgement and reports never reach capture,
//! the flow table never reaches a dissector, capture knows no analyzer).
//!
//! A use is any path in a file's code outside its unit tests: `crate::a::b`,
//! `super::x` and, in a folder's `mod.rs`, `child::x` for its own children.
//! Declaring a child module (`mod child;`) is not a use of it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`dissect::media`, `engine`) → the code of its file.
fn modules(root: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir)
            .expect("readable source folder")
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    let mut map = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        let name = parts.join("::");
        if name == "lib" || name == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        map.insert(name, code_of(&text));
    }
    map
}

/// The code of a file without comments, string contents and its unit tests.
fn code_of(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(body.len());
    for line in body.lines() {
        let code = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Paths of `text` that start with `prefix` (`crate::`, `super::`): each
/// as its segments, with one level of `{a, b::c}` groups expanded.
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(prefix) {
        let at = from + i;
        from = at + prefix.len();
        if at > 0
            && text[..at]
                .chars()
                .next_back()
                .is_some_and(|c| is_ident(c) || c == ':')
        {
            continue;
        }
        let rest = &text[from..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let segs = segments(item.trim());
                if !segs.is_empty() {
                    out.push(segs);
                }
            }
        } else {
            out.push(segments(rest));
        }
    }
    out
}

fn segments(s: &str) -> Vec<String> {
    let mut segs = Vec::new();
    let mut rest = s;
    loop {
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segs.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    segs
}

/// The longest module path that `segs` (after `base`) names.
fn resolve(mods: &BTreeMap<String, String>, base: &[String], segs: &[String]) -> Option<String> {
    let mut full: Vec<String> = base.to_vec();
    full.extend(segs.iter().cloned());
    (1..=full.len())
        .rev()
        .map(|n| full[..n].join("::"))
        .find(|m| mods.contains_key(m))
}

/// Module → the modules it uses.
fn graph(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in mods {
        let me: Vec<String> = name.split("::").map(str::to_string).collect();
        let is_folder = mods.keys().any(|k| k.starts_with(&format!("{name}::")));
        // `super` is the enclosing module, for a folder's mod.rs and a file alike.
        let parent = &me[..me.len() - 1];
        let mut uses = BTreeSet::new();
        for segs in paths_after(code, "crate::") {
            uses.extend(resolve(mods, &[], &segs));
        }
        for segs in paths_after(code, "super::") {
            uses.extend(resolve(mods, parent, &segs));
        }
        if is_folder {
            for child in mods
                .keys()
                .filter_map(|k| k.strip_prefix(&format!("{name}::")))
            {
                if child.contains("::") {
                    continue;
                }
                let used = code.match_indices(&format!("{child}::")).any(|(i, _)| {
                    !code[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| is_ident(c) || c == ':')
                });
                if used {
                    uses.insert(format!("{name}::{child}"));
                }
            }
        }
        uses.remove(name);
        g.insert(name.clone(), uses);
    }
    g
}

/// Every cycle's modules (strongly connected components of two or more).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Reachability by DFS from each node is plenty for a few dozen modules.
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for m in g.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> = g.keys().map(|k| (k, reach(k))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for k in g.keys() {
        if done.contains(k) || !reaches[k].contains(k) {
            continue;
        }
        let comp: Vec<String> = g
            .keys()
            .filter(|m| reaches[k].contains(*m) && reaches[*m].contains(k))
            .cloned()
            .collect();
        done.extend(comp.iter().cloned());
        out.push(comp);
    }
    out
}

/// The graph between top-level modules: a folder is one node.
fn top_level(g: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let top = |m: &str| m.split("::").next().unwrap().to_string();
    let mut t: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, uses) in g {
        let e = t.entry(top(m)).or_default();
        e.extend(uses.iter().map(|u| top(u)).filter(|u| *u != top(m)));
    }
    t
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn engine_modules_form_no_loop_between_or_inside_folders() {
    let mods = modules(&root().join("src"));
    assert!(mods.len() > 20, "sources found: {:?}", mods.keys());
    let g = graph(&mods);
    let loops = cycles(&top_level(&g));
    assert!(loops.is_empty(), "top-level modules in a loop: {loops:?}");
    let loops = cycles(&g);
    assert!(loops.is_empty(), "files in a loop: {loops:?}");
}

#[test]
fn parser_modules_form_no_loop() {
    let mods = modules(&root().join("dissectors").join("src"));
    assert!(mods.len() > 10, "sources found: {:?}", mods.keys());
    let loops = cycles(&graph(&mods));
    assert!(loops.is_empty(), "parser files in a loop: {loops:?}");
}

#[test]
fn layers_never_reach_back() {
    let t = top_level(&graph(&modules(&root().join("src"))));
    let never: &[(&str, &[&str])] = &[
        ("net", &["*"]),
        (
            "capture",
            &[
                "engine", "shard", "dissect", "flow", "judge", "assemble", "report", "warn",
            ],
        ),
        ("packet", &["flow", "dissect", "engine", "capture"]),
        (
            "flow",
            &[
                "dissect", "calls", "judge", "assemble", "report", "engine", "capture",
            ],
        ),
        (
            "evidence",
            &["dissect", "flow", "engine", "capture", "assemble", "judge"],
        ),
        (
            "calls",
            &["dissect", "flow", "engine", "capture", "assemble", "judge"],
        ),
        (
            "dissect",
            &["engine", "shard", "capture", "assemble", "judge"],
        ),
        (
            "judge",
            &["capture", "engine", "shard", "dissect", "flow", "assemble"],
        ),
        ("engine", &["shard", "assemble", "judge", "report"]),
        (
            "report",
            &[
                "capture", "engine", "shard", "dissect", "flow", "evidence", "calls", "judge",
                "assemble",
            ],
        ),
    ];
    let mut wrong = Vec::new();
    for (from, forbidden) in never {
        let uses = t.get(*from).unwrap_or_else(|| panic!("no module {from}"));
        for u in uses {
            if forbidden.contains(&"*") || forbidden.contains(&u.as_str()) {
                wrong.push(format!("{from} uses {u}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_check_sees_a_loop_when_there_is_one() {
    let mut mods = BTreeMap::new();
    mods.insert("a".to_string(), "use crate::b::X;".to_string());
    mods.insert("b".to_string(), "fn f() { crate::c::g() }".to_string());
    mods.insert("c".to_string(), "use crate::{a::Y, b};".to_string());
    mods.insert("d".to_string(), "use crate::a;".to_string());
    let loops = cycles(&graph(&mods));
    assert_eq!(loops, vec![vec!["a".to_string(), "b".into(), "c".into()]]);
    // A folder whose child uses its parent back is a loop too.
    let mut mods = BTreeMap::new();
    mods.insert("f".to_string(), "pub use kid::Z;".to_string());
    mods.insert("f::kid".to_string(), "use super::W;".to_string());
    assert_eq!(cycles(&graph(&mods)).len(), 1);
}
