//! The debug transform of a rendered chart, a pure function: every container
//! that runs the image devloop built starts under its debugger (command and
//! env from [`super::launch`]), exposes the debug port, loses its liveness
//! probe (a paused process must not be killed) and, with `--wait-for-debugger`,
//! its readiness and startup probes (an app waiting for the debugger counts
//! as started). Workloads holding such a container run one replica (a
//! debugger attaches to one process) and carry Skaffold's
//! `debug.cloud.google.com/config` annotation. Containers of other images are
//! left alone.

use serde_json::{Value as Json, json};

use super::launch::{self, Container};
use crate::build::docker::ImageConfig;
use crate::helm::rendered::Rendered;
use crate::pack::Debug;

/// Skaffold's pod annotation, read by Cloud Code and other IDE tooling.
pub const ANNOTATION: &str = "debug.cloud.google.com/config";
/// The volume the support image's files are copied into.
const VOLUME: &str = "devloop-debug";
/// Where the debugger's files are in the app container (`packs/*/pack.toml`
/// names paths under it).
pub const MOUNT: &str = "/devloop-debug";

/// The image holding the debugger, copied into the pod by an init container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    pub image: String,
    /// `IfNotPresent` for loaded or shared-daemon images.
    pub pull_policy: Option<String>,
}

/// What to debug: containers running `image`.
pub struct Target<'a> {
    /// The app's name (Skaffold's `artifact`).
    pub app: &'a str,
    /// The image reference the manifests carry.
    pub image: &'a str,
    pub config: &'a ImageConfig,
    pub debug: &'a Debug,
    pub wait: bool,
    pub support: Option<&'a Support>,
}

/// Rewrites `rendered` for `target`; returns how many containers now run
/// under the debugger (at least one, else an error).
pub fn apply(rendered: &mut Rendered, target: &Target<'_>) -> Result<usize, String> {
    let mut changed = 0;
    for manifest in &mut rendered.manifests {
        let n = workload(&mut manifest.object, target)?;
        if n > 0 {
            // JSON is YAML: the stored release shows what was applied.
            manifest.text = serde_json::to_string_pretty(&manifest.object)
                .map_err(|e| format!("cannot write {}: {e}", manifest.source))?;
            changed += n;
        }
    }
    if changed == 0 {
        return Err(format!(
            "no container of the chart runs the image devloop built ({})",
            target.image
        ));
    }
    Ok(changed)
}

/// One workload with a pod template; returns the containers changed.
fn workload(object: &mut Json, target: &Target<'_>) -> Result<usize, String> {
    let Some(spec) = object.pointer_mut("/spec/template/spec") else {
        return Ok(0);
    };
    let mut config = serde_json::Map::new();
    if let Some(containers) = spec.get_mut("containers").and_then(Json::as_array_mut) {
        for c in containers {
            if c.get("image").and_then(Json::as_str) != Some(target.image) {
                continue;
            }
            let name = c
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_owned();
            container(c, target).map_err(|e| format!("container {name}: {e}"))?;
            let mut ports = serde_json::Map::new();
            ports.insert(port_name(target.debug), json!(target.debug.port));
            config.insert(
                name,
                json!({
                    "artifact": target.app,
                    "runtime": target.debug.annotation,
                    "workingDir": target.config.working_dir,
                    "ports": ports,
                }),
            );
        }
    }
    if config.is_empty() {
        return Ok(0);
    }
    if let Some(support) = target.support {
        add_support(spec, support);
    }
    if object.pointer("/spec/replicas").is_some()
        || matches!(
            object.get("kind").and_then(Json::as_str),
            Some("Deployment" | "StatefulSet" | "ReplicaSet")
        )
    {
        object["spec"]["replicas"] = json!(1);
    }
    let annotations = object
        .pointer_mut("/spec/template/metadata")
        .and_then(Json::as_object_mut)
        .map(|m| m.entry("annotations").or_insert_with(|| json!({})));
    let text = Json::Object(config.clone()).to_string();
    match annotations {
        Some(a) if a.is_object() => a[ANNOTATION] = json!(text),
        _ => {
            object["spec"]["template"]["metadata"] = json!({ "annotations": { ANNOTATION: text } });
        }
    }
    Ok(config.len())
}

fn port_name(debug: &Debug) -> String {
    if debug.port_name.is_empty() {
        "debug".to_owned()
    } else {
        debug.port_name.clone()
    }
}

/// Command, env, port and probes of one container.
fn container(c: &mut Json, target: &Target<'_>) -> Result<(), String> {
    let strings = |v: Option<&Json>| {
        v.and_then(Json::as_array).map(|a| {
            a.iter()
                .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_owned))
                .collect::<Vec<_>>()
        })
    };
    let env: Vec<(String, String)> = c
        .get("env")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e.get("name")?.as_str()?.to_owned(),
                e.get("value")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ))
        })
        .collect();
    let rendered = Container {
        command: strings(c.get("command")),
        args: strings(c.get("args")),
        env,
    };
    let launch = launch::launch(target.debug, &rendered, target.config, target.wait)?;
    let Some(object) = c.as_object_mut() else {
        return Err("not an object".to_owned());
    };
    if let Some(command) = launch.command {
        object.insert("command".to_owned(), json!(command));
        object.remove("args");
    }
    let env = object.entry("env").or_insert_with(|| json!([]));
    if let Some(list) = env.as_array_mut() {
        for (name, value) in launch.env {
            list.retain(|e| e.get("name").and_then(Json::as_str) != Some(name.as_str()));
            list.push(json!({ "name": name, "value": value }));
        }
    }
    let ports = object.entry("ports").or_insert_with(|| json!([]));
    if let Some(list) = ports.as_array_mut()
        && !list
            .iter()
            .any(|p| p.get("containerPort") == Some(&json!(target.debug.port)))
    {
        list.push(json!({
            "name": port_name(target.debug),
            "containerPort": target.debug.port,
            "protocol": "TCP",
        }));
    }
    object.remove("livenessProbe");
    if target.wait {
        object.remove("readinessProbe");
        object.remove("startupProbe");
    }
    if target.support.is_some() {
        let mounts = object.entry("volumeMounts").or_insert_with(|| json!([]));
        if let Some(list) = mounts.as_array_mut() {
            list.push(json!({ "name": VOLUME, "mountPath": MOUNT, "readOnly": true }));
        }
    }
    Ok(())
}

/// The emptyDir and the init container that fills it from the support image.
fn add_support(spec: &mut Json, support: &Support) {
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
    if let Some(list) = volumes.as_array_mut() {
        list.push(json!({ "name": VOLUME, "emptyDir": {} }));
    }
    let mut init = json!({
        "name": VOLUME,
        "image": support.image,
        "command": ["sh", "-c", format!("cp -R /dbg/. {MOUNT}/")],
        "volumeMounts": [{ "name": VOLUME, "mountPath": MOUNT }],
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
        },
    });
    if let Some(policy) = &support.pull_policy {
        init["imagePullPolicy"] = json!(policy);
    }
    let inits = spec.entry("initContainers").or_insert_with(|| json!([]));
    if let Some(list) = inits.as_array_mut() {
        list.push(init);
    }
}

#[cfg(test)]
mod tests;
