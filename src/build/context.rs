//! The build context: the app directory as a tar stream with `.dockerignore`
//! applied exactly as `docker build` applies it, and its digest.
//!
//! The tar is deterministic (entries sorted by name, as Go's `WalkDir` visits
//! them; uid/gid 0; a fixed mtime; mode 0755 or 0644 by the owner's execute
//! bit), so its sha256 identifies the content: touching a file or changing
//! an ignored one leaves it unchanged. Symlinks are sent as links with their
//! target verbatim, as Docker sends them; hard links are sent as copies.
//! The tar is written to any `Write` as it is produced and never held whole
//! in memory. Talking to the engine is `docker.rs`'s business.

use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::BuildError;
use super::dockerignore::Matcher;

/// What was sent: the digest of the tar bytes, its size and entry count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Lowercase hex sha256 of the tar stream.
    pub digest: String,
    pub bytes: u64,
    pub entries: u64,
}

/// The context of one build: a directory and the Dockerfile inside it.
#[derive(Debug, Clone)]
pub struct BuildContext {
    pub root: PathBuf,
    /// The Dockerfile's path relative to `root`, `/`-separated.
    pub dockerfile: String,
    matcher: Matcher,
}

impl BuildContext {
    /// Reads `root/.dockerignore` (if any) and checks that the Dockerfile exists.
    pub fn open(root: &Path, dockerfile: &str) -> Result<BuildContext, BuildError> {
        let ignore_path = root.join(".dockerignore");
        let mut matcher = match fs::read(&ignore_path) {
            Ok(bytes) => Matcher::parse(&String::from_utf8_lossy(&bytes)).map_err(|source| {
                BuildError::Dockerignore {
                    path: ignore_path.clone(),
                    source,
                }
            })?,
            Err(err) if err.kind() == io::ErrorKind::NotFound => Matcher::default(),
            Err(source) => {
                return Err(BuildError::Context {
                    path: ignore_path,
                    source,
                });
            }
        };
        let dockerfile = super::dockerignore::clean(dockerfile);
        if dockerfile == ".." || dockerfile.starts_with("../") || dockerfile.starts_with('/') {
            return Err(BuildError::DockerfileOutside {
                dockerfile,
                root: root.to_owned(),
            });
        }
        if !root.join(&dockerfile).is_file() {
            return Err(BuildError::NoDockerfile {
                path: root.join(&dockerfile),
            });
        }
        matcher.keep_build_files(&dockerfile);
        Ok(BuildContext {
            root: root.to_owned(),
            dockerfile,
            matcher,
        })
    }

    /// Writes the context as tar into `out`; `on_entry` sees each entry name
    /// (directories end in `/`). Returns `out` and the summary.
    pub fn write<W: Write>(
        &self,
        out: W,
        on_entry: &mut dyn FnMut(&str),
    ) -> Result<(W, Summary), BuildError> {
        let hashing = Hashing {
            inner: out,
            hasher: Sha256::new(),
            bytes: 0,
        };
        let mut tar = tar::Builder::new(hashing);
        tar.follow_symlinks(false);
        let mut walk = Walk {
            ctx: self,
            tar: &mut tar,
            entries: 0,
            on_entry,
        };
        walk.dir(&self.root, "")?;
        let entries = walk.entries;
        let hashing = tar
            .into_inner()
            .map_err(|source| self.io(&self.root, source))?;
        let summary = Summary {
            digest: hex(&hashing.hasher.finalize()),
            bytes: hashing.bytes,
            entries,
        };
        Ok((hashing.inner, summary))
    }

    /// Whether the file at `path` (absolute) is sent with the context: inside
    /// the root and not excluded by `.dockerignore`.
    pub fn sends(&self, path: &Path) -> bool {
        self.relative(path)
            .is_some_and(|rel| !rel.is_empty() && !self.matcher.excludes(&rel))
    }

    /// Whether the directory at `path` (absolute, inside the root) holds
    /// nothing the context sends, so a watcher can skip its whole tree.
    pub fn skips_dir(&self, path: &Path) -> bool {
        self.relative(path).is_some_and(|rel| {
            !rel.is_empty() && self.matcher.excludes(&rel) && !self.matcher.must_descend(&rel)
        })
    }

    /// `path` relative to the root, `/`-separated; `None` outside it.
    fn relative(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    }

    /// The digest alone, streaming into nothing.
    pub fn digest(&self) -> Result<Summary, BuildError> {
        self.write(io::sink(), &mut |_| {}).map(|(_, s)| s)
    }

    /// The entry names that would be sent, in order.
    pub fn list(&self) -> Result<(Vec<String>, Summary), BuildError> {
        let mut names = Vec::new();
        let (_, summary) = self.write(io::sink(), &mut |name| names.push(name.to_owned()))?;
        Ok((names, summary))
    }

    fn io(&self, path: &Path, source: io::Error) -> BuildError {
        let path = if path.as_os_str().is_empty() {
            self.root.clone()
        } else {
            path.to_owned()
        };
        BuildError::Context { path, source }
    }
}

struct Walk<'a, W: Write> {
    ctx: &'a BuildContext,
    tar: &'a mut tar::Builder<Hashing<W>>,
    entries: u64,
    on_entry: &'a mut dyn FnMut(&str),
}

impl<W: Write> Walk<'_, W> {
    /// Visits the children of `dir` (`rel` is its context-relative name, "" for the root).
    fn dir(&mut self, dir: &Path, rel: &str) -> Result<(), BuildError> {
        let read = fs::read_dir(dir).map_err(|e| self.ctx.io(dir, e))?;
        let mut names: Vec<OsString> = Vec::new();
        for entry in read {
            names.push(entry.map_err(|e| self.ctx.io(dir, e))?.file_name());
        }
        // Go's WalkDir order: byte-wise by name.
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let path = dir.join(&name);
            let name = name.to_string_lossy();
            let child = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(&path).map_err(|e| self.ctx.io(&path, e))?;
            let matcher = &self.ctx.matcher;
            if matcher.excludes(&child) {
                if meta.is_dir() && matcher.has_exclusions() && matcher.must_descend(&child) {
                    // The directory itself is not sent, only what a `!` re-includes.
                    self.dir(&path, &child)?;
                }
                continue;
            }
            self.entry(&path, &child, &meta)?;
            if meta.is_dir() {
                self.dir(&path, &child)?;
            }
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, rel: &str, meta: &Metadata) -> Result<(), BuildError> {
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(meta, tar::HeaderMode::Deterministic);
        let file_type = meta.file_type();
        let result = if file_type.is_dir() {
            let name = format!("{rel}/");
            (self.on_entry)(&name);
            header.set_size(0);
            self.tar.append_data(&mut header, &name, io::empty())
        } else if file_type.is_symlink() {
            let target = fs::read_link(path).map_err(|e| self.ctx.io(path, e))?;
            (self.on_entry)(rel);
            header.set_size(0);
            self.tar.append_link(&mut header, rel, &target)
        } else if file_type.is_file() {
            let file = File::open(path).map_err(|e| self.ctx.io(path, e))?;
            (self.on_entry)(rel);
            let exact = Exact {
                inner: file.take(meta.len()),
                remaining: meta.len(),
            };
            self.tar.append_data(&mut header, rel, exact)
        } else {
            // Sockets, fifos and devices have no place in an image context.
            return Ok(());
        };
        self.entries += 1;
        result.map_err(|e| self.ctx.io(path, e))
    }
}

/// Reads exactly the size the header announced, or fails: a file that shrank
/// while being sent would otherwise corrupt the archive.
struct Exact<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file changed while it was being read",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests;
