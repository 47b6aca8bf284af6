//! VS Code attach configurations, built from the data in `templates/vscode/`
//! (one file per debugger): devloop fills the port and source mappings at the
//! JSON pointers each template names, then [`super::launch`] writes them.

use serde_json::Value;

/// Debuggers devloop has a template for, with the template text.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "debugpy",
        include_str!("../../templates/vscode/debugpy.json"),
    ),
    ("node", include_str!("../../templates/vscode/node.json")),
    ("delve", include_str!("../../templates/vscode/delve.json")),
    ("jdwp", include_str!("../../templates/vscode/jdwp.json")),
];

/// What goes into one attach configuration.
pub struct Attach<'a> {
    pub app: &'a str,
    pub debugger: &'a str,
    /// The pinned local port the debugger is forwarded to.
    pub port: u16,
    /// The app's directory as VS Code names it (`${workspaceFolder}/services/api`).
    pub local_root: &'a str,
    /// The source directory in the container (the Dockerfile's WORKDIR).
    pub remote_root: &'a str,
}

/// Why no configuration could be made.
#[derive(Debug, thiserror::Error)]
pub enum VscodeError {
    #[error("no VS Code template for debugger `{0}` (known: debugpy, node, delve, jdwp)")]
    UnknownDebugger(String),
    #[error("templates/vscode/{0}.json is broken: {1}")]
    Template(String, String),
}

/// The launch.json entry for `attach`, named `devloop: <app> (<debugger>)`.
pub fn attach_entry(attach: &Attach<'_>) -> Result<Value, VscodeError> {
    let text = TEMPLATES
        .iter()
        .find(|(name, _)| *name == attach.debugger)
        .map(|(_, text)| *text)
        .ok_or_else(|| VscodeError::UnknownDebugger(attach.debugger.to_owned()))?;
    let broken = |why: &str| VscodeError::Template(attach.debugger.to_owned(), why.to_owned());
    let template: Value = serde_json::from_str(text).map_err(|e| broken(&e.to_string()))?;
    let mut configuration = template
        .get("configuration")
        .cloned()
        .ok_or_else(|| broken("no `configuration`"))?;
    let fills: [(&str, Value); 3] = [
        ("port", Value::from(attach.port)),
        ("local_root", Value::from(attach.local_root)),
        ("remote_root", Value::from(attach.remote_root)),
    ];
    for (key, value) in fills {
        let Some(pointer) = template
            .pointer(&format!("/fill/{key}"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let slot = configuration
            .pointer_mut(pointer)
            .ok_or_else(|| broken(&format!("`fill.{key}` points at nothing: {pointer}")))?;
        *slot = value;
    }
    let object = configuration
        .as_object_mut()
        .ok_or_else(|| broken("`configuration` is not an object"))?;
    object.insert(
        "name".to_owned(),
        Value::from(format!(
            "{}{} ({})",
            super::launch::PREFIX,
            attach.app,
            attach.debugger
        )),
    );
    Ok(configuration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_fills_its_pointers() {
        for (debugger, _) in TEMPLATES {
            let entry = attach_entry(&Attach {
                app: "web",
                debugger,
                port: 40000,
                local_root: "${workspaceFolder}/web",
                remote_root: "/srv/web",
            })
            .unwrap_or_else(|e| panic!("{debugger}: {e}"));
            assert_eq!(entry["name"], format!("devloop: web ({debugger})"));
            assert_eq!(entry["request"], "attach", "{debugger}");
            let text = entry.to_string();
            assert!(text.contains("40000"), "{debugger}: port filled: {text}");
            assert!(
                text.contains("127.0.0.1"),
                "{debugger}: attaches on loopback: {text}"
            );
            if *debugger != "jdwp" {
                assert!(
                    text.contains("/srv/web") && text.contains("${workspaceFolder}/web"),
                    "{debugger}: {text}"
                );
            }
        }
        assert!(matches!(
            attach_entry(&Attach {
                app: "a",
                debugger: "gdb",
                port: 1,
                local_root: "",
                remote_root: ""
            }),
            Err(VscodeError::UnknownDebugger(_))
        ));
    }
}
