//! What can go wrong while building, pushing or loading an image.

use std::path::PathBuf;

use super::dockerignore::PatternError;

/// A build-stage error. [`BuildError::is_user`] decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{}: {source}", path.display())]
    Dockerignore {
        path: PathBuf,
        #[source]
        source: PatternError,
    },
    #[error("no Dockerfile at {}", path.display())]
    NoDockerfile { path: PathBuf },
    #[error("the Dockerfile `{dockerfile}` is outside the build context {}", root.display())]
    DockerfileOutside { dockerfile: String, root: PathBuf },
    #[error("cannot read the build context at {}: {source}", path.display())]
    Context {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The context changed between computing its digest and sending it.
    #[error("files in {} changed during the build", path.display())]
    ContextChanged { path: PathBuf },
    #[error("cannot reach the Docker engine at {host} (from {origin}): {message}")]
    NoEngine {
        host: String,
        /// Where the address came from: `DOCKER_HOST`, `Docker context "x"`, the default socket.
        origin: String,
        message: String,
    },
    #[error("the Docker engine failed: {message}")]
    Engine { message: String },
    /// A Dockerfile step failed: the step and the last lines of its output.
    #[error("{step} failed: {message}{}", tail(lines))]
    Step {
        step: String,
        message: String,
        lines: Vec<String>,
    },
    #[error("Docker configuration {}: {message}", path.display())]
    DockerConfig { path: PathBuf, message: String },
    #[error("registry {registry} refused authentication: {message}")]
    Auth { registry: String, message: String },
    #[error("pushing {image} to {registry} failed: {message}")]
    Push {
        registry: String,
        image: String,
        message: String,
    },
    #[error("{message}")]
    NoRegistry { message: String },
    #[error("loading {image} into node {node} failed: {message}")]
    Load {
        node: String,
        image: String,
        message: String,
    },
    #[error("no node containers of cluster `{cluster}` are running (label {label})")]
    NoNodes { cluster: String, label: String },
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        let mut out = String::from("\n  last output:");
        for line in lines {
            out.push_str("\n  | ");
            out.push_str(line);
        }
        out
    }
}

impl BuildError {
    /// A step failed because an image it was built on disappeared: another
    /// build on the same engine removed it between the cache lookup and its use.
    pub fn is_vanished_image(&self) -> bool {
        match self {
            BuildError::Step { message, .. } | BuildError::Engine { message } => {
                message.contains("unable to find image") || message.contains("No such image")
            }
            _ => false,
        }
    }

    /// The user's to fix (exit 1) rather than the infrastructure's (exit 2).
    pub fn is_user(&self) -> bool {
        matches!(
            self,
            BuildError::Dockerignore { .. }
                | BuildError::NoDockerfile { .. }
                | BuildError::DockerfileOutside { .. }
                | BuildError::ContextChanged { .. }
                | BuildError::Step { .. }
                | BuildError::DockerConfig { .. }
                | BuildError::NoRegistry { .. }
        )
    }

    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            BuildError::Dockerignore { .. } => {
                "patterns follow Docker's rules: https://docs.docker.com/build/concepts/context/#dockerignore-files"
            }
            BuildError::NoDockerfile { .. } => "`devloop init` writes one for the detected app",
            BuildError::DockerfileOutside { .. } => {
                "give a Dockerfile path inside the app directory (-f is relative to it)"
            }
            BuildError::ContextChanged { .. } => "run the build again",
            BuildError::NoEngine { .. } => {
                "is the Docker daemon running? set DOCKER_HOST (unix:///path/docker.sock or tcp://host:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH), or pick a context with `docker context use`"
            }
            BuildError::Step { .. } => {
                "fix the Dockerfile step above; -v shows the whole build output"
            }
            BuildError::Auth { .. } => {
                "log in with `docker login <registry>`, or check the credentials in $DOCKER_CONFIG/config.json (auths, credHelpers, credsStore)"
            }
            BuildError::NoRegistry { .. } => {
                "set `registry` in devloop.toml, DEVLOOP_REGISTRY or --registry"
            }
            BuildError::NoNodes { .. } => "is the cluster running? (`docker ps` lists its nodes)",
            _ => return None,
        };
        Some(hint.to_owned())
    }

    pub fn code(&self) -> &'static str {
        match self {
            BuildError::Dockerignore { .. } => "dockerignore",
            BuildError::NoDockerfile { .. } | BuildError::DockerfileOutside { .. } => {
                "no_dockerfile"
            }
            BuildError::Context { .. } => "build_context",
            BuildError::ContextChanged { .. } => "context_changed",
            BuildError::NoEngine { .. } => "docker_unreachable",
            BuildError::Engine { .. } => "docker_engine",
            BuildError::Step { .. } => "build_step",
            BuildError::DockerConfig { .. } => "docker_config",
            BuildError::Auth { .. } => "registry_auth",
            BuildError::Push { .. } => "push",
            BuildError::NoRegistry { .. } => "no_registry",
            BuildError::Load { .. } => "load",
            BuildError::NoNodes { .. } => "no_nodes",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BuildError;

    #[test]
    fn a_removed_cached_layer_is_told_apart_from_a_failing_step() {
        let step = |message: &str| BuildError::Step {
            step: "Step 7/14 COPY . .".to_owned(),
            message: message.to_owned(),
            lines: Vec::new(),
        };
        assert!(step("unable to find image \"sha256:a4b9\"").is_vanished_image());
        assert!(
            BuildError::Engine {
                message: "No such image: sha256:a4b9".to_owned()
            }
            .is_vanished_image()
        );
        assert!(
            !step("The command '/bin/sh -c make' returned a non-zero code: 2").is_vanished_image()
        );
    }
}
