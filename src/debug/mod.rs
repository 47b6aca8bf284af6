//! `devloop up --debug`: the app's containers start under their debugger and
//! the debugger's port is forwarded to the pinned local port.
//!
//! What differs per language is pack data (`[debug]` in `packs/<lang>/pack.toml`
//! and an optional support image, `debug.Dockerfile`); this module is the one
//! generic mechanism: [`launch`] computes a container's debug command and env,
//! [`transform`] rewrites the rendered manifests (a pure function the deploy
//! path calls), [`attach`] forwards the debug port and knows when a debugger
//! is connected, [`hold`] pauses rebuilds while one is, [`report`] says when one attaches and detaches. The debugger reaches
//! the pod Skaffold's way: an init container copies it from a support image
//! devloop builds into an emptyDir, so the user's own image is not changed.

pub mod attach;
pub mod hold;
pub mod launch;
pub mod report;
pub mod session;
pub mod transform;

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::pack::Debug;
use crate::pack::Pack;

/// What `--debug` means for one app.
#[derive(Debug, Clone)]
pub struct AppDebug {
    /// The pack whose `[debug]` applies.
    pub pack: String,
    pub debug: Debug,
    /// The support image's Dockerfile text, when the runtime needs one.
    pub support: Option<String>,
}

/// The session's debug settings, read by the deploy path.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `--wait-for-debugger`.
    pub wait: bool,
    /// By app name.
    pub apps: HashMap<String, AppDebug>,
}

impl Settings {
    /// A word that changes the deploy's inputs digest, so switching debug on
    /// or off (or waiting) deploys again even when nothing else changed.
    pub fn fingerprint(&self, app: &str) -> Option<String> {
        let d = self.apps.get(app)?;
        Some(format!(
            "debug:{}:{}:{}",
            d.pack, d.debug.runtime, self.wait
        ))
    }
}

/// The debug data for the app in `dir`: detection names its language, the
/// language's pack its debugger.
pub fn for_app(name: &str, dir: &Path, packs: &[Pack]) -> Result<AppDebug> {
    let report = crate::detect::detect_with(dir, packs);
    let app = report
        .apps
        .iter()
        .find(|a| a.path == ".")
        .or_else(|| report.apps.first());
    let language = app.and_then(|a| a.language.clone());
    let pack = language.as_deref().and_then(|language| {
        packs
            .iter()
            .find(|p| p.detect.languages.iter().any(|l| l.name == language))
    });
    let Some(pack) = pack else {
        return Err(Error::usage(
            format!(
                "--debug: cannot tell the language of {name} ({}), so not its debugger",
                dir.display()
            ),
            Some("`devloop init --dry-run` shows what detection finds".to_owned()),
        ));
    };
    let Some(debug) = pack.scaffold.debug.clone() else {
        return Err(Error::usage(
            format!(
                "--debug: the {} pack has no debugger for {name} (python, node, go and the JVM packs have one; .NET is not supported)",
                pack.name
            ),
            None,
        ));
    };
    let support = match &debug.support {
        Some(file) => Some(
            pack.scaffold
                .file(file)
                .ok_or_else(|| {
                    Error::Internal(format!("pack {}: no {file} for [debug] support", pack.name))
                })?
                .to_owned(),
        ),
        None => None,
    };
    Ok(AppDebug {
        pack: pack.name.clone(),
        debug,
        support,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_gets_the_debugger_of_its_language_pack() {
        let packs = crate::pack::embedded().expect("packs");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("server.py"), "import http.server\n").expect("write");
        std::fs::write(dir.path().join("requirements.txt"), "").expect("write");
        let got = for_app("web", dir.path(), packs).expect("python");
        assert_eq!(
            (got.pack.as_str(), got.debug.runtime.as_str()),
            ("python", "debugpy")
        );
        assert!(got.support.expect("support").contains("debugpy=="));
        let html = tempfile::tempdir().expect("tempdir");
        std::fs::write(html.path().join("index.html"), "<p>hi</p>").expect("write");
        let err = for_app("site", html.path(), packs).expect_err("no debugger for html");
        assert!(err.to_string().contains("has no debugger"), "{err}");
    }
}
