//! What an image runs, read from the engine: `devloop up --debug` rewrites
//! the image's command, so it must know it (Skaffold reads the same config).

use super::DockerBuilder;
use crate::build::BuildError;

/// The parts of an image's config that say how it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `NAME=value` entries, as the image lists them.
    pub env: Vec<String>,
    /// The image's WORKDIR (empty: `/`).
    pub working_dir: String,
}

impl DockerBuilder {
    /// The config of the local image `name` (`repo:tag`).
    pub async fn image_config(&self, name: &str) -> Result<ImageConfig, BuildError> {
        let image = self
            .docker
            .inspect_image(name)
            .await
            .map_err(|e| BuildError::Engine {
                message: format!("cannot inspect {name}: {e}"),
            })?;
        let config = image.config.unwrap_or_default();
        Ok(ImageConfig {
            entrypoint: config.entrypoint.unwrap_or_default(),
            cmd: config.cmd.unwrap_or_default(),
            env: config.env.unwrap_or_default(),
            working_dir: config.working_dir.unwrap_or_default(),
        })
    }
}
