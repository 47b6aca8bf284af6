//! Every base image a pack's Dockerfile builds `FROM` has a stand-in in the
//! test world (`tests/world/standins.toml`): Docker Hub is unreachable here, so
//! a pack without one could never be proven to build.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::repo_root;

/// The `image` of every `[[standin]]`.
fn standins() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo_root().join("tests/world/standins.toml"))
        .expect("tests/world/standins.toml exists");
    let doc: toml::Table = toml::from_str(&text).expect("standins.toml is TOML");
    doc["standin"]
        .as_array()
        .expect("[[standin]] tables")
        .iter()
        .map(|s| {
            s["image"]
                .as_str()
                .expect("each standin has an image")
                .to_owned()
        })
        .collect()
}

/// External images named by `FROM` lines (stage names and `scratch` excluded).
fn from_images(dockerfile: &str) -> Vec<String> {
    let mut stages = BTreeSet::new();
    let mut images = Vec::new();
    for line in dockerfile.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words
            .first()
            .is_none_or(|w| !w.eq_ignore_ascii_case("FROM"))
        {
            continue;
        }
        let args: Vec<&str> = words[1..]
            .iter()
            .copied()
            .filter(|w| !w.starts_with("--"))
            .collect();
        let Some(image) = args.first() else { continue };
        if *image != "scratch" && !stages.contains(*image) {
            images.push((*image).to_owned());
        }
        if args.len() >= 3 && args[1].eq_ignore_ascii_case("AS") {
            stages.insert(args[2].to_owned());
        }
    }
    images
}

fn dockerfiles(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            dockerfiles(&path, out);
        } else if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("Dockerfile"))
        {
            out.push(path);
        }
    }
}

#[test]
fn every_pack_base_image_has_a_stand_in() {
    let known = standins();
    for required in [
        "debian:bookworm-slim",
        "busybox:1.37",
        "python:3.13-slim",
        "node:22-slim",
        "golang:1.24",
    ] {
        assert!(known.contains(required), "stand-in {required} is listed");
    }
    let mut files = Vec::new();
    dockerfiles(&repo_root().join("packs"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for image in from_images(&text) {
            assert!(
                known.contains(&image),
                "{} builds FROM {image}, which has no stand-in in tests/world/standins.toml",
                file.display()
            );
        }
    }
}

#[test]
fn from_lines_are_read_like_docker_reads_them() {
    let dockerfile = "FROM --platform=$BUILDPLATFORM golang:1.24 AS build\nRUN go build\nfrom build as test\nFROM scratch\nCOPY --from=build /app /app\nFROM python:3.13-slim\n";
    assert_eq!(from_images(dockerfile), ["golang:1.24", "python:3.13-slim"]);
}
