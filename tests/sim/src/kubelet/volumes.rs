//! Volumes as host directories bind-mounted into the containers: emptyDir,
//! configMap and secret (files written by the kubelet, read-only mounts).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use super::Kubelet;
use crate::objects::meta_str;

/// Prepares the pod's volumes under `dir`; returns `name -> (host path, read-only)`,
/// or the message of a missing configMap/secret.
pub fn prepare(
    k: &Kubelet,
    pod: &Value,
    dir: &Path,
) -> Result<Vec<(String, PathBuf, bool)>, String> {
    let ns = meta_str(pod, "namespace").unwrap_or("default");
    let mut out = Vec::new();
    for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap_or("").to_owned();
        let path = dir.join(&name);
        if v.get("emptyDir").is_some() {
            std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
            set_mode(&path, 0o777);
            out.push((name, path, false));
            continue;
        }
        let (source, store, what, binary) =
            if let Some(cm) = v.get("configMap").filter(|c| c.is_object()) {
                (cm, "/configmaps", "configmap", false)
            } else if let Some(s) = v.get("secret").filter(|c| c.is_object()) {
                (s, "/secrets", "secret", true)
            } else {
                continue;
            };
        let obj_name = source["name"]
            .as_str()
            .or_else(|| source["secretName"].as_str())
            .unwrap_or("");
        let key = (store.to_owned(), ns.to_owned(), obj_name.to_owned());
        let Some(obj) = k.shared.store.get(&key) else {
            if source["optional"] == true {
                std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
                out.push((name, path, true));
                continue;
            }
            return Err(format!("{what} \"{obj_name}\" not found"));
        };
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
        set_mode(&path, 0o755);
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for field in ["data", "binaryData"] {
            for (key, value) in obj[field].as_object().into_iter().flatten() {
                let s = value.as_str().unwrap_or("");
                let bytes = if binary || field == "binaryData" {
                    base64::engine::general_purpose::STANDARD
                        .decode(s)
                        .unwrap_or_default()
                } else {
                    s.as_bytes().to_vec()
                };
                files.push((key.clone(), bytes));
            }
        }
        let mode = source["defaultMode"]
            .as_u64()
            .map_or(0o644, |m| u32::try_from(m).unwrap_or(0o644));
        let items = source["items"].as_array();
        for (key, bytes) in files {
            let (rel, item_mode) = match items {
                Some(items) => match items.iter().find(|i| i["key"] == key.as_str()) {
                    Some(i) => (
                        i["path"].as_str().unwrap_or(&key).to_owned(),
                        i["mode"].as_u64(),
                    ),
                    None => continue,
                },
                None => (key.clone(), None),
            };
            let file = path.join(&rel);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&file, bytes).map_err(|e| e.to_string())?;
            set_mode(
                &file,
                item_mode.map_or(mode, |m| u32::try_from(m).unwrap_or(mode)),
            );
        }
        out.push((name, path, true));
    }
    Ok(out)
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// Docker binds (`host:container[:ro]`) for one container's volumeMounts.
pub fn binds(container: &Value, volumes: &[(String, PathBuf, bool)]) -> Vec<String> {
    let mut out = Vec::new();
    for m in container["volumeMounts"].as_array().into_iter().flatten() {
        let name = m["name"].as_str().unwrap_or("");
        let Some((_, host, ro)) = volumes.iter().find(|(n, _, _)| n == name) else {
            continue;
        };
        let mut host = host.clone();
        if let Some(sub) = m["subPath"].as_str().filter(|s| !s.is_empty()) {
            host = host.join(sub);
        }
        let target = m["mountPath"].as_str().unwrap_or("/");
        let ro = *ro || m["readOnly"] == true;
        out.push(format!(
            "{}:{target}{}",
            host.display(),
            if ro { ":ro" } else { "" }
        ));
    }
    out
}
