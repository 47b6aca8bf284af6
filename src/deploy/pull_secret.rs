//! `--create-pull-secret`: a `kubernetes.io/dockerconfigjson` Secret made
//! from the user's Docker credentials for the registry, so the cluster can
//! pull from a private registry. Opt-in, because it copies a credential
//! into the cluster. The Secret is devloop's (labelled for `down`), not the
//! chart's, so prune leaves it alone.

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value as Json, json};

use super::error::DeployError;
use super::ownership::{FIELD_MANAGER, Release};
use crate::build::registry::Credentials;
use crate::cluster::Cluster;

/// Marks the pull secret of a release, for `down`.
pub const PULL_SECRET_LABEL: &str = "devloop.dev/pull-secret-for";

/// The Secret's name for `release`.
pub fn name(release: &Release) -> String {
    format!("{}-devloop-pull", release.name)
}

/// The Secret as JSON: Docker's `config.json` `auths` shape with the one
/// registry's credentials (an identity token goes where Docker puts it).
pub fn secret(release: &Release, credentials: &Credentials) -> Json {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut entry = serde_json::Map::new();
    if let (Some(user), Some(pass)) = (&credentials.username, &credentials.password) {
        entry.insert("username".into(), Json::from(user.as_str()));
        entry.insert("password".into(), Json::from(pass.as_str()));
        entry.insert(
            "auth".into(),
            Json::from(b64.encode(format!("{user}:{pass}"))),
        );
    }
    if let Some(token) = &credentials.identity_token {
        entry.insert("identitytoken".into(), Json::from(token.as_str()));
    }
    let config = json!({"auths": {credentials.server.as_str(): entry}});
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {
            "name": name(release),
            "namespace": release.namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "devloop",
                PULL_SECRET_LABEL: release.name,
            },
        },
        "data": {".dockerconfigjson": b64.encode(config.to_string())},
    })
}

/// Creates or updates the release's pull secret; returns its name.
pub async fn ensure(
    cluster: &Cluster,
    release: &Release,
    credentials: &Credentials,
) -> Result<String, DeployError> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), &release.namespace);
    let name = name(release);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(secret(release, credentials)))
        .await
        // The message names the Secret, never its content.
        .map_err(|e| cluster.error(&format!("apply Secret/{name}"), e))?;
    Ok(name)
}

/// Deletes the release's pull secret, if any.
pub async fn delete(cluster: &Cluster, release: &Release) -> Result<bool, DeployError> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), &release.namespace);
    let params = ListParams::default().labels(&format!("{PULL_SECRET_LABEL}={}", release.name));
    let list = api
        .list(&params)
        .await
        .map_err(|e| cluster.error("list pull secrets", e))?;
    let mut deleted = false;
    for item in list.items {
        if let Some(n) = item.metadata.name {
            api.delete(&n, &DeleteParams::default())
                .await
                .map_err(|e| cluster.error(&format!("delete Secret/{n}"), e))?;
            deleted = true;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_dockers_config_for_one_registry() {
        let release = Release {
            name: "web".into(),
            namespace: "web-dev".into(),
        };
        let creds = Credentials {
            server: "127.0.0.1:5001".into(),
            username: Some("devloop".into()),
            password: Some("s3cret".into()),
            identity_token: None,
        };
        let secret = secret(&release, &creds);
        assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
        assert_eq!(secret["metadata"]["name"], "web-devloop-pull");
        let data = secret["data"][".dockerconfigjson"].as_str().expect("data");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64");
        let config: Json = serde_json::from_slice(&decoded).expect("json");
        assert_eq!(
            config,
            json!({"auths": {"127.0.0.1:5001": {"username": "devloop", "password": "s3cret", "auth": "ZGV2bG9vcDpzM2NyZXQ="}}})
        );
    }
}
