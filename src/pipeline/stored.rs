//! A stored revision back into what deploy applies: its manifest split at
//! Helm's `---` / `# Source:` lines, its hooks with their events and
//! policies. This is how `rollback` re-applies exactly what was applied.

use crate::helm::chart::values::parse_manifest;
use crate::helm::rendered::{Hook, HookDeletePolicy, HookEvent, Manifest, Rendered};
use crate::release::Release;

/// The revision as a render (manifests in stored order, hooks, notes).
pub fn rendered(record: &Release) -> Result<Rendered, String> {
    let mut manifests = Vec::new();
    for doc in record.manifest.split("\n---") {
        let doc = doc
            .strip_prefix("---")
            .unwrap_or(doc)
            .trim_start_matches('\n');
        let (source, text) = match doc.strip_prefix("# Source: ") {
            Some(rest) => rest.split_once('\n').unwrap_or((rest, "")),
            None => ("", doc),
        };
        let text = text.trim_end_matches('\n');
        let object = parse_manifest(text).map_err(|e| format!("{source}: {e}"))?;
        if !object.is_object() {
            continue;
        }
        manifests.push(Manifest {
            source: source.to_owned(),
            text: text.to_owned(),
            object,
        });
    }
    let mut hooks = Vec::new();
    for hook in &record.hooks {
        let object = parse_manifest(&hook.manifest).map_err(|e| format!("{}: {e}", hook.path))?;
        hooks.push(Hook {
            manifest: Manifest {
                source: hook.path.clone(),
                text: hook.manifest.clone(),
                object,
            },
            events: hook
                .events
                .iter()
                .filter_map(|e| HookEvent::parse(e))
                .collect(),
            weight: hook.weight,
            delete_policies: hook
                .delete_policies
                .iter()
                .filter_map(|p| HookDeletePolicy::parse(p))
                .collect(),
        });
    }
    Ok(Rendered {
        manifests,
        hooks,
        notes: record.info.as_ref().map(|i| i.notes.clone()),
        crds: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_manifest_reads_back_document_by_document() {
        let rendered_before = Rendered {
            manifests: vec![
                Manifest {
                    source: "web/templates/service.yaml".into(),
                    text: "apiVersion: v1\nkind: Service\nmetadata:\n  name: web".into(),
                    object: serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}),
                },
                Manifest {
                    source: "web/templates/deployment.yaml".into(),
                    text: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1".into(),
                    object: serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 1}}),
                },
            ],
            ..Rendered::default()
        };
        let record = Release {
            manifest: rendered_before.manifest_text(),
            ..Release::default()
        };
        let back = rendered(&record).expect("parses");
        assert_eq!(back.manifests, rendered_before.manifests);
        // Integers stay integers for the API server.
        assert!(back.manifests[1].object["spec"]["replicas"].is_i64());
    }
}
