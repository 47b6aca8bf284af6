//! Where a built image goes, and the credentials to push it.
//!
//! The decision (push, load into kind/k3d nodes, nothing for a shared daemon)
//! is a pure function of the kube context's name, the configured registry, the
//! registry a `kube-public/local-registry-hosting` `ConfigMap` names (`KEP-1755`;
//! looked up by the caller) and `--push`/`--no-push`, after Skaffold's rules.
//! Credentials come from Docker's config as the docker CLI finds them
//! (`auths`, `credHelpers`, `credsStore`, `$DOCKER_CONFIG`); secrets never
//! appear in `Debug`, errors or output.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::BuildError;

/// The kind of cluster a kube context points at, from its name as the tools
/// that create them name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterKind {
    /// `kind-<name>`: nodes are containers labelled `io.x-k8s.kind.cluster=<name>`.
    Kind(String),
    /// `k3d-<name>`: nodes are containers labelled `k3d.cluster=<name>`.
    K3d(String),
    /// minikube, docker-desktop, rancher-desktop: the cluster runs on the
    /// daemon devloop builds with.
    SharedDaemon,
    /// Anything else: a cluster that pulls from a registry.
    Remote,
}

impl ClusterKind {
    pub fn from_context(context: &str) -> ClusterKind {
        if let Some(name) = context.strip_prefix("kind-") {
            ClusterKind::Kind(name.to_owned())
        } else if let Some(name) = context.strip_prefix("k3d-") {
            ClusterKind::K3d(name.to_owned())
        } else if matches!(
            context,
            "minikube" | "docker-desktop" | "docker-for-desktop" | "rancher-desktop"
        ) {
            ClusterKind::SharedDaemon
        } else {
            ClusterKind::Remote
        }
    }
}

/// Which kind of node containers to load into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRuntime {
    Kind,
    K3d,
}

impl NodeRuntime {
    /// The label that marks the node containers of a cluster.
    pub fn label(self) -> &'static str {
        match self {
            NodeRuntime::Kind => "io.x-k8s.kind.cluster",
            NodeRuntime::K3d => "k3d.cluster",
        }
    }
}

/// Where the image goes after the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Delivery {
    /// Push to this registry (`host[:port][/path]`); the manifests get a repo
    /// digest, under `pull_from` when the cluster reaches the registry by
    /// another name (KEP-1755 `hostFromContainerRuntime`).
    Push {
        registry: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pull_from: Option<String>,
    },
    /// Import into the containerd of each node container of the cluster.
    Load {
        runtime: NodeRuntime,
        cluster: String,
    },
    /// The cluster runs on the build daemon: nothing to do.
    SharedDaemon,
    /// No cluster: the image stays in the local daemon.
    Local,
}

impl Delivery {
    /// A push to `registry`, pulled by the same name.
    pub fn push(registry: &str) -> Delivery {
        Delivery::Push {
            registry: registry.to_owned(),
            pull_from: None,
        }
    }
}

/// The registry a cluster advertises in its `kube-public/local-registry-hosting`
/// `ConfigMap` (KEP-1755), as `localRegistryHosting.v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostingRegistry {
    /// Where devloop (on the host) pushes.
    pub host: String,
    /// Where the nodes' container runtime pulls from, when it differs.
    pub from_container_runtime: Option<String>,
}

impl HostingRegistry {
    /// Parses the `localRegistryHosting.v1` value: a YAML map of strings
    /// (`host`, `hostFromContainerRuntime`, `hostFromClusterNetwork`, `help`).
    /// `None` when it names no `host`.
    pub fn parse(value: &str) -> Option<HostingRegistry> {
        let field = |key: &str| {
            value.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                if line.starts_with([' ', '\t']) || k.trim() != key {
                    return None;
                }
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(v);
                (!v.is_empty()).then(|| v.to_owned())
            })
        };
        Some(HostingRegistry {
            host: field("host")?,
            from_container_runtime: field("hostFromContainerRuntime"),
        })
    }
}

/// What the delivery decision looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveryInputs<'a> {
    /// The kube context's name, if any.
    pub kube_context: Option<&'a str>,
    /// The registry from `--registry`, `DEVLOOP_REGISTRY` or devloop.toml.
    pub registry: Option<&'a str>,
    /// The registry the cluster's `local-registry-hosting` `ConfigMap` names.
    pub hosting_registry: Option<&'a HostingRegistry>,
    /// `--push` (true) or `--no-push` (false).
    pub push: Option<bool>,
}

/// Push, load or nothing (see the table in the tests).
pub fn delivery(inputs: DeliveryInputs<'_>) -> Result<Delivery, BuildError> {
    let hosting = inputs.hosting_registry.map(|h| Delivery::Push {
        registry: h.host.clone(),
        pull_from: h
            .from_container_runtime
            .clone()
            .filter(|pull| *pull != h.host),
    });
    let push_to = |why: &str| match (inputs.registry, &hosting) {
        (Some(r), _) => Ok(Delivery::push(r)),
        (None, Some(hosting)) => Ok(hosting.clone()),
        (None, None) => Err(BuildError::NoRegistry {
            message: format!("{why} needs a registry to push to, and none is configured"),
        }),
    };
    if inputs.push == Some(true) {
        return push_to("--push");
    }
    let kind = inputs.kube_context.map(ClusterKind::from_context);
    let load = |runtime, cluster| match (&hosting, inputs.push) {
        // A cluster that advertises a registry pulls from it (KEP-1755).
        (Some(hosting), None) => Ok(hosting.clone()),
        _ => Ok(Delivery::Load { runtime, cluster }),
    };
    match (kind, inputs.push) {
        (Some(ClusterKind::Kind(cluster)), _) => load(NodeRuntime::Kind, cluster),
        (Some(ClusterKind::K3d(cluster)), _) => load(NodeRuntime::K3d, cluster),
        (Some(ClusterKind::SharedDaemon), _) => Ok(Delivery::SharedDaemon),
        (Some(ClusterKind::Remote), None) => push_to(&format!(
            "the cluster of context `{}`",
            inputs.kube_context.unwrap_or_default()
        )),
        (None, None) if inputs.registry.is_some() || hosting.is_some() => push_to("pushing"),
        (Some(ClusterKind::Remote) | None, _) => Ok(Delivery::Local),
    }
}

/// The host part of a registry (`host[:port]`), the key Docker's config uses.
pub fn registry_host(registry: &str) -> &str {
    registry.split('/').next().unwrap_or(registry)
}

/// Whether the engine and devloop talk plain HTTP to this registry (Docker's
/// default for loopback registries).
pub fn is_loopback(registry: &str) -> bool {
    let host = registry_host(registry);
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

/// Registry credentials. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub server: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub identity_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field(
                "identity_token",
                &self.identity_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    env("DOCKER_CONFIG").filter(|d| !d.is_empty()).map_or_else(
        || {
            env("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(".docker")
        },
        PathBuf::from,
    )
}

/// The key Docker's config uses for `registry`: Docker Hub's is its v1 URL.
fn server_key(registry: &str) -> String {
    match registry_host(registry) {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
            "https://index.docker.io/v1/".to_owned()
        }
        host => host.to_owned(),
    }
}

/// Credentials for `registry` from `<config_dir>/config.json`, or `None` when
/// it configures none. Blocking (helpers are processes): call from
/// `spawn_blocking`.
pub fn credentials(config_dir: &Path, registry: &str) -> Result<Option<Credentials>, BuildError> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let path = config_dir.join("config.json");
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(BuildError::DockerConfig {
                path,
                message: err.to_string(),
            });
        }
    };
    let server = server_key(registry);
    let found =
        docker_credential::get_credential_from_reader(std::io::BufReader::new(file), &server);
    let credential = match found {
        Ok(c) => c,
        Err(E::NoCredentialConfigured) => return Ok(None),
        Err(E::HelperFailure { helper, stderr, .. }) => {
            // stdout may hold a secret; stderr is the helper's message.
            let first = stderr.lines().next().unwrap_or("").trim().to_owned();
            return Err(BuildError::DockerConfig {
                path,
                message: format!("credential helper `{helper}` failed for {server}: {first}"),
            });
        }
        Err(other) => {
            return Err(BuildError::DockerConfig {
                path,
                message: format!("credentials for {server}: {other}"),
            });
        }
    };
    Ok(Some(match credential {
        DockerCredential::IdentityToken(token) => Credentials {
            server,
            username: None,
            password: None,
            identity_token: Some(token),
        },
        DockerCredential::UsernamePassword(user, pass) => Credentials {
            server,
            username: Some(user),
            password: Some(pass),
            identity_token: None,
        },
    }))
}

/// Removes any occurrence of the secret from a message before it is shown.
pub fn redact(message: &str, credentials: Option<&Credentials>) -> String {
    let mut out = message.to_owned();
    if let Some(c) = credentials {
        for secret in [&c.password, &c.identity_token].into_iter().flatten() {
            if !secret.is_empty() {
                out = out.replace(secret.as_str(), "<redacted>");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
