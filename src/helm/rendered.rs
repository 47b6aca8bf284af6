//! What a chart renders to, as the deploy step consumes it: ordinary
//! manifests in Helm's install order, hooks kept apart (as Helm keeps them in
//! a release), and the rendered NOTES.txt. Also what the renderer needs from
//! a live cluster (`.Capabilities`, `lookup`), so the chart model does not
//! depend on a Kubernetes client.
//!
//! This is the contract between the chart model (`helm::chart`) and deploy.

use serde_json::Value as Json;

/// One rendered YAML document that is not a hook.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Helm's `# Source:` path, e.g. `myapp/templates/deployment.yaml`.
    pub source: String,
    /// The document's text exactly as rendered (no `---`, no `# Source:`).
    pub text: String,
    /// The document parsed (a Kubernetes object: apiVersion, kind, metadata...).
    pub object: Json,
}

impl Manifest {
    pub fn kind(&self) -> &str {
        self.object.get("kind").and_then(Json::as_str).unwrap_or("")
    }

    pub fn api_version(&self) -> &str {
        self.object
            .get("apiVersion")
            .and_then(Json::as_str)
            .unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.object
            .pointer("/metadata/name")
            .and_then(Json::as_str)
            .unwrap_or("")
    }
}

/// When a hook runs (`helm.sh/hook`), Helm's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookEvent {
    PreInstall,
    PostInstall,
    PreUpgrade,
    PostUpgrade,
    PreDelete,
    PostDelete,
    PreRollback,
    PostRollback,
    Test,
}

impl HookEvent {
    /// Helm's spelling, as in the annotation and in stored releases.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
            HookEvent::Test => "test",
        }
    }

    pub fn parse(word: &str) -> Option<HookEvent> {
        Some(match word {
            "pre-install" => HookEvent::PreInstall,
            "post-install" => HookEvent::PostInstall,
            "pre-upgrade" => HookEvent::PreUpgrade,
            "post-upgrade" => HookEvent::PostUpgrade,
            "pre-delete" => HookEvent::PreDelete,
            "post-delete" => HookEvent::PostDelete,
            "pre-rollback" => HookEvent::PreRollback,
            "post-rollback" => HookEvent::PostRollback,
            // `test-success` is Helm 2's name, still accepted by Helm.
            "test" | "test-success" => HookEvent::Test,
            _ => return None,
        })
    }
}

/// `helm.sh/hook-delete-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookDeletePolicy {
    BeforeHookCreation,
    HookSucceeded,
    HookFailed,
}

impl HookDeletePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            HookDeletePolicy::BeforeHookCreation => "before-hook-creation",
            HookDeletePolicy::HookSucceeded => "hook-succeeded",
            HookDeletePolicy::HookFailed => "hook-failed",
        }
    }

    pub fn parse(word: &str) -> Option<HookDeletePolicy> {
        Some(match word {
            "before-hook-creation" => HookDeletePolicy::BeforeHookCreation,
            "hook-succeeded" => HookDeletePolicy::HookSucceeded,
            "hook-failed" => HookDeletePolicy::HookFailed,
            _ => return None,
        })
    }
}

/// A document annotated `helm.sh/hook`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    pub manifest: Manifest,
    pub events: Vec<HookEvent>,
    /// `helm.sh/hook-weight` (default 0).
    pub weight: i32,
    /// `helm.sh/hook-delete-policy`; Helm's default when absent is
    /// `before-hook-creation`.
    pub delete_policies: Vec<HookDeletePolicy>,
}

/// A rendered chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rendered {
    /// Ordinary manifests, in Helm's install order (by kind, then as Helm sorts).
    pub manifests: Vec<Manifest>,
    /// Hook documents, in the order Helm lists them.
    pub hooks: Vec<Hook>,
    /// The rendered top-level NOTES.txt, if the chart has one.
    pub notes: Option<String>,
    /// The chart's `crds/` files (not templated), for deploy to create first.
    pub crds: Vec<Manifest>,
}

impl Rendered {
    /// The release manifest as Helm stores it and `helm get manifest` prints
    /// it: each document as `---\n# Source: <path>\n<text>\n`.
    pub fn manifest_text(&self) -> String {
        let mut out = String::new();
        for m in &self.manifests {
            out.push_str("---\n# Source: ");
            out.push_str(&m.source);
            out.push('\n');
            out.push_str(&m.text);
            out.push('\n');
        }
        out
    }
}

/// `.Capabilities` as a render sees them: Helm's defaults offline, the
/// server's version and API groups from discovery when deploying.
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    /// e.g. `v1.33.0`.
    pub kube_version: String,
    /// `group/version` and `group/version/Kind` entries, as Helm's
    /// `APIVersions.Has` accepts either.
    pub api_versions: Vec<String>,
}

/// `lookup` against a live cluster. Rendering is synchronous; a connected
/// implementation blocks on its runtime (render runs in `spawn_blocking`).
pub trait Lookup: Send + Sync {
    /// Helm's semantics: `name` empty lists (`{"items": [...]}` as a List
    /// object); `namespace` empty is cluster-wide; a missing object is an
    /// empty map (`Json::Object` with no keys), not an error.
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Json, String>;
}

/// Helm 4.2's offline defaults (`common.DefaultCapabilities`), as the
/// oracle (Helm SDK v4.2.3) reports them: its client-go's version and
/// every group/version in client-go's scheme.
const HELM_DEFAULT_KUBE_VERSION: &str = "v1.36.0";
const HELM_DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

impl Capabilities {
    /// What `helm template` assumes without a cluster.
    pub fn helm_default() -> Capabilities {
        Capabilities {
            kube_version: HELM_DEFAULT_KUBE_VERSION.to_owned(),
            api_versions: HELM_DEFAULT_API_VERSIONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }

    /// `--kube-version`: Helm's `ParseKubeVersion` (`1.30`, `v1.30.2`, `1.29.3-gke.1`);
    /// `None` when it is not a version.
    pub fn with_kube_version(mut self, version: &str) -> Option<Capabilities> {
        let bare = version.trim().trim_start_matches('v');
        let core = bare.split(['-', '+']).next().unwrap_or_default();
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() < 2
            || parts.len() > 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        // Kept whole: `.Version` shows it; `String` shows `v1.29.3` only.
        self.kube_version = format!("v{bare}");
        Some(self)
    }

    /// `--api-versions`: added to the set.
    #[must_use]
    pub fn with_api_versions(mut self, extra: &[String]) -> Capabilities {
        self.api_versions.extend(extra.iter().cloned());
        self
    }
}
