//! User packs: `$XDG_CONFIG_HOME/devloop/packs/<name>/` (default
//! `~/.config/devloop/packs`), the same files as an embedded pack. A user
//! pack replaces the embedded pack of its name whole; a new name adds a pack.

use std::path::{Path, PathBuf};

use super::{Pack, PackError, embedded_files, parse_all};

/// Where user packs live, from the environment.
pub fn dir(xdg_config_home: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    let base = match (xdg_config_home, home) {
        (Some(x), _) if !x.is_empty() => PathBuf::from(x),
        (_, Some(h)) if !h.is_empty() => Path::new(h).join(".config"),
        _ => return None,
    };
    Some(base.join("devloop").join("packs"))
}

/// The embedded packs with the user's in `dir` overriding them by name.
/// Each pack remembers where it came from ([`Pack::origin`]).
pub fn load(dir: Option<&Path>) -> Result<Vec<Pack>, PackError> {
    let mut packs = parse_all(embedded_files())?;
    let Some(dir) = dir else { return Ok(packs) };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(packs);
    };
    let mut files: Vec<(String, String)> = Vec::new();
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("pack.toml").is_file())
        .collect();
    dirs.sort();
    for pack_dir in &dirs {
        let name = pack_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(inner) = std::fs::read_dir(pack_dir) else {
            continue;
        };
        for file in inner.flatten() {
            let path = file.path();
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| PackError::Invalid {
                pack: name.clone(),
                message: format!("{}: {e}", path.display()),
            })?;
            files.push((
                format!("{name}/{}", file.file_name().to_string_lossy()),
                text,
            ));
        }
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let user = parse_all(&refs).map_err(|e| match e {
        PackError::Invalid { pack, message } => PackError::Invalid {
            pack: format!("{pack} (in {})", dir.display()),
            message,
        },
    })?;
    for mut pack in user {
        pack.origin = Some(dir.join(&pack.name));
        packs.retain(|p| p.name != pack.name);
        packs.push(pack);
    }
    packs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_packs_override_by_name_and_add_new_ones() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let html = tmp.path().join("html");
        std::fs::create_dir_all(&html).expect("mkdir");
        std::fs::write(
            html.join("pack.toml"),
            "name = \"html\"\nport = 9999\n[[detect.language]]\nname = \"html\"\nextensions = [\"html\"]\n[[dockerfile]]\nfile = \"Dockerfile\"\n",
        )
        .expect("write");
        std::fs::write(html.join("Dockerfile"), "FROM busybox:1.37\n").expect("write");
        let packs = load(Some(tmp.path())).expect("loads");
        let html = packs.iter().find(|p| p.name == "html").expect("html");
        assert_eq!(html.scaffold.port, Some(9999));
        assert_eq!(
            html.scaffold.file("Dockerfile"),
            Some("FROM busybox:1.37\n")
        );
        assert!(html.origin.is_some());
        assert_eq!(packs.iter().filter(|p| p.name == "html").count(), 1);
        assert!(
            packs
                .iter()
                .any(|p| p.name == "python" && p.origin.is_none())
        );
        assert_eq!(
            dir(None, Some("/home/u")),
            Some(PathBuf::from("/home/u/.config/devloop/packs"))
        );
        assert_eq!(
            dir(Some("/x"), Some("/home/u")),
            Some(PathBuf::from("/x/devloop/packs"))
        );
    }
}
