//! The guard against deploying to the wrong cluster or namespace (Tilt's
//! approach): devloop deploys only to contexts that look local by name, or
//! that the user allowed by name; and never into `kube-system`,
//! `kube-public` or `default` unless the user named that namespace with `-n`.
//!
//! A loopback server address is deliberately not enough to allow a context:
//! tunnels and proxies put production clusters on 127.0.0.1.

use crate::config::{Source, Sourced};

/// Context names that local clusters create: kind, k3d, minikube, Docker
/// Desktop, Rancher Desktop, `OrbStack`, colima, microk8s, and devloop's own
/// test simulator.
const LOCAL_PREFIXES: &[&str] = &["kind-", "k3d-"];
const LOCAL_NAMES: &[&str] = &[
    "minikube",
    "docker-desktop",
    "docker-for-desktop",
    "rancher-desktop",
    "orbstack",
    "colima",
    "microk8s",
    "devloop-sim",
];

/// Namespaces a dev loop must not write to by accident.
const PROTECTED_NAMESPACES: &[&str] = &["kube-system", "kube-public", "default"];

/// Why the guard refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("context `{0}` is not known to be a local cluster; devloop will not deploy to it")]
    Context(String),
    #[error("no kube context is selected")]
    NoContext,
    #[error(
        "namespace `{0}` is reserved for the cluster; devloop will not deploy into it unless you name it with -n"
    )]
    Namespace(String),
}

impl GuardError {
    pub fn hint(&self) -> String {
        match self {
            GuardError::Context(name) => format!(
                "if `{name}` is a development cluster, add it to `allowed_contexts` in devloop.toml or pass --allow-context {name}"
            ),
            GuardError::NoContext => {
                "pass --context NAME or set current-context in your kubeconfig".to_owned()
            }
            GuardError::Namespace(ns) => {
                format!("pass -n {ns} if you really mean it, or set another `namespace`")
            }
        }
    }
}

/// Whether a context name is one that local clusters use.
pub fn looks_local(context: &str) -> bool {
    LOCAL_PREFIXES.iter().any(|p| context.starts_with(p)) || LOCAL_NAMES.contains(&context)
}

/// Allows `context` when it looks local or is allowed by name
/// (`allowed_contexts` in devloop.toml, or `--allow-context`).
pub fn check_context(
    context: Option<&str>,
    allowed: &[String],
    allowed_by_flag: &[String],
) -> Result<(), GuardError> {
    let context = context.ok_or(GuardError::NoContext)?;
    let allowed_by_name = allowed.iter().chain(allowed_by_flag).any(|a| a == context);
    if looks_local(context) || allowed_by_name {
        Ok(())
    } else {
        Err(GuardError::Context(context.to_owned()))
    }
}

/// Refuses the cluster's own namespaces unless they came from `-n`.
pub fn check_namespace(namespace: &Sourced<String>) -> Result<(), GuardError> {
    let named_by_flag = namespace.source == Source::Flag("--namespace");
    if PROTECTED_NAMESPACES.contains(&namespace.value.as_str()) && !named_by_flag {
        return Err(GuardError::Namespace(namespace.value.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_by_table() {
        let allowed = vec!["team-dev".to_owned()];
        let flag = vec!["gke_proj_zone_staging".to_owned()];
        let cases = [
            (Some("kind-dev"), true),
            (Some("k3d-mycluster"), true),
            (Some("minikube"), true),
            (Some("docker-desktop"), true),
            (Some("rancher-desktop"), true),
            (Some("orbstack"), true),
            (Some("colima"), true),
            (Some("microk8s"), true),
            (Some("devloop-sim"), true),
            (Some("team-dev"), true),
            (Some("gke_proj_zone_staging"), true),
            // Named like a cloud cluster: refused even if its server is 127.0.0.1.
            (Some("arn:aws:eks:eu-west-1:123:cluster/prod"), false),
            (Some("gke_proj_zone_prod"), false),
            (Some("kind"), false),
            (Some("minikube-prod"), false),
            (Some("my-kind-cluster"), false),
            (None, false),
        ];
        for (context, ok) in cases {
            assert_eq!(
                check_context(context, &allowed, &flag).is_ok(),
                ok,
                "{context:?}"
            );
        }
    }

    #[test]
    fn protected_namespaces_need_the_flag() {
        let from = |value: &str, source: Source| Sourced {
            value: value.to_owned(),
            source,
        };
        let file = Source::File {
            path: "devloop.toml".into(),
            line: 1,
            column: 1,
        };
        assert!(check_namespace(&from("web-dev", Source::Default("<app>-dev"))).is_ok());
        assert!(check_namespace(&from("default", file.clone())).is_err());
        assert!(check_namespace(&from("kube-system", Source::Env("DEVLOOP_NAMESPACE"))).is_err());
        assert!(check_namespace(&from("kube-public", file)).is_err());
        assert!(check_namespace(&from("default", Source::Flag("--namespace"))).is_ok());
    }
}
