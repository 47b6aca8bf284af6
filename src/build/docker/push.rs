//! Pushing to a registry through the engine (credentials as X-Registry-Auth;
//! the engine sends only the layers the registry lacks), and asking the
//! registry for a tag's manifest digest (the engine's distribution endpoint).

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{PushImageOptionsBuilder, TagImageOptionsBuilder};
use futures_util::StreamExt as _;

use super::DockerBuilder;
use crate::build::registry::{self, Credentials};
use crate::build::{BuildError, BuildRequest};
use crate::output::Printer;

impl DockerBuilder {
    /// The manifest digest of `remote` in its registry, or `None` when it is not there.
    pub(super) async fn registry_digest(
        &self,
        remote: &str,
        registry: &str,
        credentials: Option<&Credentials>,
    ) -> Result<Option<String>, BuildError> {
        match self
            .docker
            .inspect_registry_image(remote, credentials.map(to_bollard))
            .await
        {
            Ok(inspect) => Ok(inspect.descriptor.digest),
            Err(err) => {
                let message = registry::redact(&err.to_string(), credentials);
                if is_auth_error(&message) && credentials.is_some() {
                    Err(BuildError::Auth {
                        registry: registry.to_owned(),
                        message,
                    })
                } else {
                    // Not there, or not readable anonymously: the push decides.
                    Ok(None)
                }
            }
        }
    }

    pub(super) async fn push(
        &self,
        request: &BuildRequest,
        registry: &str,
        tag: &str,
        local: &str,
        credentials: Option<&Credentials>,
        printer: &Printer,
    ) -> Result<String, BuildError> {
        let repo = format!("{registry}/{}", request.image);
        let remote = format!("{repo}:{tag}");
        let engine = |e: bollard::errors::Error| BuildError::Engine {
            message: e.to_string(),
        };
        let options = TagImageOptionsBuilder::default()
            .repo(&repo)
            .tag(tag)
            .build();
        self.docker
            .tag_image(local, Some(options))
            .await
            .map_err(engine)?;
        printer.status("Pushing", &remote);
        let options = PushImageOptionsBuilder::default().tag(tag).build();
        let mut stream = self
            .docker
            .push_image(&repo, Some(options), credentials.map(to_bollard));
        // bollard's PushImageInfo drops the layer id; the engine sends one
        // final status per layer, so counting them counts layers.
        let (mut pushed, mut present) = (0_usize, 0_usize);
        let mut digest = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| {
                let mut message = registry::redact(&e.to_string(), credentials);
                if credentials.is_none() {
                    message = format!(
                        "{message} (no credentials for it in {})",
                        self.docker_config.join("config.json").display()
                    );
                }
                if is_auth_error(&message) {
                    BuildError::Auth {
                        registry: registry.to_owned(),
                        message,
                    }
                } else {
                    BuildError::Push {
                        registry: registry.to_owned(),
                        image: remote.clone(),
                        message,
                    }
                }
            })?;
            let status = info.status.unwrap_or_default();
            match status.as_str() {
                "Pushed" => pushed += 1,
                s if s == "Layer already exists" || s.starts_with("Mounted from") => present += 1,
                s if s.contains("digest: sha256:") => {
                    digest = s
                        .split_whitespace()
                        .find(|w| w.starts_with("sha256:"))
                        .map(str::to_owned);
                }
                _ => {}
            }
        }
        printer.status(
            "Pushed",
            format_args!("{remote} (layers: {pushed} sent, {present} already there)"),
        );
        match digest {
            Some(d) => Ok(d),
            None => self
                .registry_digest(&remote, registry, credentials)
                .await?
                .ok_or_else(|| BuildError::Push {
                    registry: registry.to_owned(),
                    image: remote,
                    message: "the registry reported no manifest digest".to_owned(),
                }),
        }
    }
}

fn is_auth_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "denied",
        "401",
        "403",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

fn to_bollard(c: &Credentials) -> DockerCredentials {
    DockerCredentials {
        username: c.username.clone(),
        password: c.password.clone(),
        identitytoken: c.identity_token.clone(),
        serveraddress: Some(c.server.clone()),
        ..Default::default()
    }
}
