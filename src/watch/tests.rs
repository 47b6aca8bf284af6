//! The watcher on real directories: changes arrive, ignored trees and editor
//! litter do not, and new directories are followed.

use std::time::Duration;

use super::*;

fn ignore_node_modules() -> Arc<IgnoreFn> {
    Arc::new(|p: &Path, _| p.components().any(|c| c.as_os_str() == "node_modules"))
}

/// Collects changes until none arrive for 300 ms (or 5 s pass).
async fn settle(rx: &mut mpsc::UnboundedReceiver<ChangeSet>) -> ChangeSet {
    let mut all = ChangeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Some(batch)) = tokio::time::timeout_at(
        deadline.min(tokio::time::Instant::now() + Duration::from_millis(300)),
        rx.recv(),
    )
    .await
    {
        all.merge(batch);
    }
    all
}

#[test]
fn editor_litter_is_recognised() {
    for temp in [
        "a.py.swp",
        ".a.py.swx",
        "a.py~",
        ".#a.py",
        "#a.py#",
        "4913",
        "x___jb_tmp___",
        ".DS_Store",
    ] {
        assert!(is_editor_temp(Path::new(temp)), "{temp}");
    }
    for real in ["a.py", "swp.py", "Dockerfile", "#include.h"] {
        assert!(!is_editor_temp(Path::new(real)), "{real}");
    }
}

#[tokio::test]
async fn changes_arrive_and_ignored_paths_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::create_dir_all(root.join("node_modules/pkg")).expect("mkdir");
    std::fs::create_dir_all(root.join(".git")).expect("mkdir");
    std::fs::write(root.join("src/app.py"), "v1").expect("write");

    let (watcher, mut rx) =
        watch(std::slice::from_ref(&root), &ignore_node_modules()).expect("watch");
    assert_eq!(
        watcher.watched_dirs(),
        2,
        "root and src; not node_modules or .git"
    );

    std::fs::write(root.join("src/app.py"), "v2").expect("write");
    std::fs::write(root.join("node_modules/pkg/index.js"), "x").expect("write");
    std::fs::write(root.join(".git/index"), "x").expect("write");
    std::fs::write(root.join("src/.app.py.swp"), "x").expect("write");
    std::fs::write(root.join("src/app.py~"), "x").expect("write");
    let got = settle(&mut rx).await;
    let paths: Vec<_> = got.iter().map(|(p, k)| (p.to_owned(), k)).collect();
    assert_eq!(paths, vec![(root.join("src/app.py"), ChangeKind::Modified)]);

    std::fs::remove_file(root.join("src/app.py")).expect("rm");
    let got = settle(&mut rx).await;
    assert_eq!(
        got.iter().next(),
        Some((root.join("src/app.py").as_path(), ChangeKind::Removed))
    );
}

#[tokio::test]
async fn new_directories_are_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    let (_watcher, mut rx) =
        watch(std::slice::from_ref(&root), &ignore_node_modules()).expect("watch");
    std::fs::create_dir_all(root.join("pkg/deep")).expect("mkdir");
    std::fs::write(root.join("pkg/deep/a.go"), "package deep").expect("write");
    let got = settle(&mut rx).await;
    assert!(
        got.iter().any(|(p, _)| p == root.join("pkg/deep/a.go")),
        "{got:?}"
    );

    // Later writes in the new directory are seen through its own watch.
    std::fs::write(root.join("pkg/deep/b.go"), "package deep").expect("write");
    let got = settle(&mut rx).await;
    assert_eq!(
        got.iter().next(),
        Some((root.join("pkg/deep/b.go").as_path(), ChangeKind::Created))
    );
}

fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args([
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// A `git checkout` that rewrites 5,000 files is one iteration, not hundreds.
#[tokio::test]
async fn a_5k_file_checkout_is_one_batch() {
    use crate::session::coalesce::Coalescer;

    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    git(&root, &["init", "-q", "-b", "main"]);
    for i in 0..5000 {
        let sub = root.join(format!("pkg{}", i % 50));
        std::fs::create_dir_all(&sub).expect("mkdir");
        std::fs::write(sub.join(format!("f{i}.py")), format!("v1 {i}\n")).expect("write");
    }
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "v1"]);
    git(&root, &["checkout", "-qb", "other"]);
    for i in 0..5000 {
        std::fs::write(
            root.join(format!("pkg{}/f{i}.py", i % 50)),
            format!("v2 {i}\n"),
        )
        .expect("write");
    }
    git(&root, &["commit", "-qam", "v2"]);
    git(&root, &["checkout", "-q", "main"]);

    let (_watcher, mut rx) =
        watch(std::slice::from_ref(&root), &ignore_node_modules()).expect("watch");
    let started = std::time::Instant::now();
    git(&root, &["checkout", "-q", "other"]);
    let checkout = started.elapsed();

    let mut coalescer = Coalescer::default();
    let mut batches = Vec::new();
    let mut end = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let wake = coalescer.deadline().unwrap_or(end).min(end);
        tokio::select! {
            Some(changes) = rx.recv() => coalescer.add(tokio::time::Instant::now(), changes),
            () = tokio::time::sleep_until(wake) => {
                if let Some(batch) = coalescer.take_due(tokio::time::Instant::now()) {
                    batches.push((batch.len(), batch.needs_rescan()));
                    // Stragglers would open a second batch: watch one more second.
                    end = tokio::time::Instant::now() + Duration::from_secs(1);
                }
                if tokio::time::Instant::now() >= end {
                    break;
                }
            }
        }
    }
    eprintln!(
        "git checkout of 5000 files took {checkout:?}; batches (files, events lost): {batches:?}"
    );
    // One iteration. It lists every file, unless the kernel's inotify queue
    // overflowed (16384 events by default: git's unlink + create + write +
    // close per file overflow it), in which case the batch says events were
    // lost, and the plan starts over from what is on disk.
    assert_eq!(batches.len(), 1, "one iteration: {batches:?}");
    let (files, lost) = batches[0];
    assert!(
        files == 5000 || lost,
        "every file, or a rescan: {batches:?}"
    );
}
