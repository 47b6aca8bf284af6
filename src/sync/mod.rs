//! Live sync for `devloop up`: changed files go into the running containers
//! instead of a rebuild, for apps whose language runs from source.
//!
//! [`rules`] says which files go where and what runs after (devloop.toml's
//! `sync`, else the app's pack's `[[sync]]`); [`transport`] copies them
//! through exec; [`app`] tracks what each app's pods hold; [`supervise`] is
//! the tiny process supervisor behind `reload = "restart"`. Deciding *when*
//! to sync is the planner's ([`crate::session::plan`]); running it is the
//! session's ([`crate::session::stages`]).

pub mod app;
pub mod gate;
pub mod rules;
pub mod supervise;
pub mod transport;

use std::path::Path;

use rules::RuleSpec;

/// An app's sync rules and where they come from: devloop.toml's `sync`
/// when written (an empty list turns sync off), else the rules of the pack
/// detection picks for the app directory.
pub fn rules_for(written: Option<&[RuleSpec]>, app_dir: &Path) -> (Vec<RuleSpec>, String) {
    if let Some(rules) = written {
        return (rules.to_vec(), "devloop.toml".to_owned());
    }
    let Ok(packs) = crate::pack::embedded() else {
        return (Vec::new(), "none".to_owned());
    };
    let report = crate::detect::detect_with(app_dir, packs);
    let language = report
        .apps
        .iter()
        .find(|a| a.path == "." || a.path.is_empty())
        .or(report.apps.first())
        .and_then(|a| a.language.clone());
    let pack = language.and_then(|lang| {
        packs
            .iter()
            .find(|p| p.detect.languages.iter().any(|l| l.name == lang))
    });
    match pack {
        Some(pack) if !pack.sync.is_empty() => {
            (pack.sync.clone(), format!("the {} pack", pack.name))
        }
        _ => (Vec::new(), "none".to_owned()),
    }
}
