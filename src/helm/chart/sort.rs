//! Helm's `releaseutil.SortManifests`: rendered files split into YAML
//! documents, hooks (`helm.sh/hook`) told apart from ordinary manifests,
//! both stably sorted by Helm's install order of kinds.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::ChartError;
use crate::helm::rendered::{Hook, HookDeletePolicy, HookEvent, Manifest};

/// Helm's `InstallOrder`; unknown kinds go last, alphabetically.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Helm's `SplitManifests`: documents separated by `---` lines, trimmed.
pub fn split_documents(text: &str) -> Vec<String> {
    // Helm's separator regex: `(?:^|\s*\n)---\s*`.
    static SEP: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = SEP.get_or_init(|| regex::Regex::new(r"(?:^|\s*\n)---\s*").expect("a valid regex"));
    re.split(text.trim())
        .filter(|d| !d.is_empty())
        .map(|d| d.trim().to_owned())
        .collect()
}

/// Sorts rendered files (NOTES.txt already removed) into manifests and hooks.
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Manifest>, Vec<Hook>), ChartError> {
    let mut generic = Vec::new();
    let mut hooks = Vec::new();
    for (path, content) in files {
        if path.rsplit('/').next().is_some_and(|b| b.starts_with('_')) || content.trim().is_empty()
        {
            continue;
        }
        for doc in split_documents(content) {
            let object = super::values::parse_manifest(&doc)
                .map_err(|e| ChartError::Manifest(format!("YAML parse error on {path}: {e}")))?;
            let manifest = Manifest {
                source: path.clone(),
                text: doc,
                object,
            };
            let annotations = manifest.object.pointer("/metadata/annotations");
            let Some(hook_words) = annotations
                .and_then(|a| a.get("helm.sh/hook"))
                .and_then(Json::as_str)
            else {
                generic.push(manifest);
                continue;
            };
            let mut events = Vec::new();
            for word in hook_words.split(',') {
                let word = word.trim().to_lowercase();
                let event = HookEvent::parse(&word).ok_or_else(|| {
                    ChartError::Manifest(format!(
                        "{path}: unknown hook {word:?} in helm.sh/hook (known: pre-install, post-install, pre-upgrade, post-upgrade, pre-delete, post-delete, pre-rollback, post-rollback, test)"
                    ))
                })?;
                events.push(event);
            }
            let weight = annotations
                .and_then(|a| a.get("helm.sh/hook-weight"))
                .and_then(Json::as_str)
                .and_then(|w| w.trim().parse::<i32>().ok())
                .unwrap_or(0);
            let mut delete_policies = Vec::new();
            if let Some(p) = annotations
                .and_then(|a| a.get("helm.sh/hook-delete-policy"))
                .and_then(Json::as_str)
            {
                for word in p.split(',') {
                    let word = word.trim();
                    let policy = HookDeletePolicy::parse(word).ok_or_else(|| {
                        ChartError::Manifest(format!(
                            "{path}: unknown hook delete policy {word:?} in helm.sh/hook-delete-policy"
                        ))
                    })?;
                    delete_policies.push(policy);
                }
            }
            hooks.push(Hook {
                manifest,
                events,
                weight,
                delete_policies,
            });
        }
    }
    sort_by_kind(&mut generic, |m| m.kind().to_owned());
    sort_by_kind(&mut hooks, |h| h.manifest.kind().to_owned());
    Ok((generic, hooks))
}

fn sort_by_kind<T>(items: &mut [T], kind: impl Fn(&T) -> String) {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|o| *o == k);
    items.sort_by(|a, b| {
        let (ka, kb) = (kind(a), kind(b));
        match (rank(&ka), rank(&kb)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => ka.cmp(&kb),
        }
    });
}
