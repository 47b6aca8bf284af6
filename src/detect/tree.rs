//! The file tree detection looks at: every path of the repo (relative, `/`
//! separated, sorted) and the first [`READ_LIMIT`] bytes of the files the
//! detector asks for. Built from a directory walk (honouring `.gitignore`,
//! skipping dependency and build directories) or from memory in tests, so
//! detection stays a pure function of the tree.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Bytes read per file. Manifests, entry points and config files put what
/// detection needs (imports, dependencies, `listen(...)`) near the top;
/// 64 KiB holds all of a typical source file and bounds the cost of a
/// generated or minified one.
pub const READ_LIMIT: u64 = 64 * 1024;

/// Directories below this depth are not walked: real apps keep their
/// manifests and server code well above it, and deep trees are generated.
const MAX_DEPTH: usize = 12;

/// Skipped in every repo, whatever the packs say: version control metadata.
const ALWAYS_SKIP: &[&str] = &[".git", ".hg", ".svn"];

type Reader = Box<dyn Fn(&str) -> Option<String>>;

/// A repo's files, as the detector sees them.
pub struct Tree {
    files: Vec<String>,
    reader: Reader,
    cache: RefCell<HashMap<String, Option<Rc<str>>>>,
}

impl Tree {
    /// Walks `root`, skipping `skip_dirs` (by name, at any depth) and
    /// whatever `.gitignore` files exclude.
    pub fn walk(root: &Path, skip_dirs: &[&str]) -> Tree {
        let skip: Vec<String> = ALWAYS_SKIP
            .iter()
            .chain(skip_dirs)
            .map(|s| (*s).to_owned())
            .collect();
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(false)
            .require_git(false)
            .follow_links(false)
            .max_depth(Some(MAX_DEPTH))
            .filter_entry(move |entry| {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                !(is_dir
                    && entry.depth() > 0
                    && skip.iter().any(|s| entry.file_name() == s.as_str()))
            })
            .build();
        let mut files = Vec::new();
        for entry in walker.flatten() {
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            if let Ok(rel) = entry.path().strip_prefix(root) {
                files.push(slash_path(rel));
            }
        }
        files.sort();
        let root: PathBuf = root.to_owned();
        Tree::new(files, Box::new(move |rel| read_capped(&root.join(rel))))
    }

    /// A tree held in memory: (path, contents) pairs.
    pub fn from_memory(entries: &[(&str, &str)]) -> Tree {
        let map: HashMap<String, String> = entries
            .iter()
            .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
            .collect();
        let mut files: Vec<String> = map.keys().cloned().collect();
        files.sort();
        Tree::new(files, Box::new(move |rel| map.get(rel).cloned()))
    }

    fn new(files: Vec<String>, reader: Reader) -> Tree {
        Tree {
            files,
            reader,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// Every file, sorted.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The files directly in `dir` (`""` is the root).
    pub fn children(&self, dir: &str) -> impl Iterator<Item = &str> {
        let under = self.under(dir);
        let skip = if dir.is_empty() { 0 } else { dir.len() + 1 };
        // Sorted paths put `dir/a/...` between `dir/a.txt` and `dir/b`, so
        // walk the run and jump over each subdirectory by binary search.
        let mut i = 0;
        std::iter::from_fn(move || {
            while i < under.len() {
                let f = under[i].as_str();
                match f[skip..].find('/') {
                    None => {
                        i += 1;
                        return Some(f);
                    }
                    Some(slash) => {
                        let sub = &f[..=skip + slash];
                        i += under[i..].partition_point(|g| g.starts_with(sub));
                    }
                }
            }
            None
        })
    }

    /// The files under `dir` (`""` is the root): a contiguous run of the
    /// sorted list, since every path below `dir/` shares that prefix.
    pub fn under(&self, dir: &str) -> &[String] {
        if dir.is_empty() {
            return &self.files;
        }
        let prefix = format!("{dir}/");
        let start = self.files.partition_point(|f| f.as_str() < prefix.as_str());
        let len = self.files[start..].partition_point(|f| f.starts_with(&prefix));
        &self.files[start..start + len]
    }

    pub fn contains(&self, rel: &str) -> bool {
        self.files.binary_search_by(|f| f.as_str().cmp(rel)).is_ok()
    }

    /// The start of a file's text (lossy UTF-8), read once.
    pub fn read(&self, rel: &str) -> Option<Rc<str>> {
        if let Some(hit) = self.cache.borrow().get(rel) {
            return hit.clone();
        }
        let text: Option<Rc<str>> = (self.reader)(rel).map(Into::into);
        self.cache.borrow_mut().insert(rel.to_owned(), text.clone());
        text
    }
}

fn read_capped(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(READ_LIMIT).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn slash_path(rel: &Path) -> String {
    if std::path::MAIN_SEPARATOR == '/' {
        return rel.to_string_lossy().into_owned();
    }
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// `a/b/c.txt` -> `a/b`; `c.txt` -> the empty string (the root).
pub fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// `a/b/c.txt` -> `c.txt`.
pub fn file_name(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(rel, |(_, name)| name)
}

/// Whether `rel` lies strictly inside directory `dir` (`""` is the root).
pub fn is_under(rel: &str, dir: &str) -> bool {
    (dir.is_empty() && !rel.is_empty())
        || (rel.len() > dir.len() && rel.starts_with(dir) && rel.as_bytes()[dir.len()] == b'/')
}

/// `rel` relative to `dir` (which holds it).
pub fn relative<'a>(rel: &'a str, dir: &str) -> &'a str {
    if dir.is_empty() {
        rel
    } else {
        &rel[dir.len() + 1..]
    }
}

/// `dir` joined with `rel` (`""` is the root).
pub fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_owned()
    } else {
        format!("{dir}/{rel}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_skips_dependency_dirs_and_gitignored_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in [
            ("app.py", "print()"),
            (".gitignore", "secret/\n*.log\n"),
            ("secret/x.py", ""),
            ("debug.log", ""),
            ("node_modules/express/index.js", ""),
            ("web/node_modules/x/package.json", "{}"),
            (".git/config", ""),
            ("src/target.rs", ""),
            ("target/debug/x", ""),
            (".vscode/launch.json", "{}"),
        ] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let tree = Tree::walk(dir.path(), &["node_modules", "target"]);
        assert_eq!(
            tree.files(),
            [
                ".gitignore",
                ".vscode/launch.json",
                "app.py",
                "src/target.rs"
            ]
        );
        assert_eq!(tree.read("app.py").as_deref(), Some("print()"));
        assert_eq!(tree.under("src"), ["src/target.rs"]);
        assert_eq!(tree.under("").len(), 4);
        assert!(tree.under("nope").is_empty());
        let top: Vec<&str> = tree.children("").collect();
        assert_eq!(top, [".gitignore", "app.py"]);
        let mem = Tree::from_memory(&[
            ("a/x", ""),
            ("a/b/y", ""),
            ("a/b/z", ""),
            ("a/c", ""),
            ("a.txt", ""),
        ]);
        assert_eq!(mem.children("a").collect::<Vec<_>>(), ["a/c", "a/x"]);
    }

    #[test]
    fn reads_are_capped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = "x".repeat(200_000);
        std::fs::write(dir.path().join("big.js"), &big).expect("write");
        let tree = Tree::walk(dir.path(), &[]);
        let text = tree.read("big.js").expect("read");
        assert_eq!(text.len() as u64, READ_LIMIT);
    }

    #[test]
    fn path_helpers() {
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("c"), "");
        assert_eq!(file_name("a/b/c"), "c");
        assert!(is_under("a/b", ""));
        assert!(!is_under("", ""));
        assert!(is_under("a/b", "a"));
        assert!(!is_under("ab/c", "a"));
        assert!(!is_under("a", "a"));
        assert_eq!(relative("a/b/c", "a"), "b/c");
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("a", "x"), "a/x");
    }
}
