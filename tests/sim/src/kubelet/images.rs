//! Image pulls per `imagePullPolicy`, with `imagePullSecrets` passed to the
//! registry, and the node's own record of what it pulled: an image that only
//! exists in the local engine (built, never pushed) is not there for a pod.

use std::time::Instant;

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt as _;
use serde_json::Value;

use super::Kubelet;
use crate::objects::meta_str;

/// `(name, tag-or-digest)` of an image reference, and whether the tag is
/// `latest` (or missing).
fn split(image: &str) -> (String, String, bool) {
    if let Some((name, digest)) = image.split_once('@') {
        return (name.to_owned(), digest.to_owned(), false);
    }
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => {
            let tag = &image[slash + i + 1..];
            (
                image[..slash + i].to_owned(),
                tag.to_owned(),
                tag == "latest",
            )
        }
        None => (image.to_owned(), "latest".to_owned(), true),
    }
}

/// The registry host of an image reference (Docker Hub's auth key for
/// images without one).
fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_owned(),
        _ => "https://index.docker.io/v1/".to_owned(),
    }
}

/// The effective pull policy: `Always` for `latest` or no tag, else `IfNotPresent`.
pub fn policy(container: &Value) -> String {
    if let Some(p) = container["imagePullPolicy"].as_str() {
        return p.to_owned();
    }
    let image = container["image"].as_str().unwrap_or("");
    if split(image).2 {
        "Always".into()
    } else {
        "IfNotPresent".into()
    }
}

/// Why a pull failed: `(reason, message)` as the container's waiting state shows it.
pub struct PullError {
    pub reason: &'static str,
    pub message: String,
}

/// Makes `image` present on the node for `pod` (events included);
/// returns the image ID the container status shows.
pub async fn ensure(k: &Kubelet, pod: &Value, container: &Value) -> Result<String, PullError> {
    let image = container["image"].as_str().unwrap_or("").to_owned();
    let name = container["name"].as_str().unwrap_or("");
    let field = format!("spec.containers{{{name}}}");
    let policy = policy(container);
    let present = k.pulled.lock().is_ok_and(|p| p.contains(&image));
    let event = |kind: &str, reason: &str, message: &str| {
        crate::controllers::events::record_field(
            &k.shared,
            pod,
            Some(&field),
            "kubelet",
            kind,
            reason,
            message,
        );
    };
    if present && policy != "Always" {
        event(
            "Normal",
            "Pulled",
            &format!("Container image \"{image}\" already present on machine"),
        );
        return Ok(image_id(k, &image).await);
    }
    if policy == "Never" {
        let message =
            format!("Container image \"{image}\" is not present with pull policy of Never");
        event("Warning", "ErrImageNeverPull", &message);
        return Err(PullError {
            reason: "ErrImageNeverPull",
            message,
        });
    }
    event("Normal", "Pulling", &format!("Pulling image \"{image}\""));
    let started = Instant::now();
    let (repo, tag, _) = split(&image);
    let credentials = credentials(k, pod, &image);
    let options = CreateImageOptions {
        from_image: Some(repo),
        tag: Some(tag),
        ..Default::default()
    };
    let mut stream = k.docker.create_image(Some(options), None, credentials);
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(e) = info.error_detail.and_then(|d| d.message) {
                    failure = Some(e);
                }
            }
            Err(e) => {
                failure = Some(match e {
                    bollard::errors::Error::DockerResponseServerError { message, .. } => message,
                    other => other.to_string(),
                });
                break;
            }
        }
    }
    if let Some(why) = failure {
        let message = format!("Failed to pull image \"{image}\": {why}");
        event("Warning", "Failed", &message);
        event("Warning", "Failed", "Error: ErrImagePull");
        return Err(PullError {
            reason: "ErrImagePull",
            message,
        });
    }
    if let Ok(mut p) = k.pulled.lock() {
        p.insert(image.clone());
    }
    let secs = started.elapsed().as_secs_f64();
    let id = image_id(k, &image).await;
    let size = k
        .docker
        .inspect_image(&image)
        .await
        .ok()
        .and_then(|i| i.size)
        .unwrap_or(0);
    event(
        "Normal",
        "Pulled",
        &format!(
            "Successfully pulled image \"{image}\" in {secs:.3}s ({secs:.3}s including waiting). Image size: {size} bytes."
        ),
    );
    Ok(id)
}

/// The pulled image's digest reference (or its ID).
async fn image_id(k: &Kubelet, image: &str) -> String {
    let Ok(info) = k.docker.inspect_image(image).await else {
        return String::new();
    };
    let (repo, _, _) = split(image);
    info.repo_digests
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.starts_with(&format!("{repo}@")))
        .or(info.id)
        .unwrap_or_default()
}

/// Credentials for `image`'s registry from the pod's `imagePullSecrets`
/// (`kubernetes.io/dockerconfigjson` or `.dockercfg`).
fn credentials(k: &Kubelet, pod: &Value, image: &str) -> Option<DockerCredentials> {
    let ns = meta_str(pod, "namespace").unwrap_or("default");
    let registry = registry_of(image);
    for s in pod["spec"]["imagePullSecrets"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(name) = s["name"].as_str() else {
            continue;
        };
        let key = ("/secrets".to_owned(), ns.to_owned(), name.to_owned());
        let Some(secret) = k.shared.store.get(&key) else {
            continue;
        };
        let decode = |field: &str| {
            secret["data"][field]
                .as_str()
                .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        };
        let auths = decode(".dockerconfigjson")
            .map(|c| c["auths"].clone())
            .or_else(|| decode(".dockercfg"))
            .unwrap_or(Value::Null);
        let Some(auths) = auths.as_object() else {
            continue;
        };
        for (host, entry) in auths {
            let host_only = host
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap_or("");
            if host_only != registry && host != &registry {
                continue;
            }
            let (mut user, mut pass) = (
                entry["username"].as_str().map(str::to_owned),
                entry["password"].as_str().map(str::to_owned),
            );
            if user.is_none()
                && let Some(auth) = entry["auth"].as_str()
                && let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(auth)
                && let Some((u, p)) = String::from_utf8_lossy(&raw).split_once(':')
            {
                user = Some(u.to_owned());
                pass = Some(p.to_owned());
            }
            return Some(DockerCredentials {
                username: user,
                password: pass,
                serveraddress: Some(registry),
                ..Default::default()
            });
        }
    }
    None
}
