use std::time::{Duration, SystemTime};

use std::os::unix::fs::PermissionsExt as _;

use super::*;

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, contents) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, contents).expect("write");
    }
    dir
}

fn open(dir: &Path) -> BuildContext {
    BuildContext::open(dir, "Dockerfile").expect("context")
}

#[test]
fn entries_are_sorted_filtered_and_keep_build_files() {
    let dir = tree(&[
        ("Dockerfile", "FROM scratch\n"),
        (".dockerignore", "*\n!src\n!docs/keep.md\nsrc/**/*.tmp\n"),
        ("b.txt", "b"),
        ("src/z.rs", "z"),
        ("src/a/b.tmp", "tmp"),
        ("src/a/c.rs", "c"),
        ("docs/keep.md", "k"),
        ("docs/drop.md", "d"),
    ]);
    let (names, summary) = open(dir.path()).list().expect("list");
    assert_eq!(
        names,
        [
            ".dockerignore",
            "Dockerfile",
            "docs/keep.md",
            "src/",
            "src/a/",
            "src/a/c.rs",
            "src/z.rs"
        ]
    );
    assert_eq!(summary.entries, 7);
    assert_eq!(summary.bytes % 512, 0);
}

#[test]
fn digest_ignores_mtime_and_ignored_files_but_not_content_or_mode() {
    let dir = tree(&[
        ("Dockerfile", "FROM scratch\n"),
        (".dockerignore", "*.log\n"),
        ("app.py", "print(1)\n"),
        ("debug.log", "x"),
    ]);
    let first = open(dir.path()).digest().expect("digest");
    assert_eq!(
        first,
        open(dir.path()).digest().expect("digest"),
        "same tree, same digest"
    );

    let old = SystemTime::now() - Duration::from_hours(24);
    File::options()
        .write(true)
        .open(dir.path().join("app.py"))
        .and_then(|f| f.set_modified(old))
        .expect("touch");
    assert_eq!(
        first.digest,
        open(dir.path()).digest().expect("digest").digest,
        "mtime only"
    );

    fs::write(dir.path().join("debug.log"), "changed").expect("write");
    assert_eq!(
        first.digest,
        open(dir.path()).digest().expect("digest").digest,
        "ignored file"
    );

    fs::write(dir.path().join("app.py"), "print(2)\n").expect("write");
    let changed = open(dir.path()).digest().expect("digest");
    assert_ne!(first.digest, changed.digest, "content");

    fs::set_permissions(dir.path().join("app.py"), fs::Permissions::from_mode(0o755))
        .expect("chmod");
    assert_ne!(
        changed.digest,
        open(dir.path()).digest().expect("digest").digest,
        "execute bit"
    );
}

#[test]
fn symlinks_are_sent_as_links_with_their_target() {
    let dir = tree(&[("Dockerfile", "FROM scratch\n"), ("real/file", "data")]);
    std::os::unix::fs::symlink("real/file", dir.path().join("link")).expect("symlink");
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("outside")).expect("symlink");
    std::os::unix::fs::symlink("real", dir.path().join("dirlink")).expect("symlink");
    let ctx = open(dir.path());
    let (bytes, _) = ctx.write(Vec::new(), &mut |_| {}).expect("tar");
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut links = Vec::new();
    for entry in archive.entries().expect("entries") {
        let entry = entry.expect("entry");
        let header = entry.header();
        assert_eq!(header.mtime().expect("mtime"), tar::DETERMINISTIC_TIMESTAMP);
        assert_eq!(
            (header.uid().expect("uid"), header.gid().expect("gid")),
            (0, 0)
        );
        if header.entry_type() == tar::EntryType::Symlink {
            links.push((
                entry.path().expect("path").display().to_string(),
                entry
                    .link_name()
                    .expect("link")
                    .expect("target")
                    .display()
                    .to_string(),
            ));
        }
    }
    assert_eq!(
        links,
        [
            ("dirlink".to_owned(), "real".to_owned()),
            ("link".to_owned(), "real/file".to_owned()),
            ("outside".to_owned(), "/etc/passwd".to_owned()),
        ]
    );
}

#[test]
fn long_names_and_missing_dockerfile() {
    let long = format!("{}/file", "d".repeat(150));
    let dir = tree(&[("Dockerfile", "FROM scratch\n"), (&long, "x")]);
    let (names, _) = open(dir.path()).list().expect("list");
    assert!(names.contains(&long), "{names:?}");
    for outside in ["../Dockerfile", "/etc/Dockerfile", "a/../../Dockerfile"] {
        assert!(
            matches!(
                BuildContext::open(dir.path(), outside),
                Err(BuildError::DockerfileOutside { .. })
            ),
            "{outside}"
        );
    }
    let empty = tree(&[("a", "")]);
    assert!(matches!(
        BuildContext::open(empty.path(), "Dockerfile"),
        Err(BuildError::NoDockerfile { .. })
    ));
    let bad = tree(&[("Dockerfile", ""), (".dockerignore", "!\n")]);
    assert!(matches!(
        BuildContext::open(bad.path(), "Dockerfile"),
        Err(BuildError::Dockerignore { .. })
    ));
}

#[test]
fn the_watcher_asks_what_the_context_sends() {
    let dir = tree(&[
        ("Dockerfile", "FROM scratch\n"),
        (
            ".dockerignore",
            "node_modules\n*.md\nbuild\n!build/keep.txt\n",
        ),
        ("app.py", ""),
    ]);
    let ctx = open(dir.path());
    let root = dir.path();
    assert!(ctx.sends(&root.join("app.py")));
    assert!(ctx.sends(&root.join("Dockerfile")));
    assert!(!ctx.sends(&root.join("README.md")));
    assert!(!ctx.sends(&root.join("node_modules/x/index.js")));
    assert!(ctx.sends(&root.join("build/keep.txt")));
    assert!(!ctx.sends(Path::new("/elsewhere/app.py")));
    assert!(ctx.skips_dir(&root.join("node_modules")));
    // An exception under it keeps `build` walked.
    assert!(!ctx.skips_dir(&root.join("build")));
    assert!(!ctx.skips_dir(&root.join("src")));
}
