//! launch.json edits keep every byte outside devloop's entries.

use serde_json::json;

use super::*;

fn entry(app: &str, port: u16) -> serde_json::Value {
    json!({"name": format!("{PREFIX}{app} (debugpy)"), "type": "debugpy", "request": "attach", "connect": {"host": "127.0.0.1", "port": port}})
}

const USER_FILE: &str = r#"{
    // My own configurations. Do not touch.
    "version": "0.2.0",
    "configurations": [
        /* the one I use daily */
        {
            "name": "Run tests",
            "type": "python",
            "request": "launch", // inline comment
            "module": "pytest",
        },
    ],
}
"#;

#[test]
fn a_new_file_is_valid_json_with_comments() {
    let text = upsert("", &[entry("web", 5678), entry("api", 5679)]).expect("new");
    let parsed = jsonc::parse(&text).expect("parses");
    let Some(Node::Array { items, .. }) = parsed.get("configurations") else {
        panic!("array")
    };
    assert_eq!(items.len(), 2);
    assert_eq!(
        upsert(&text, &[entry("web", 5678), entry("api", 5679)]).expect("again"),
        text,
        "idempotent"
    );
}

#[test]
fn user_entries_comments_and_trailing_commas_survive_byte_for_byte() {
    let text = upsert(USER_FILE, &[entry("web", 5678)]).expect("upsert");
    let rendered = render(&entry("web", 5678), "        ", "    ");
    assert!(
        rendered.starts_with("{\n            \"name\": \"devloop: web (debugpy)\""),
        "{rendered}"
    );
    // devloop's entry went in after the user's trailing comma, with one of its
    // own; taking exactly that out gives back the user's file, byte for byte.
    let added = format!("\n        {rendered},");
    assert_eq!(text.matches(&added).count(), 1, "{text}");
    assert_eq!(text.replacen(&added, "", 1), USER_FILE);

    // Updating the port rewrites only devloop's entry.
    let updated = upsert(&text, &[entry("web", 6000)]).expect("update");
    assert_eq!(updated.len(), text.len(), "{updated}");
    assert_eq!(updated.replace("6000", "5678"), text);
    assert_eq!(
        upsert(&updated, &[entry("web", 6000)]).expect("again"),
        updated,
        "idempotent"
    );
}

#[test]
fn without_trailing_commas_a_comma_is_added() {
    let user = "{\n  \"configurations\": [\n    {\"name\": \"mine\", \"type\": \"node\"}\n  ]\n}\n";
    let text = upsert(user, &[entry("web", 5678)]).expect("upsert");
    assert!(text.starts_with("{\n  \"configurations\": [\n    {\"name\": \"mine\", \"type\": \"node\"},\n    {\n      \"name\": \"devloop: web (debugpy)\""), "{text}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_ok(),
        "plain JSON stays plain JSON: {text}"
    );
}

#[test]
fn empty_configurations_and_missing_key_and_tabs() {
    let empty = "{\n\t\"version\": \"0.2.0\",\n\t\"configurations\": [\n\t\t// none yet\n\t]\n}\n";
    let text = upsert(empty, &[entry("web", 5678)]).expect("upsert");
    assert!(
        text.contains("\t\t// none yet\n\t\t{\n\t\t\t\"name\": \"devloop: web (debugpy)\""),
        "{text:?}"
    );
    assert!(text.ends_with("\t\t}\n\t]\n}\n"), "{text:?}");

    let no_key = "{\n  \"version\": \"0.2.0\"\n}\n";
    let text = upsert(no_key, &[entry("web", 5678)]).expect("upsert");
    assert!(
        text.starts_with(
            "{\n  \"version\": \"0.2.0\",\n  \"configurations\": [\n    {\n      \"name\""
        ),
        "{text}"
    );
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(value["configurations"][0]["connect"]["port"], 5678);
}

#[test]
fn broken_files_are_refused_not_rewritten() {
    let err = upsert(
        "{\n  \"configurations\": [\n    {\"name\": \"x\"\n  ]\n}",
        &[entry("web", 1)],
    )
    .expect_err("broken");
    assert_eq!((err.line, err.column), (4, 3));
    assert!(upsert("[]", &[entry("web", 1)]).is_err());
}
