//! Files into a running container: a tar stream through the API server's
//! exec into `tar xmf - -C / --no-same-owner` (`m`: extracted files get the
//! current time, which reloaders watch; `--no-same-owner`: the container's
//! user owns them), deletions by `rm` in the same exec. No agent in the
//! image: `sh` and `tar` are all it needs, and their absence is a clear
//! error the caller answers with a rebuild.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The exit code the sync script gives when the image has no `tar`.
const NO_TAR: &str = "127";

/// Removes the deleted paths, then extracts the tar from stdin at `/`.
/// Kubernetes expands `$(VAR)` only in pod specs, not in exec commands.
const SCRIPT: &str = "command -v tar >/dev/null 2>&1 || exit 127
if [ \"$#\" -gt 0 ]; then rm -rf -- \"$@\" || exit 3; fi
tar xmf - -C / --no-same-owner";

/// A container to sync into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub namespace: String,
    pub pod: String,
    pub container: String,
}

/// Why a sync did not land.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("image has no tar: sync disabled")]
    NoTar,
    #[error("cannot write the synced files in {pod}: {message}")]
    NotWritable { pod: String, message: String },
    #[error("cannot read {path}: {source}")]
    Local {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("exec in {pod} failed: {message}")]
    Exec { pod: String, message: String },
    #[error(
        "{pod} does not run devloop's supervisor, so reload = \"restart\" cannot restart the app (does the chart read the `command` and `args` values?): sync disabled"
    )]
    NoSupervisor { pod: String },
}

impl SyncError {
    /// Errors that will recur for this image: sync stays off until a rebuild.
    pub fn disables(&self) -> bool {
        matches!(
            self,
            SyncError::NoTar | SyncError::NotWritable { .. } | SyncError::NoSupervisor { .. }
        )
    }
}

/// A file to copy: where it is here and where it goes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub local: PathBuf,
    pub container: PathBuf,
}

/// The tar of `files`, entries named by their container paths (relative to
/// `/`). A file gone meanwhile is returned for removal instead.
pub fn archive(files: &[Copy]) -> Result<(Vec<u8>, Vec<PathBuf>), SyncError> {
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(true);
    let mut gone = Vec::new();
    for file in files {
        let name = file.container.strip_prefix("/").unwrap_or(&file.container);
        match tar.append_path_with_name(&file.local, name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                gone.push(file.container.clone());
            }
            Err(source) => {
                return Err(SyncError::Local {
                    path: file.local.clone(),
                    source,
                });
            }
        }
    }
    let bytes = tar.into_inner().map_err(|source| SyncError::Local {
        path: PathBuf::from("(tar)"),
        source,
    })?;
    Ok((bytes, gone))
}

/// Copies `files` into `target` and removes `removed` there.
pub async fn push(
    client: &kube::Client,
    target: &Container,
    files: &[Copy],
    removed: &[PathBuf],
) -> Result<(), SyncError> {
    let (bytes, gone) = archive(files)?;
    let mut command = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        SCRIPT.to_owned(),
        "devloop-sync".to_owned(),
    ];
    command.extend(
        removed
            .iter()
            .chain(&gone)
            .map(|p| p.to_string_lossy().into_owned()),
    );
    let (code, stderr) = exec(client, target, command, Some(bytes)).await?;
    match code.as_deref() {
        None => Ok(()),
        Some(NO_TAR) => Err(SyncError::NoTar),
        Some(_) if stderr.contains("ermission denied") || stderr.contains("Read-only") => {
            Err(SyncError::NotWritable {
                pod: target.pod.clone(),
                message: stderr.trim().to_owned(),
            })
        }
        Some(code) => Err(SyncError::Exec {
            pod: target.pod.clone(),
            message: format!("exit {code}: {}", stderr.trim()),
        }),
    }
}

/// Runs `command` in `target`; an error unless it exits 0.
pub async fn run(
    client: &kube::Client,
    target: &Container,
    command: Vec<String>,
) -> Result<(), SyncError> {
    let shown = command.join(" ");
    match exec(client, target, command, None).await? {
        (None, _) => Ok(()),
        (Some(code), stderr) => Err(SyncError::Exec {
            pod: target.pod.clone(),
            message: format!("`{shown}` exit {code}: {}", stderr.trim()),
        }),
    }
}

/// Execs `command` with `stdin`; returns the exit code when not 0, and stderr.
async fn exec(
    client: &kube::Client,
    target: &Container,
    command: Vec<String>,
    stdin: Option<Vec<u8>>,
) -> Result<(Option<String>, String), SyncError> {
    let failed = |message: String| SyncError::Exec {
        pod: target.pod.clone(),
        message,
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), &target.namespace);
    let params = AttachParams::default()
        .container(target.container.clone())
        .stdin(stdin.is_some())
        .stdout(false)
        .stderr(true);
    let mut process = pods
        .exec(&target.pod, command, &params)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = process
        .take_status()
        .ok_or_else(|| failed("no status channel".to_owned()))?;
    let mut stderr_stream = process.stderr();
    let writing = async {
        if let (Some(bytes), Some(mut writer)) = (stdin, process.stdin()) {
            // A script that exits early closes stdin; its status says why.
            let _ = writer.write_all(&bytes).await;
            let _ = writer.shutdown().await;
        }
    };
    let reading = async {
        let mut text = String::new();
        if let Some(reader) = stderr_stream.as_mut() {
            let _ = reader.read_to_string(&mut text).await;
        }
        text
    };
    let ((), stderr) = tokio::join!(writing, reading);
    let status = status.await;
    let _ = process.join().await;
    let status = status.ok_or_else(|| failed("the exec ended without a status".to_owned()))?;
    if status.status.as_deref() == Some("Success") {
        return Ok((None, stderr));
    }
    let code = status
        .details
        .and_then(|d| d.causes)
        .and_then(|causes| {
            causes
                .into_iter()
                .find(|c| c.reason.as_deref() == Some("ExitCode"))
        })
        .and_then(|c| c.message);
    match code {
        Some(code) => Ok((Some(code), stderr)),
        None => Err(failed(status.message.unwrap_or(stderr))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_names_files_by_container_path_and_reports_vanished_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let here = dir.path().join("app.py");
        std::fs::write(&here, "print(1)\n").expect("write");
        let files = [
            Copy {
                local: here,
                container: "/app/app.py".into(),
            },
            Copy {
                local: dir.path().join("gone.py"),
                container: "/app/gone.py".into(),
            },
        ];
        let (bytes, gone) = archive(&files).expect("archive");
        assert_eq!(gone, vec![PathBuf::from("/app/gone.py")]);
        let mut read = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = read
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, vec!["app/app.py"]);
    }
}
