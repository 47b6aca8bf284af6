//! Loading an image into kind/k3d node containers without their binaries:
//! `docker save` streamed into `ctr -n k8s.io images import` through an exec
//! in each node container found by its cluster label, as `kind load` does.

use std::collections::HashMap;

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::ListContainersOptionsBuilder;
use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;

use crate::build::BuildError;
use crate::build::registry::NodeRuntime;
use crate::output::Printer;

/// Lines of `ctr` output kept for an error message.
const ERROR_LINES: usize = 6;

/// The running node containers of `cluster`, by name.
pub async fn nodes(
    docker: &Docker,
    runtime: NodeRuntime,
    cluster: &str,
) -> Result<Vec<String>, BuildError> {
    let label = format!("{}={cluster}", runtime.label());
    let filters = HashMap::from([
        ("label".to_owned(), vec![label.clone()]),
        ("status".to_owned(), vec!["running".to_owned()]),
    ]);
    let options = ListContainersOptionsBuilder::default()
        .filters(&filters)
        .build();
    let containers =
        docker
            .list_containers(Some(options))
            .await
            .map_err(|e| BuildError::Engine {
                message: e.to_string(),
            })?;
    let mut names: Vec<String> = containers
        .into_iter()
        .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
        .map(|n| n.trim_start_matches('/').to_owned())
        // k3d's load balancer and tools containers carry the label but run no containerd.
        .filter(|n| !(n.ends_with("-serverlb") || n.ends_with("-tools")))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(BuildError::NoNodes {
            cluster: cluster.to_owned(),
            label,
        });
    }
    Ok(names)
}

/// Loads `image` into every node of the cluster that lacks it; returns
/// whether any node needed it.
pub async fn load(
    docker: &Docker,
    runtime: NodeRuntime,
    cluster: &str,
    image: &str,
    printer: &Printer,
) -> Result<bool, BuildError> {
    let mut loaded = false;
    for node in nodes(docker, runtime, cluster).await? {
        if node_has(docker, &node, image).await {
            printer.debug(format_args!("{node} already has {image}"));
            continue;
        }
        printer.status("Loading", format_args!("{image} into node {node}"));
        import(docker, &node, image).await?;
        loaded = true;
    }
    Ok(loaded)
}

/// Whether the node's containerd has `image`.
async fn node_has(docker: &Docker, node: &str, image: &str) -> bool {
    let name = containerd_name(image);
    let cmd = vec![
        "ctr".to_owned(),
        "--namespace=k8s.io".to_owned(),
        "images".to_owned(),
        "ls".to_owned(),
        format!("name=={name}"),
    ];
    match run(docker, node, cmd, None).await {
        // The tag is a content digest: the same name is the same image.
        Ok((0, out)) => out.contains(&name),
        _ => false,
    }
}

/// How containerd names an image that `docker save` tagged `image`.
pub fn containerd_name(image: &str) -> String {
    let has_registry = image
        .split_once('/')
        .is_some_and(|(first, _)| first.contains(['.', ':']) || first == "localhost");
    if has_registry {
        image.to_owned()
    } else if image.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    }
}

/// `docker save image | ctr -n k8s.io images import --all-platforms --digests -`
/// in the node, as `kind load docker-image` runs it (unpacking included).
async fn import(docker: &Docker, node: &str, image: &str) -> Result<(), BuildError> {
    let cmd = [
        "ctr",
        "--namespace=k8s.io",
        "images",
        "import",
        "--all-platforms",
        "--digests",
        "-",
    ]
    .map(str::to_owned)
    .to_vec();
    let saved = docker.export_image(image);
    match run(docker, node, cmd, Some(Box::pin(saved))).await {
        Ok((0, _)) => Ok(()),
        Ok((code, out)) => {
            // ctr's own verdict (`ctr: ...`) says it; its log lines repeat it.
            let verdict: Vec<&str> = out.lines().filter(|l| l.starts_with("ctr: ")).collect();
            let tail: Vec<&str> = if verdict.is_empty() {
                let tail: Vec<&str> = out.lines().rev().take(ERROR_LINES).collect();
                tail.into_iter().rev().collect()
            } else {
                verdict
            };
            Err(BuildError::Load {
                node: node.to_owned(),
                image: image.to_owned(),
                message: format!("ctr exited with {code}: {}", tail.join(" | ")),
            })
        }
        Err(message) => Err(BuildError::Load {
            node: node.to_owned(),
            image: image.to_owned(),
            message,
        }),
    }
}

type ByteStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, bollard::errors::Error>> + Send>,
>;

/// Runs `cmd` in `container`, feeding `stdin`; returns the exit code and output.
async fn run(
    docker: &Docker,
    container: &str,
    cmd: Vec<String>,
    stdin: Option<ByteStream>,
) -> Result<(i64, String), String> {
    let config = ExecConfig {
        attach_stdin: Some(stdin.is_some()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(cmd),
        ..Default::default()
    };
    let exec = docker
        .create_exec(container, config)
        .await
        .map_err(|e| e.to_string())?;
    let started = docker
        .start_exec(
            &exec.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: None,
            }),
        )
        .await
        .map_err(|e| e.to_string())?;
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = started
    else {
        return Err("the exec did not attach".to_owned());
    };
    let writer = async move {
        if let Some(mut stdin) = stdin {
            while let Some(chunk) = stdin.next().await {
                let chunk = chunk.map_err(|e| format!("docker save failed: {e}"))?;
                if input.write_all(&chunk).await.is_err() {
                    // The command stopped reading; its output says why.
                    break;
                }
            }
        }
        let _ = input.shutdown().await;
        Ok::<(), String>(())
    };
    let reader = async move {
        let mut text = String::new();
        while let Some(item) = output.next().await {
            match item {
                Ok(log) => text.push_str(&String::from_utf8_lossy(&log.into_bytes())),
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(text)
    };
    let (written, text) = tokio::join!(writer, reader);
    written?;
    let text = text?;
    let code = docker
        .inspect_exec(&exec.id)
        .await
        .map_err(|e| e.to_string())?
        .exit_code
        .unwrap_or(-1);
    Ok((code, text))
}

#[cfg(test)]
mod tests {
    #[test]
    fn containerd_names_follow_docker_normalisation() {
        for (image, want) in [
            ("web:abc", "docker.io/library/web:abc"),
            ("team/web:abc", "docker.io/team/web:abc"),
            ("127.0.0.1:5000/web:abc", "127.0.0.1:5000/web:abc"),
            ("localhost/web:abc", "localhost/web:abc"),
            ("ghcr.io/me/web:abc", "ghcr.io/me/web:abc"),
        ] {
            assert_eq!(super::containerd_name(image), want);
        }
    }
}
