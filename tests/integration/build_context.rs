//! `devloop build`'s context against the real engine: the files a `docker
//! build` (the CLI, same engine) puts in an image equal devloop's context for
//! a tree with tricky `.dockerignore` patterns; the digest is stable; a
//! 50k-file context streams without being held in memory.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::support::{World, devloop, run, temp_repo};

const TRICKY_IGNORE: &str = "\
# a comment, then Docker's rules: anchored, ** spans dirs, last match wins
*.log
!keep.log
build/
!build/keep/
**/node_modules
docs/**/*.md
!docs/important/*.md
/abs
sub/*/deep
?x.txt
[a-c].cfg
tmp*
!tmpkeep
  spaced.txt  
cache
!cache/**/*.keep
Dockerfile
.dockerignore
";

const TRICKY_FILES: &[&str] = &[
    "a.log",
    "keep.log",
    "sub/b.log",
    "build/x",
    "build/keep/y",
    "build/keep/z/w",
    "node_modules/m",
    "src/node_modules/n",
    "src/main.rs",
    "docs/a.md",
    "docs/x/b.md",
    "docs/important/c.md",
    "docs/important/d.txt",
    "abs",
    "sub/abs",
    "sub/q/deep/f",
    "sub/q/r/deep",
    "ax.txt",
    "abx.txt",
    "a.cfg",
    "d.cfg",
    "tmp1",
    "tmpkeep",
    "tmpdir/f",
    "spaced.txt",
    "cache/a/b.keep",
    "cache/a/b.drop",
    "#hash",
    "weird name with spaces",
];

fn tricky_tree(nonce: &str) -> tempfile::TempDir {
    let mut files: Vec<(&str, String)> = TRICKY_FILES
        .iter()
        .map(|f| (*f, format!("{f} {nonce}\n")))
        .collect();
    files.push(("Dockerfile", "FROM busybox:1.37\nCOPY . /ctx\n".to_owned()));
    files.push((".dockerignore", TRICKY_IGNORE.to_owned()));
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let dir = temp_repo("dl-ctx", &borrowed);
    std::os::unix::fs::symlink("src/main.rs", dir.path().join("link")).expect("symlink");
    std::fs::create_dir(dir.path().join("emptydir")).expect("mkdir");
    dir
}

fn show_context(dir: &Path) -> (Vec<String>, String) {
    let out = run(devloop(dir).args(["build", "--show-context"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let digest = out
        .stderr
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .expect("digest on stderr")
        .to_owned();
    (out.stdout.lines().map(str::to_owned).collect(), digest)
}

fn docker(world: &World) -> Command {
    let mut cmd = Command::new("docker");
    cmd.env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .env("DOCKER_BUILDKIT", "0");
    cmd
}

#[test]
fn dockerignore_matches_the_real_docker_build() {
    let Some(world) = World::get() else { return };
    let nonce = format!("{}-{}", std::process::id(), line!());
    let dir = tricky_tree(&nonce);
    let (entries, _) = show_context(dir.path());
    let ours: BTreeSet<String> = entries
        .iter()
        .filter(|e| !e.ends_with('/'))
        .cloned()
        .collect();

    let tag = format!("devloop-test/dockerignore:{}", std::process::id());
    let built = docker(&world)
        .args(["build", "-q", "-t", &tag, "."])
        .current_dir(dir.path())
        .output()
        .expect("docker CLI runs");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let listed = docker(&world)
        .args(["run", "--rm", &tag, "find", "/ctx", "!", "-type", "d"])
        .output()
        .expect("docker run");
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let empty_dir = docker(&world)
        .args(["run", "--rm", &tag, "test", "-d", "/ctx/emptydir"])
        .status()
        .expect("docker run");
    let _ = docker(&world).args(["rmi", "-f", &tag]).output();
    let theirs: BTreeSet<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("/ctx/"))
        .map(str::to_owned)
        .collect();
    // devloop sends the Dockerfile and .dockerignore although the patterns
    // exclude them (the engine must read them: Docker's CLI does the same);
    // the engine then drops them from what COPY sees, as moby's
    // `removeDockerfile` does. So the image holds the context minus those two.
    assert!(ours.contains("Dockerfile") && ours.contains(".dockerignore"));
    let in_image: BTreeSet<String> = ours
        .iter()
        .filter(|f| !matches!(f.as_str(), "Dockerfile" | ".dockerignore"))
        .cloned()
        .collect();
    assert_eq!(
        in_image, theirs,
        "devloop's context vs the files docker build sent"
    );
    assert!(empty_dir.success(), "an empty directory is sent");
    assert!(entries.contains(&"emptydir/".to_owned()));
    // The cases the table is about, spelled out.
    for kept in [
        "keep.log",
        "build/keep/y",
        "docs/important/c.md",
        "sub/b.log",
        "link",
        "build/keep/z/w",
    ] {
        assert!(ours.contains(kept), "{kept} is sent: {ours:?}");
    }
    // `cache/a/b.keep`: `!cache/**/*.keep` reopens `cache` (a literal prefix)
    // but not `cache/a`, so Docker never walks into it; the engine agrees.
    for dropped in [
        "cache/a/b.keep",
        "a.log",
        "build/x",
        "src/node_modules/n",
        "docs/x/b.md",
        "abs",
        "ax.txt",
        "tmp1",
        "spaced.txt",
        "cache/a/b.drop",
    ] {
        assert!(!ours.contains(dropped), "{dropped} is not sent: {ours:?}");
    }
}

#[test]
fn context_digest_is_stable_and_ignores_mtime_and_ignored_files() {
    let dir = tricky_tree("stable");
    let (_, first) = show_context(dir.path());
    let (_, again) = show_context(dir.path());
    assert_eq!(first, again);
    let touched = Command::new("touch")
        .args(["-d", "2001-01-01", "src/main.rs", "keep.log"])
        .current_dir(dir.path())
        .status()
        .expect("touch");
    assert!(touched.success());
    assert_eq!(first, show_context(dir.path()).1, "mtime alone");
    std::fs::write(dir.path().join("a.log"), "ignored change").expect("write");
    std::fs::write(dir.path().join("node_modules/new"), "ignored").expect("write");
    assert_eq!(first, show_context(dir.path()).1, "ignored files");
    std::fs::write(dir.path().join("src/main.rs"), "changed").expect("write");
    assert_ne!(first, show_context(dir.path()).1, "a sent file");
}

/// 50,000 files of 2 KiB (a ~128 MB tar): listing the context and sending it
/// to the engine both stay far below the context's size in memory.
#[test]
fn a_50k_file_context_streams_in_bounded_memory() {
    const FILES: usize = 50_000;
    const LIMIT_MIB: u64 = 64;
    let Some(world) = World::get() else { return };
    let dir = temp_repo(
        "dl-50k",
        &[("Dockerfile", "FROM busybox:1.37\nLABEL test=50k\n")],
    );
    let body: String = "0123456789abcdef".repeat(128);
    let started = Instant::now();
    for d in 0..50 {
        let sub = dir.path().join(format!("d{d:02}"));
        std::fs::create_dir(&sub).expect("mkdir");
        for f in 0..FILES / 50 {
            std::fs::write(sub.join(format!("f{f:04}")), format!("{d} {f} {body}")).expect("write");
        }
    }
    eprintln!(
        "wrote {FILES} files in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let out = run(devloop(dir.path()).args(["build", "--show-context"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), FILES + 50 + 1);
    eprintln!("show-context: {}", out.stderr.trim());
    let rss: u64 = out
        .stderr
        .split("peak RSS ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("peak RSS reported");
    assert!(rss < LIMIT_MIB, "listing held {rss} MiB");

    // The whole context to the engine (no COPY: the engine still receives it).
    let started = Instant::now();
    let out = run(Command::new("/usr/bin/time")
        .args(["-f", "peak-rss-kib=%M"])
        .arg(env!("CARGO_BIN_EXE_devloop"))
        .args(["build", "-v", "--no-push"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path().join(".test-home"))
        .env("DOCKER_HOST", world.var("DOCKER_HOST")));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let kib: u64 = out
        .stderr
        .split("peak-rss-kib=")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .expect("time reports peak RSS");
    eprintln!(
        "build of the 50k context: {:.1}s, peak RSS {} MiB\n{}",
        started.elapsed().as_secs_f64(),
        kib / 1024,
        out.stderr.trim()
    );
    assert!(kib / 1024 < LIMIT_MIB, "sending held {} MiB", kib / 1024);
    let image = out.stdout.trim();
    let _ = Command::new("docker")
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .args(["rmi", image])
        .output();
}
