//! The dev session `devloop up` runs: file changes in, a plan out, stages run.
//!
//! One owner runs the loop; [`plan::plan`] decides what a batch of changes
//! needs as a pure function; [`coalesce::Coalescer`] turns bursts of file
//! events into batches. The stages themselves (build, deploy, sync) live in
//! their own modules and are driven from here.

pub mod changeset;
pub mod coalesce;
pub mod events;
pub mod forward;
pub mod layout;
pub mod logs;
pub mod pipeline;
pub mod plan;
pub mod pods;
pub mod resume;
pub mod run;
pub mod stages;
pub mod state;
