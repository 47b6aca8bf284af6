//! devloop's own Helm renderer: no helm binary, no Go toolchain.
//!
//! [`template`] is the language (Go's `text/template` with Go's semantics,
//! Helm's `missingkey` behaviour and error wording). Helm's function library
//! and the chart model build on it; they do not live here yet.

pub mod template;
