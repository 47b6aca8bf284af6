//! The kubelet's side of the Docker engine: connection, labels, exec.

use std::collections::HashMap;

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};
use futures_util::StreamExt as _;

/// Label naming the simulator instance that owns a container.
pub const INSTANCE: &str = "devloop-sim.instance";
/// Label with the pid of the process the simulator runs in (leftovers of a
/// dead process are removed at start).
pub const PID: &str = "devloop-sim.pid";

/// Connects to `host` (`unix://...`, `tcp://...`).
pub async fn connect(host: &str) -> Result<Docker, String> {
    let docker = if let Some(path) = host.strip_prefix("unix://") {
        Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION)
    } else {
        Docker::connect_with_http(host, 120, bollard::API_DEFAULT_VERSION)
    }
    .map_err(|e| format!("cannot reach the Docker engine at {host}: {e}"))?;
    let docker = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        docker.negotiate_version(),
    )
    .await
    .map_err(|_| format!("the Docker engine at {host} does not answer"))?
    .map_err(|e| format!("cannot reach the Docker engine at {host}: {e}"))?;
    Ok(docker)
}

/// Ids of the containers carrying `label` (`key` or `key=value`).
pub async fn with_label(docker: &Docker, label: &str) -> Vec<(String, HashMap<String, String>)> {
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_owned(),
            vec![label.to_owned()],
        )])),
        ..Default::default()
    };
    docker
        .list_containers(Some(options))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| Some((c.id?, c.labels.unwrap_or_default())))
        .collect()
}

pub async fn remove(docker: &Docker, id: &str) {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    let _ = docker.remove_container(id, Some(options)).await;
}

/// Runs `cmd` in container `id`; returns the exit code and the output.
pub async fn exec(docker: &Docker, id: &str, cmd: Vec<String>) -> Result<(i64, String), String> {
    let config = ExecConfig {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(cmd),
        ..Default::default()
    };
    let created = docker
        .create_exec(id, config)
        .await
        .map_err(|e| e.to_string())?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: None,
            }),
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    if let StartExecResults::Attached { mut output, .. } = started {
        while let Some(chunk) = output.next().await {
            match chunk {
                Ok(c) => out.push_str(&c.to_string()),
                Err(_) => break,
            }
        }
    }
    let inspect = docker
        .inspect_exec(&created.id)
        .await
        .map_err(|e| e.to_string())?;
    Ok((inspect.exit_code.unwrap_or(-1), out))
}
