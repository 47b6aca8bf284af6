//! Removing old devloop images of an app, keeping the newest N.

use std::collections::HashMap;

use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptionsBuilder};

use super::DockerBuilder;
use crate::build::OWNER_LABEL;
use crate::output::Printer;

impl DockerBuilder {
    /// Removes the devloop images of `owner` ([`crate::build::owner`]) beyond
    /// the newest `keep_images`, and
    /// never `keep`; images in use by a container stay (the engine
    /// refuses), quietly.
    pub async fn prune_images(
        &self,
        owner: &str,
        keep_images: usize,
        keep: &str,
        printer: &Printer,
    ) {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{OWNER_LABEL}={owner}")])]);
        let options = ListImagesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let Ok(mut images) = self.docker.list_images(Some(options)).await else {
            return;
        };
        images.sort_by_key(|i| std::cmp::Reverse(i.created));
        let keep_id = self
            .docker
            .inspect_image(keep)
            .await
            .ok()
            .and_then(|i| i.id);
        for image in images.iter().skip(keep_images.max(1)) {
            if keep_id.as_deref() == Some(image.id.as_str()) {
                continue;
            }
            let options = RemoveImageOptionsBuilder::default().force(false).build();
            // Each tag of the image is removed by name, then the image itself.
            let names: Vec<&str> = if image.repo_tags.is_empty() {
                vec![image.id.as_str()]
            } else {
                image.repo_tags.iter().map(String::as_str).collect()
            };
            for name in names {
                match self
                    .docker
                    .remove_image(name, Some(options.clone()), None)
                    .await
                {
                    Ok(_) => printer.debug(format_args!("removed old image {name}")),
                    Err(err) => printer.debug(format_args!("kept {name}: {err}")),
                }
            }
        }
    }
}
