//! What every command that changes a cluster shares: `--allow-context`, the
//! guard against the wrong cluster or a system namespace, the connection,
//! and the async runtime those commands run on.

use clap::Args;

use crate::cluster::Cluster;
use crate::config::{AppConfig, Config};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::guard;

#[derive(Debug, Args, Clone, Default)]
pub struct ClusterArgs {
    /// Allow a context that does not look local (kind-*, k3d-*, minikube...); repeatable
    #[arg(long = "allow-context", value_name = "NAME")]
    pub allow_context: Vec<String>,
}

impl ClusterArgs {
    /// Checks the context and every app's namespace, then connects. The
    /// guard runs before any request: a refused cluster is never contacted.
    pub async fn connect(
        &self,
        ctx: &Context,
        config: &Config,
        apps: &[&AppConfig],
    ) -> Result<Cluster> {
        let target = ctx.kube_target();
        guard::check_context(
            target.context.value.as_deref(),
            &config.allowed_contexts.value,
            &self.allow_context,
        )
        .map_err(crate::cluster::ClusterError::from)?;
        for app in apps {
            guard::check_namespace(&app.namespace).map_err(crate::cluster::ClusterError::from)?;
        }
        let cluster = target.connect().await?;
        ctx.printer.debug(format_args!(
            "cluster {} (context {})",
            cluster.server, cluster.context
        ));
        Ok(cluster)
    }
}

/// The multi-threaded runtime cluster commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}
