//! Which cluster a command talks to: the kubeconfig files and the context,
//! resolved as kubectl does (`--kubeconfig` > `KUBECONFIG` list > ~/.kube/config;
//! `--context` > the first `current-context` among those files).
//!
//! Resolution lives here; [`client`] connects ([`Cluster`]) and [`error`]
//! says what went wrong talking to the API server.

mod client;
mod error;

pub use client::Cluster;
pub use error::{ClusterError, source_chain};

use std::path::PathBuf;

use serde::Serialize;

use crate::config::{Source, Sourced};

/// The resolved kube target, with where each part came from.
#[derive(Debug, Clone, Serialize)]
pub struct KubeTarget {
    pub kubeconfig: Sourced<Vec<PathBuf>>,
    pub context: Sourced<Option<String>>,
}

impl KubeTarget {
    pub fn resolve(
        kubeconfig_flag: Option<&PathBuf>,
        context_flag: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> KubeTarget {
        let kubeconfig = if let Some(path) = kubeconfig_flag {
            Sourced {
                value: vec![path.clone()],
                source: Source::Flag("--kubeconfig"),
            }
        } else if let Some(list) = env("KUBECONFIG").filter(|v| !v.is_empty()) {
            Sourced {
                value: std::env::split_paths(&list)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect(),
                source: Source::Env("KUBECONFIG"),
            }
        } else {
            let home = env("HOME").map(PathBuf::from).unwrap_or_default();
            Sourced {
                value: vec![home.join(".kube").join("config")],
                source: Source::Default("~/.kube/config"),
            }
        };
        let context = match context_flag {
            Some(name) => Sourced {
                value: Some(name.to_owned()),
                source: Source::Flag("--context"),
            },
            None => match current_context(&kubeconfig.value) {
                Some(name) => Sourced {
                    value: Some(name),
                    source: Source::Default("the kubeconfig's current-context"),
                },
                None => Sourced {
                    value: None,
                    source: Source::Default("none: no kubeconfig names a current-context"),
                },
            },
        };
        KubeTarget {
            kubeconfig,
            context,
        }
    }
}

/// The first `current-context` among the files, as kubectl merges them;
/// unreadable or missing files are skipped like kubectl skips them.
fn current_context(files: &[PathBuf]) -> Option<String> {
    files.iter().find_map(|path| {
        kube::config::Kubeconfig::read_from(path)
            .ok()
            .and_then(|config| config.current_context)
            .filter(|name| !name.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_current_context_of_the_merged_list_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(
            &a,
            "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
        )
        .expect("write");
        std::fs::write(&b, "apiVersion: v1\nkind: Config\ncurrent-context: kind-dev\nclusters: []\ncontexts: []\nusers: []\n").expect("write");
        let list = std::env::join_paths([&a, &dir.path().join("missing"), &b]).expect("join");
        let list = list.to_string_lossy().into_owned();
        let target =
            KubeTarget::resolve(None, None, &|k| (k == "KUBECONFIG").then(|| list.clone()));
        assert_eq!(target.kubeconfig.value.len(), 3);
        assert_eq!(target.context.value.as_deref(), Some("kind-dev"));

        let target = KubeTarget::resolve(Some(&a), Some("other"), &|_| None);
        assert_eq!(target.kubeconfig.source, Source::Flag("--kubeconfig"));
        assert_eq!(target.context.value.as_deref(), Some("other"));
        assert_eq!(target.context.source, Source::Flag("--context"));
    }
}
