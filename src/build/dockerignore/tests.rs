//! Cases ported from moby's `patternmatcher_test.go` (`TestMatches`,
//! multi-pattern cases, `TestMatchesWithMalformedPatterns`) and
//! `ignorefile_test.go`, plus the walk decisions of `archive.TarWithOptions`.

use super::*;

fn matcher(lines: &[&str]) -> Matcher {
    Matcher::parse(&lines.join("\n")).expect("valid patterns")
}

#[test]
fn single_patterns_match_as_in_moby() {
    // (pattern, path, excluded) — moby's TestMatches table, verbatim.
    let cases: &[(&str, &str, bool)] = &[
        ("**", "file", true),
        ("**", "file/", true),
        ("**/", "file", true),
        ("**/", "file/", true),
        ("**", "/", true),
        ("**/", "/", true),
        ("**", "dir/file", true),
        ("**/", "dir/file", true),
        ("**", "dir/file/", true),
        ("**/", "dir/file/", true),
        ("**/**", "dir/file", true),
        ("**/**", "dir/file/", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/file/", true),
        ("dir/**", "dir/dir2/file", true),
        ("dir/**", "dir/dir2/file/", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/*", "dir/dir2/file/", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file/", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**/file", "dir/file", true),
        ("**file", "dir/dir/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file", true),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*txt", "dir/dir/file.txt", true),
        ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("**/**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("a\\\\", "a\\", true),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def", true),
        ("abc/**", "abc/def/ghi", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        (
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        // Anchored at the root, unlike gitignore.
        ("foo", "a/foo", false),
        ("foo", "foo/bar", true),
        ("/foo", "foo", true),
        ("*.go", "a/b.go", false),
        ("*/*.go", "a/b.go", true),
        ("./foo/../bar", "bar", true),
        ("foo/", "foo/x", true),
    ];
    let mut failures = Vec::new();
    for (pattern, path, want) in cases {
        if matcher(&[pattern]).excludes(path) != *want {
            failures.push(format!("{pattern:?} on {path:?}: want {want}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn last_match_wins_and_exclusions_reinclude() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            true,
        ),
        (
            &[
                "**",
                "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            ],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            false,
        ),
        (
            &["**", "!dist/*.whl"],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            false,
        ),
        (&["*.md", "!README.md"], "README.md", false),
        (&["*.md", "!README.md"], "CHANGES.md", true),
        (&["!README.md", "*.md"], "README.md", true),
        (&["docs", "!docs/keep.md"], "docs/keep.md", false),
        (&["docs", "!docs/keep.md"], "docs/other.md", true),
        (
            &["docs/", "!docs/keep.md", "docs/keep.md"],
            "docs/keep.md",
            true,
        ),
        (&["**/*.log", "!important.log"], "a/x.log", true),
        (&["**/*.log", "!important.log"], "important.log", false),
    ];
    for (patterns, path, want) in cases {
        assert_eq!(
            matcher(patterns).excludes(path),
            *want,
            "{patterns:?} on {path:?}"
        );
    }
}

#[test]
fn excluded_directories_are_walked_only_for_a_prefix_exclusion() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["docs", "!docs/keep.md"], "docs", true),
        (&["docs", "!docs/sub/*.md"], "docs", true),
        (&["docs", "!docs/sub/*.md"], "docs/sub", true),
        (&["docs", "!docsx"], "docs", false),
        // Docker's literal prefix test: `!**/keep.md` does not reopen `docs`.
        (&["docs", "!**/keep.md"], "docs", false),
        (&["docs"], "docs", false),
    ];
    for (patterns, dir, want) in cases {
        assert_eq!(
            matcher(patterns).must_descend(dir),
            *want,
            "{patterns:?} {dir:?}"
        );
    }
}

#[test]
fn ignore_file_lines_are_read_as_docker_reads_them() {
    let text = "\u{feff}# comment\n  # not a comment\n\n  /abs/path/  \n! spaced\n!/rooted\nfoo//bar/./baz/..\n\r\n/\n";
    let m = Matcher::parse(text).expect("valid");
    let shown: Vec<String> = m.patterns().iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "# not a comment",
            "abs/path",
            "!spaced",
            "!rooted",
            "foo/bar",
            "/"
        ]
    );
}

#[test]
fn malformed_patterns_are_errors_with_their_line() {
    for (text, line) in [
        ("ok\n!\n", 2),
        ("[", 1),
        ("a\n[a-\n", 2),
        ("x\\", 1),
        ("[]", 1),
        ("[z-a]", 1),
    ] {
        let err = Matcher::parse(text).expect_err(text);
        assert_eq!(err.line, line, "{text:?}: {err}");
    }
}

#[test]
fn dockerfile_and_dockerignore_are_always_kept() {
    let mut m = matcher(&["*", "!src"]);
    assert!(m.excludes("Dockerfile") && m.excludes(".dockerignore"));
    m.keep_build_files("Dockerfile");
    assert!(!m.excludes("Dockerfile"));
    assert!(!m.excludes(".dockerignore"));
    assert!(m.excludes("other"));
    let mut m = matcher(&["docker/"]);
    m.keep_build_files("docker/Dockerfile.dev");
    assert!(!m.excludes("docker/Dockerfile.dev"));
    assert!(m.must_descend("docker"));
    let mut m = matcher(&["tmp"]);
    m.keep_build_files("Dockerfile");
    assert_eq!(
        m.patterns().len(),
        1,
        "nothing added when nothing excludes them"
    );
}

#[test]
fn clean_is_go_filepath_clean() {
    for (input, want) in [
        ("", "."),
        ("a/b/../c", "a/c"),
        ("/../a", "/a"),
        ("../a", "../a"),
        ("a/../..", ".."),
        ("//a//b/", "/a/b"),
        ("./", "."),
    ] {
        assert_eq!(clean(input), want, "{input:?}");
    }
}
