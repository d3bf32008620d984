//! ARCHITECTURE.md's rules as tests, the way rust-analyzer's `tidy` checks its own: the module
//! import graph of `src/` has no cycle, SQL stays in `store/`, `probe/` knows nothing of the
//! store, public routes only read (but for subscribing), and no file grows past 600 lines. They read the source as
//! text; a failure names the file and the rule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, with its text.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &mut out);
    out.into_iter()
        .map(|(p, t)| (p.strip_prefix(&root).unwrap().to_path_buf(), t))
        .collect()
}

/// The module a file defines, as a path of names (`store/read/mod.rs` → `[store, read]`);
/// `None` for the crate roots.
fn module_of(file: &Path) -> Option<Vec<String>> {
    let mut parts: Vec<String> = file
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" | "main.rs" if parts.is_empty() => None,
        "mod.rs" => Some(parts),
        name => {
            parts.push(name.trim_end_matches(".rs").to_string());
            Some(parts)
        }
    }
}

/// The paths a file names (`crate::a::b`, `super::c`), resolved to absolute paths, with the
/// items of `use …::{x, y::z}` groups expanded one level.
fn references(module: &[String], text: &str) -> Vec<Vec<String>> {
    // Unit tests sit at the end of a file, behind `#[cfg(test)]`: they may reach anywhere.
    let text = text.split("#[cfg(test)]").next().unwrap_or(text);
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let at_word = i == 0 || !ident(bytes[i - 1]);
        let rest = &code[i..];
        let start = if at_word && rest.starts_with("crate::") {
            Some((Vec::new(), "crate::".len()))
        } else if at_word && rest.starts_with("super::") {
            // A file's own module is `module`; `super` of `a::b` (b.rs or b/mod.rs) is `a`.
            let mut base = module.to_vec();
            let mut len = 0;
            while code[i + len..].starts_with("super::") {
                base.pop();
                len += "super::".len();
            }
            Some((base, len))
        } else {
            None
        };
        let Some((base, len)) = start else {
            i += 1;
            continue;
        };
        let mut j = i + len;
        let mut path = base.clone();
        loop {
            let s = j;
            while j < bytes.len() && ident(bytes[j]) {
                j += 1;
            }
            if s == j {
                break;
            }
            path.push(code[s..j].to_string());
            if code[j..].starts_with("::") && !code[j + 2..].starts_with('{') {
                j += 2;
            } else {
                break;
            }
        }
        if code[j..].starts_with("::{") {
            // One level of a use group: each item's first name.
            let close = code[j..].find('}').map_or(bytes.len(), |c| j + c);
            for item in code[j + 3..close].split(',') {
                let first = item.trim().split("::").next().unwrap_or("").trim();
                if !first.is_empty()
                    && first != "self"
                    && first.chars().all(|c| c.is_alphanumeric() || c == '_')
                {
                    let mut p = path.clone();
                    p.push(first.to_string());
                    out.push(p);
                }
            }
            out.push(path);
        } else {
            out.push(path);
        }
        i = j.max(i + 1);
    }
    out
}

#[test]
fn the_module_import_graph_has_no_cycle() {
    let files = sources();
    // Files compiled only for tests (test_support.rs) are no part of the graph.
    let files: Vec<_> = files
        .into_iter()
        .filter(|(f, _)| !f.to_string_lossy().contains("test"))
        .collect();
    let modules: BTreeSet<Vec<String>> = files.iter().filter_map(|(f, _)| module_of(f)).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (file, text) in &files {
        let Some(from) = module_of(file) else {
            continue;
        };
        for path in references(&from, text) {
            // The longest prefix of the path that is a module of ours.
            let Some(to) = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            // A module and its ancestors or descendants always know each other.
            if to.starts_with(&from) || from.starts_with(&to) {
                continue;
            }
            edges.entry(from.clone()).or_default().insert(to);
        }
    }
    // Depth-first search for a back edge; the cycle is printed as module paths.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = stack.iter().position(|n| n == node) {
            let cycle: Vec<String> = stack[at..]
                .iter()
                .chain([node])
                .map(|m| m.join("::"))
                .collect();
            cycles.push(cycle.join(" → "));
            return;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done, cycles);
        }
        stack.pop();
        done.insert(node.clone());
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, &edges, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(
        cycles.is_empty(),
        "import cycles in src/:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn sqlite_is_only_in_store_and_probes_know_nothing_of_it() {
    for (file, text) in sources() {
        let in_store = file.starts_with("store");
        if !in_store {
            assert!(
                !text.contains("rusqlite"),
                "{}: rusqlite outside store/",
                file.display()
            );
        }
        if file.starts_with("probe") {
            for forbidden in [
                "crate::store",
                "crate::metrics",
                "crate::recorder",
                "crate::web",
            ] {
                assert!(
                    !text.contains(forbidden),
                    "{}: probe/ must not use {forbidden}",
                    file.display()
                );
            }
        }
        if file.starts_with("monitor.rs")
            || file.starts_with("uptime")
            || file.starts_with("model.rs")
        {
            for forbidden in ["tokio::", "std::fs", "rusqlite", "Timestamp::now()"] {
                assert!(
                    !text.contains(forbidden),
                    "{}: a pure module uses {forbidden}",
                    file.display()
                );
            }
        }
    }
}

/// Public routes only read. Outside `web/admin`, the one exception is `web/subscribe`, where a
/// visitor subscribes, confirms and unsubscribes: exactly `POST /subscribe`,
/// `POST /subscribe/confirm` and `POST /unsubscribe`, each on its own `.route(…)` line.
#[test]
fn only_the_admin_router_has_write_routes() {
    const SUBSCRIPTION_ROUTES: [&str; 3] = [
        r#".route("/subscribe", "#,
        r#".route("/subscribe/confirm", "#,
        r#".route("/unsubscribe", "#,
    ];
    for (file, text) in sources() {
        if file.starts_with("web/admin") || !file.starts_with("web") {
            continue;
        }
        let subscriptions = file.starts_with("web/subscribe");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for method in ["post(", "put(", "patch(", "delete("] {
                let found = code.match_indices(method).any(|(at, _)| {
                    code[..at]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
                });
                let allowed = subscriptions
                    && method == "post("
                    && SUBSCRIPTION_ROUTES
                        .iter()
                        .any(|r| code.trim_start().starts_with(r));
                assert!(
                    !found || allowed,
                    "{}:{}: a public route answers {method}…): writes belong to web/admin \
                     (and the three subscription routes to web/subscribe)",
                    file.display(),
                    n + 1
                );
            }
        }
    }
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|(_, t)| t.lines().count() > 600)
        .map(|(f, t)| format!("{}: {} lines", f.display(), t.lines().count()))
        .collect();
    assert!(
        long.is_empty(),
        "split these by concern:\n{}",
        long.join("\n")
    );
}
