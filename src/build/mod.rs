//! The build stage: turn an app directory into an image the cluster can run.
//!
//! `context` makes the deterministic tar and its digest, `dockerignore` decides
//! what goes in, `docker` talks to the Docker Engine (connect, build, push,
//! load), `registry` resolves credentials and decides push, load or neither.
//! This module holds the domain types that cross into deploy and `up`:
//! [`BuildRequest`] in, [`BuildResult`] out, through the [`Builder`] trait.
//! bollard types never leave `docker.rs`.

pub mod context;
pub mod docker;
pub mod dockerignore;
mod error;
pub mod fake;
pub mod registry;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

pub use error::BuildError;
pub use registry::{ClusterKind, Delivery, DeliveryInputs, HostingRegistry, delivery};

use crate::output::Printer;

/// Bumped when the tag recipe changes, so old tags are never reused wrongly.
const TAG_RECIPE: &str = "devloop-build-v1";

/// Hex characters of the content digest kept in the tag: 80 bits, far beyond
/// the few hundred builds a developer keeps, and short enough to read.
const TAG_HEX_LEN: usize = 20;

/// Label on every image devloop builds, valued [`owner`]: old images are
/// found by it and removed. One label, because the classic builder adds a
/// step (an image commit, ~70 ms) per label.
pub const OWNER_LABEL: &str = "dev.devloop.owner";

/// The [`OWNER_LABEL`] value of an app's images: `<project>/<app>`, where the
/// project is a digest of the context's absolute path (the path itself would
/// put home directories in labels). Two projects with an app of the same name
/// never remove each other's images.
pub fn owner(app: &str, context: &std::path::Path) -> String {
    let path = std::fs::canonicalize(context).unwrap_or_else(|_| context.to_owned());
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    format!("{}/{app}", &context::hex(&digest)[..12])
}

/// Everything one build needs.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The app name (labels, GC).
    pub app: String,
    /// The context directory.
    pub context: PathBuf,
    /// The Dockerfile, relative to the context.
    pub dockerfile: String,
    /// The image repository without registry or tag, e.g. `web`.
    pub image: String,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    /// Where the image must end up.
    pub delivery: Delivery,
    /// How many devloop images of this app to keep locally (older ones are removed).
    pub keep_images: usize,
    /// Leave removing old images to the caller ([`docker::DockerBuilder::prune_images`]),
    /// which runs it beside the deploy: removing layers takes the engine
    /// most of a second, time a save would otherwise wait for.
    pub defer_prune: bool,
}

/// How the manifests should pull the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PullPolicy {
    /// Whatever the chart says (the reference is a registry digest).
    Chart,
    /// `IfNotPresent`: the image exists only on the node or the shared daemon.
    IfNotPresent,
}

/// Time spent in each stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    #[serde(serialize_with = "secs")]
    pub context: Duration,
    #[serde(serialize_with = "secs")]
    pub build: Duration,
    #[serde(serialize_with = "secs")]
    pub deliver: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// What a build produced, for the deploy step.
#[derive(Debug, Clone, Serialize)]
pub struct BuildResult {
    /// The reference the manifests get: `repo@sha256:...` when pushed,
    /// `repo:<content tag>` when loaded or on a shared daemon.
    pub reference: String,
    pub pull_policy: PullPolicy,
    /// Which path the image took.
    pub delivery: Delivery,
    /// The local name, `repo:<content tag>`.
    pub local: String,
    /// The content tag.
    pub tag: String,
    /// False when an image for this content already existed.
    pub built: bool,
    /// False when nothing had to be pushed or loaded.
    pub delivered: bool,
    pub context_bytes: u64,
    pub timings: Timings,
}

/// The build stage: one real implementation ([`docker::DockerBuilder`]) and a
/// fake beside it ([`fake::FakeBuilder`]).
pub trait Builder {
    fn build(
        &self,
        request: &BuildRequest,
        printer: &Printer,
    ) -> impl Future<Output = Result<BuildResult, BuildError>> + Send;
}

/// The content tag: a digest of the context, the Dockerfile's path, the build
/// args and the target (the Dockerfile's content is in the context).
pub fn content_tag(
    context_digest: &str,
    dockerfile: &str,
    build_args: &BTreeMap<String, String>,
    target: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    let mut field = |key: &str, value: &str| {
        // Length-prefixed, so no two different inputs share a byte string.
        for part in [key, value] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    };
    field("recipe", TAG_RECIPE);
    field("context", context_digest);
    field("dockerfile", dockerfile);
    for (key, value) in build_args {
        field("arg", &format!("{key}={value}"));
    }
    field("target", target.unwrap_or(""));
    let hex = context::hex(&hasher.finalize());
    hex[..TAG_HEX_LEN].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_name_the_project_directory_and_the_app() {
        let one = tempfile::tempdir().expect("tempdir");
        let two = tempfile::tempdir().expect("tempdir");
        let id = owner("web", one.path());
        let (project, app) = id.split_once('/').expect("project/app");
        assert_eq!(app, "web");
        assert_eq!(project.len(), 12);
        assert!(project.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        let again = owner("web", &one.path().join("."));
        assert_eq!(id, again, "one directory, one owner");
        assert_ne!(id, owner("web", two.path()));
        assert_ne!(id, owner("api", one.path()));
    }

    #[test]
    fn content_tag_changes_with_every_input() {
        let none = BTreeMap::new();
        let args = BTreeMap::from([("A".to_owned(), "1".to_owned())]);
        let base = content_tag("d", "Dockerfile", &none, None);
        assert_eq!(base.len(), TAG_HEX_LEN);
        assert_eq!(base, content_tag("d", "Dockerfile", &none, None));
        let others = [
            content_tag("e", "Dockerfile", &none, None),
            content_tag("d", "Dockerfile.dev", &none, None),
            content_tag("d", "Dockerfile", &args, None),
            content_tag("d", "Dockerfile", &none, Some("dev")),
            content_tag("d", "Dockerfile", &none, Some("")),
        ];
        assert!(others[..4].iter().all(|t| *t != base), "{others:?}");
        assert_eq!(others[4], base, "an empty target is no target");
    }
}
