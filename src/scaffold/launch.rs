//! devloop's entries in `.vscode/launch.json`, added or replaced by name with
//! a textual edit: every byte outside devloop's own entries (the user's
//! entries, comments, trailing commas, indentation) stays as it was.

use super::jsonc::{self, Node, SyntaxError};

/// The name prefix that marks an entry as devloop's.
pub const PREFIX: &str = "devloop: ";

/// The text of a new launch.json holding `entries`.
fn new_file(entries: &[serde_json::Value]) -> String {
    let body: Vec<String> = entries.iter().map(|e| render(e, "    ", "  ")).collect();
    format!(
        "{{\n  // Attach configurations; devloop owns the entries named \"{PREFIX}...\".\n  \"version\": \"0.2.0\",\n  \"configurations\": [\n    {}\n  ]\n}}\n",
        body.join(",\n    ")
    )
}

/// Pretty JSON for one entry, `name` first, its lines after the first
/// indented by `indent` and nested levels by `unit`.
fn render(entry: &serde_json::Value, indent: &str, unit: &str) -> String {
    let mut out = String::new();
    pretty(entry, indent, unit, &mut out);
    out
}

fn pretty(value: &serde_json::Value, indent: &str, unit: &str, out: &mut String) {
    use serde_json::Value;
    let inner = format!("{indent}{unit}");
    match value {
        Value::Object(map) if !map.is_empty() => {
            // VS Code shows entries by name: keep it on top, the rest sorted.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| (k.as_str() != "name", k.as_str()));
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&inner);
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push_str(": ");
                pretty(&map[*key], &inner, unit, out);
            }
            out.push('\n');
            out.push_str(indent);
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&inner);
                pretty(item, &inner, unit, out);
            }
            out.push('\n');
            out.push_str(indent);
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The whitespace that starts the line holding byte `pos`.
fn line_indent(text: &str, pos: usize) -> &str {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// The file's indentation unit: a tab, or the smallest run of leading spaces.
fn indent_unit(text: &str) -> String {
    if text.lines().any(|l| l.starts_with('\t')) {
        return "\t".to_owned();
    }
    let smallest = text
        .lines()
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .filter(|n| *n > 0)
        .min()
        .unwrap_or(2);
    " ".repeat(smallest)
}

fn entry_name(node: &Node) -> Option<&str> {
    match node.get("name")? {
        Node::Scalar { string, .. } => string.as_deref(),
        _ => None,
    }
}

/// Adds each entry (a JSON object with a `name`) to `text`, replacing the
/// entry of the same name if there is one. `text` empty means no file yet.
pub fn upsert(text: &str, entries: &[serde_json::Value]) -> Result<String, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(new_file(entries));
    }
    let mut text = text.to_owned();
    for entry in entries {
        text = upsert_one(&text, entry)?;
    }
    Ok(text)
}

fn upsert_one(text: &str, entry: &serde_json::Value) -> Result<String, SyntaxError> {
    let root = jsonc::parse(text)?;
    let Node::Object {
        end: root_end,
        members,
        ..
    } = &root
    else {
        return Err(SyntaxError {
            line: 1,
            column: 1,
            message: "launch.json is not an object",
        });
    };
    let unit = indent_unit(text);
    let name = entry.get("name").and_then(serde_json::Value::as_str);
    let splice =
        |start: usize, end: usize, with: &str| format!("{}{with}{}", &text[..start], &text[end..]);

    let Some(configurations) = root.get("configurations") else {
        // No configurations yet: add the key as the object's last member.
        let member_indent = members.first().map_or(unit.clone(), |(_, v)| {
            line_indent(text, v.span().0).to_owned()
        });
        let item_indent = format!("{member_indent}{unit}");
        let member = format!(
            "\"configurations\": [\n{item_indent}{}\n{member_indent}]",
            render(entry, &item_indent, &unit)
        );
        return Ok(match members.last() {
            Some((_, last)) => {
                insert_after(text, last.span().1, &format!("\n{member_indent}{member}"))
            }
            None => splice(
                root_end - 1,
                root_end - 1,
                &format!("\n{member_indent}{member}\n"),
            ),
        });
    };
    let Node::Array { start, end, items } = configurations else {
        let (line, column) = (1, 1);
        return Err(SyntaxError {
            line,
            column,
            message: "\"configurations\" is not an array",
        });
    };
    if let Some(existing) = items
        .iter()
        .find(|item| name.is_some() && entry_name(item) == name)
    {
        let (s, e) = existing.span();
        let indent = line_indent(text, s).to_owned();
        return Ok(splice(s, e, &render(entry, &indent, &unit)));
    }
    if let Some(last) = items.last() {
        let indent = line_indent(text, last.span().0).to_owned();
        return Ok(insert_after(
            text,
            last.span().1,
            &format!("\n{indent}{}", render(entry, &indent, &unit)),
        ));
    }
    let closing = line_indent(text, *start).to_owned();
    let indent = format!("{closing}{unit}");
    // Keep whatever (comments) sits inside the empty brackets.
    let inner_end = text[..*end - 1].trim_end().len();
    Ok(splice(
        inner_end,
        end - 1,
        &format!("\n{indent}{}\n{closing}", render(entry, &indent, &unit)),
    ))
}

/// Inserts `addition` (which starts with a newline) as the next item after
/// the item ending at `item_end`: after its trailing comma if the file writes
/// one (then with a comma of its own), else after a new comma.
fn insert_after(text: &str, item_end: usize, addition: &str) -> String {
    let next = jsonc::skip_trivia(text, item_end);
    if text.as_bytes().get(next) == Some(&b',') {
        format!("{}{addition},{}", &text[..=next], &text[next + 1..])
    } else {
        format!("{},{addition}{}", &text[..item_end], &text[item_end..])
    }
}

#[cfg(test)]
mod tests;
