//! Which Docker engine to talk to, found as the docker CLI finds it:
//! `DOCKER_HOST` (with `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH` for tcp), else
//! the current Docker context (`DOCKER_CONTEXT`, else `currentContext` in
//! `$DOCKER_CONFIG/config.json`, described by
//! `contexts/meta/<sha256(name)>/meta.json`), else the default socket.
//! bollard reads none of the contexts, so this module does.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::build::BuildError;
use crate::build::context::hex;

pub const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// Client certificate files for a TLS endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// An engine address and where it came from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    /// `DOCKER_HOST`, `Docker context "x"`, or the default.
    pub origin: String,
    pub tls: Option<Tls>,
}

/// Resolves the engine endpoint from the environment and Docker's config dir.
pub fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    config_dir: &Path,
) -> Result<Endpoint, BuildError> {
    let set = |key: &str| env(key).filter(|v| !v.is_empty());
    if let Some(host) = set("DOCKER_HOST") {
        let tls = if host.starts_with("tcp://") && set("DOCKER_TLS_VERIFY").is_some() {
            let dir = set("DOCKER_CERT_PATH").map_or_else(|| config_dir.to_owned(), PathBuf::from);
            Some(Tls {
                ca: dir.join("ca.pem"),
                cert: dir.join("cert.pem"),
                key: dir.join("key.pem"),
            })
        } else {
            None
        };
        return Ok(Endpoint {
            host,
            origin: "DOCKER_HOST".to_owned(),
            tls,
        });
    }
    let (name, from) = match set("DOCKER_CONTEXT") {
        Some(name) => (Some(name), "DOCKER_CONTEXT"),
        None => (current_context(config_dir)?, "config.json currentContext"),
    };
    match name {
        Some(name) if name != "default" => context_endpoint(config_dir, &name, from),
        _ => Ok(Endpoint {
            host: DEFAULT_SOCKET.to_owned(),
            origin: "the default socket (no DOCKER_HOST, no Docker context)".to_owned(),
            tls: None,
        }),
    }
}

fn current_context(config_dir: &Path) -> Result<Option<String>, BuildError> {
    let path = config_dir.join("config.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| BuildError::DockerConfig {
            path: path.clone(),
            message: e.to_string(),
        })?;
    Ok(value
        .get("currentContext")
        .and_then(|c| c.as_str())
        .filter(|c| !c.is_empty())
        .map(str::to_owned))
}

fn context_endpoint(config_dir: &Path, name: &str, from: &str) -> Result<Endpoint, BuildError> {
    let id = hex(&Sha256::digest(name.as_bytes()));
    let meta = config_dir.join("contexts/meta").join(&id).join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|e| BuildError::DockerConfig {
        path: meta.clone(),
        message: format!("Docker context `{name}` (from {from}) cannot be read: {e}"),
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| BuildError::DockerConfig {
            path: meta.clone(),
            message: e.to_string(),
        })?;
    let docker = &value["Endpoints"]["docker"];
    let host = docker["Host"]
        .as_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| BuildError::DockerConfig {
            path: meta.clone(),
            message: format!("Docker context `{name}` has no docker endpoint Host"),
        })?
        .to_owned();
    let tls_dir = config_dir.join("contexts/tls").join(&id).join("docker");
    let tls = tls_dir.join("cert.pem").is_file().then(|| Tls {
        ca: tls_dir.join("ca.pem"),
        cert: tls_dir.join("cert.pem"),
        key: tls_dir.join("key.pem"),
    });
    Ok(Endpoint {
        host,
        origin: format!("Docker context \"{name}\" (from {from})"),
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_then_context_then_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path();
        let env_of = crate::context::test_env;
        let none = resolve(&env_of(&[]), cfg).expect("default");
        assert_eq!(none.host, DEFAULT_SOCKET);

        let tcp = resolve(
            &env_of(&[
                ("DOCKER_HOST", "tcp://10.0.0.1:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs"),
            ]),
            cfg,
        )
        .expect("tcp");
        assert_eq!(tcp.origin, "DOCKER_HOST");
        assert_eq!(
            tcp.tls.map(|t| t.key),
            Some(PathBuf::from("/certs/key.pem"))
        );

        // A context named in config.json, with its meta.json and TLS files.
        let id = hex(&Sha256::digest(b"remote"));
        let meta = cfg.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).expect("mkdir");
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://build:2376","SkipTLSVerify":false}}}"#,
        )
        .expect("write");
        let tls = cfg.join("contexts/tls").join(&id).join("docker");
        std::fs::create_dir_all(&tls).expect("mkdir");
        std::fs::write(tls.join("cert.pem"), "").expect("write");
        std::fs::write(cfg.join("config.json"), r#"{"currentContext":"remote"}"#).expect("write");
        let ctx = resolve(&env_of(&[]), cfg).expect("context");
        assert_eq!(ctx.host, "tcp://build:2376");
        assert!(ctx.origin.contains("\"remote\""), "{}", ctx.origin);
        assert_eq!(ctx.tls.map(|t| t.ca), Some(tls.join("ca.pem")));

        // DOCKER_HOST wins; DOCKER_CONTEXT=default means the default socket.
        let host = resolve(&env_of(&[("DOCKER_HOST", "unix:///x.sock")]), cfg).expect("host");
        assert_eq!(host.host, "unix:///x.sock");
        let default = resolve(&env_of(&[("DOCKER_CONTEXT", "default")]), cfg).expect("default");
        assert_eq!(default.host, DEFAULT_SOCKET);
        let missing = resolve(&env_of(&[("DOCKER_CONTEXT", "nope")]), cfg);
        assert!(
            matches!(missing, Err(BuildError::DockerConfig { .. })),
            "{missing:?}"
        );
    }
}
