//! Packs: what devloop knows about a language, as data.
//!
//! Each `packs/<name>/pack.toml` is embedded in the binary at build time
//! (`build.rs` lists every file under `packs/`). This module parses and
//! compiles them once; it owns the format (documented in `packs/README.md`),
//! not its use: detection lives in [`crate::detect`].

mod scaffold;
mod spec;
pub mod user;

use std::sync::OnceLock;

pub use scaffold::{Debug, DockerfileRule, Probe, RunRule, Scaffold};
pub use spec::{
    Compiled, EntryRule, FrameworkRule, LanguageRule, ManifestRule, Marker, Pattern, PatternSet,
    PortRule, PortSource, Rx, Signal,
};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/packs.rs"));
}

/// A pack file that does not parse or compile. Packs are compiled in, so this
/// is a bug in devloop (caught by the unit tests), not the user's input.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("pack {pack}: {message}")]
    Invalid { pack: String, message: String },
}

/// One pack, ready to use.
#[derive(Debug)]
pub struct Pack {
    /// The pack's name (its directory under `packs/`).
    pub name: String,
    pub detect: Compiled,
    /// What init writes for an app of this pack.
    pub scaffold: Scaffold,
    /// Live-sync rules `devloop up` uses when devloop.toml has none.
    pub sync: Vec<crate::sync::rules::RuleSpec>,
    /// The pack.toml text, as written.
    pub text: String,
    /// The user pack's directory; `None` for an embedded pack.
    pub origin: Option<std::path::PathBuf>,
}

/// The embedded files: (path relative to `packs/`, contents).
pub fn embedded_files() -> &'static [(&'static str, &'static str)] {
    embedded::FILES
}

/// The packs compiled into devloop, in name order.
pub fn embedded() -> Result<&'static [Pack], &'static PackError> {
    static PACKS: OnceLock<Result<Vec<Pack>, PackError>> = OnceLock::new();
    PACKS
        .get_or_init(|| parse_all(embedded::FILES))
        .as_ref()
        .map(Vec::as_slice)
}

/// Parses every `<name>/pack.toml` among `files` (path, contents).
pub fn parse_all(files: &[(&str, &str)]) -> Result<Vec<Pack>, PackError> {
    let mut packs = Vec::new();
    for (path, text) in files {
        let Some((dir, "pack.toml")) = path.rsplit_once('/') else {
            continue;
        };
        let mut pack = parse(dir, text)?;
        pack.scaffold.files = files
            .iter()
            .filter_map(|(p, t)| {
                let (d, name) = p.split_once('/')?;
                (d == dir && name != "pack.toml").then(|| (name.to_owned(), (*t).to_owned()))
            })
            .collect();
        check_files(&pack)?;
        packs.push(pack);
    }
    packs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packs)
}

/// Parses one pack.toml; `dir` is its directory name, which must match `name`.
/// Regexes compile on first use; [`check`] compiles them all.
pub fn parse(dir: &str, text: &str) -> Result<Pack, PackError> {
    let invalid = |message: String| PackError::Invalid {
        pack: dir.to_owned(),
        message,
    };
    let file: spec::PackFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if file.name != dir {
        return Err(invalid(format!(
            "name {:?} differs from its directory",
            file.name
        )));
    }
    let detect = file.detect.compile().map_err(invalid)?;
    crate::sync::rules::Rules::compile(&file.sync).map_err(invalid)?;
    Ok(Pack {
        name: file.name,
        detect,
        scaffold: Scaffold {
            port: file.port,
            dockerfile: file.dockerfile,
            run: file.run,
            debug: file.debug,
            probe: file.probe,
            files: Vec::new(),
        },
        sync: file.sync,
        text: text.to_owned(),
        origin: None,
    })
}

/// Every `[[dockerfile]]` names a file of the pack.
fn check_files(pack: &Pack) -> Result<(), PackError> {
    for rule in &pack.scaffold.dockerfile {
        if pack.scaffold.file(&rule.file).is_none() {
            return Err(PackError::Invalid {
                pack: pack.name.clone(),
                message: format!("[[dockerfile]] names {}, which the pack lacks", rule.file),
            });
        }
    }
    Ok(())
}

/// Compiles every regex of `pack` (see [`Rx`]).
pub fn check(pack: &Pack) -> Result<(), PackError> {
    pack.detect.check().map_err(|message| PackError::Invalid {
        pack: pack.name.clone(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::vocabulary;

    #[test]
    fn every_embedded_pack_compiles() {
        let packs = embedded().expect("embedded packs parse");
        assert!(packs.len() >= 16, "{} packs", packs.len());
        for pack in packs {
            check(pack).expect("every regex compiles");
        }
    }

    #[test]
    fn packs_only_use_the_documented_vocabulary() {
        for pack in embedded().expect("packs") {
            let d = &pack.detect;
            for lang in &d.languages {
                assert!(
                    vocabulary::LANGUAGES.contains(&lang.name.as_str()),
                    "{}: language {}",
                    pack.name,
                    lang.name
                );
            }
            for m in &d.manifests {
                if let Some(tool) = &m.build_tool {
                    assert!(
                        vocabulary::BUILD_TOOLS.contains(&tool.as_str()),
                        "{}: build tool {tool}",
                        pack.name
                    );
                }
            }
            for f in &d.frameworks {
                assert!(
                    vocabulary::FRAMEWORKS.contains(&f.name.as_str()),
                    "{}: framework {}",
                    pack.name,
                    f.name
                );
            }
        }
    }

    #[test]
    fn every_vocabulary_word_is_used_by_a_pack() {
        let packs = embedded().expect("packs");
        let used = |word: &str| {
            packs.iter().any(|p| {
                let d = &p.detect;
                d.languages.iter().any(|l| l.name == word)
                    || d.manifests
                        .iter()
                        .any(|m| m.build_tool.as_deref() == Some(word))
                    || d.frameworks.iter().any(|f| f.name == word)
            })
        };
        for word in vocabulary::LANGUAGES
            .iter()
            .chain(vocabulary::BUILD_TOOLS)
            .chain(vocabulary::FRAMEWORKS)
        {
            assert!(used(word), "no pack uses {word}");
        }
    }

    #[test]
    fn pattern_sets_match_like_their_globs() {
        let text = "name = \"x\"\n[detect]\n[[detect.entry]]\nfiles = \"*.{js,ts}\"\n[[detect.entry]]\nfiles = \"src/{main,index}.{ts,js}\"\n[[detect.entry]]\nfiles = \"www\"\n";
        let pack = parse("x", text).expect("parses");
        check(&pack).expect("checks");
        let set = &pack.detect.patterns;
        for (rel, want) in [
            ("a.js", vec![0]),
            ("deep/b.ts", vec![0]),
            ("src/main.ts", vec![0, 1]),
            ("src/index.js", vec![0, 1]),
            ("src/app.ts", vec![0]),
            ("bin/www", vec![2]),
            ("a.py", vec![]),
        ] {
            let (mut scratch, mut got) = (Vec::new(), Vec::new());
            set.matches_into(rel, &mut scratch, &mut got);
            got.sort_unstable();
            got.dedup();
            assert_eq!(got, want, "{rel}");
            for rule in &pack.detect.entry {
                assert_eq!(
                    rule.files.matches(rel),
                    want.contains(&rule.files.id),
                    "{rel}"
                );
            }
        }
    }

    #[test]
    fn bad_packs_are_rejected_with_the_pack_name() {
        let cases = [
            ("x", "name = \"y\"\n[detect]\n", "differs"),
            ("x", "name = \"x\"\n[detect]\nbogus = 1\n", "bogus"),
            (
                "x",
                "name = \"x\"\n[detect]\n[[detect.port]]\nfiles = \"*.py\"\nregex = \"(\"\nsource = \"code\"\n",
                "regex",
            ),
            (
                "x",
                "name = \"x\"\n[detect]\n[[detect.port]]\nfiles = \"*.py\"\nregex = \"port\"\nsource = \"code\"\n",
                "capture",
            ),
        ];
        for (dir, text, want) in cases {
            let err = parse(dir, text)
                .and_then(|p| check(&p))
                .expect_err(text)
                .to_string();
            assert!(err.contains(want) && err.contains("pack"), "{err}");
        }
    }
}
