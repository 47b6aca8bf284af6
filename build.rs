//! Embeds `packs/` in the binary: writes `$OUT_DIR/packs.rs`, a sorted list
//! of `(relative path, contents)` for every file under `packs/`, so that a
//! pack is data (a directory) and adding one needs no Rust change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=packs");
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let packs = root.join("packs");
    let mut files = Vec::new();
    collect(&packs, &mut files);
    files.sort();
    let mut out =
        String::from("/// Every file under `packs/`: (path relative to `packs/`, contents).\n");
    out.push_str("pub static FILES: &[(&str, &str)] = &[\n");
    for path in files {
        let rel = path
            .strip_prefix(&packs)
            .expect("under packs/")
            .to_string_lossy()
            .replace('\\', "/");
        let _ = writeln!(
            out,
            "    ({rel:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("packs.rs");
    std::fs::write(dest, out).expect("write packs.rs");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
