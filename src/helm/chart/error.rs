//! What can go wrong loading, valuing or rendering a chart. Every variant is
//! the user's to fix (their chart, their values), so all exit 1. Messages
//! are Helm's own wording where Helm has one, so a user can search for them.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChartError {
    /// The chart could not be read from disk.
    #[error("cannot read chart {}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    /// The chart's files are not a valid chart (Chart.yaml, values.yaml...).
    #[error("{0}")]
    Invalid(String),
    /// A `-f` file, `--set` expression or similar is wrong.
    #[error("{0}")]
    Values(String),
    /// The values break `values.schema.json`.
    #[error("{0}")]
    Schema(String),
    /// A template failed to parse or execute (Helm's message).
    #[error("{0}")]
    Render(String),
    /// A rendered document is not YAML, or carries an unknown hook word.
    #[error("{0}")]
    Manifest(String),
}

impl ChartError {
    pub fn hint(&self) -> Option<String> {
        Some(
            match self {
                ChartError::Read { .. } => "check the chart path (a directory with Chart.yaml, or a .tgz)",
                ChartError::Invalid(_) => "fix the chart's Chart.yaml / values.yaml; `helm lint` reports the same",
                ChartError::Values(_) => "check the values files and --set expressions",
                ChartError::Schema(_) => "the values break the chart's values.schema.json",
                ChartError::Render(_) => "the chart's templates failed with these values; `devloop template` shows the render",
                ChartError::Manifest(_) => "a template rendered something that is not a Kubernetes manifest",
            }
            .to_owned(),
        )
    }

    pub fn code(&self) -> &'static str {
        match self {
            ChartError::Read { .. } => "chart_read",
            ChartError::Invalid(_) => "chart_invalid",
            ChartError::Values(_) => "chart_values",
            ChartError::Schema(_) => "chart_schema",
            ChartError::Render(_) => "chart_render",
            ChartError::Manifest(_) => "chart_manifest",
        }
    }
}
