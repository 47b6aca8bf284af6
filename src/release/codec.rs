//! Helm's storage encoding of a release (`pkg/storage/driver/util.go`):
//! JSON, gzip at best compression, base64 (standard alphabet). That text is
//! the Secret's `data.release` value (so the API shows it base64'd twice).
//! Decoding accepts releases stored before compression, as Helm does: no
//! gzip magic after base64 means plain JSON.

use std::io::{Read as _, Write as _};

use base64::Engine as _;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::record::Release;

/// Gzip's magic bytes and deflate method, as Helm checks them.
const MAGIC_GZIP: [u8; 3] = [0x1f, 0x8b, 0x08];

/// Why a stored release could not be read or written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("not base64: {0}")]
    Base64(String),
    #[error("not gzip: {0}")]
    Gzip(String),
    #[error("not a release: {0}")]
    Json(String),
}

/// `encodeRelease`: the text Helm stores for `release`.
pub fn encode(release: &Release) -> Result<String, CodecError> {
    let json = serde_json::to_vec(release).map_err(|e| CodecError::Json(e.to_string()))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&json)
        .map_err(|e| CodecError::Gzip(e.to_string()))?;
    let zipped = gz.finish().map_err(|e| CodecError::Gzip(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(zipped))
}

/// `decodeRelease`: a release from the text Helm stores.
pub fn decode(text: &str) -> Result<Release, CodecError> {
    let json = decode_json(text)?;
    serde_json::from_slice(&json).map_err(|e| CodecError::Json(e.to_string()))
}

/// The release JSON inside Helm's stored text (for tests and `-v` output).
pub fn decode_json(text: &str) -> Result<Vec<u8>, CodecError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| CodecError::Base64(e.to_string()))?;
    if !bytes.starts_with(&MAGIC_GZIP) {
        return Ok(bytes);
    }
    let mut json = Vec::new();
    GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut json)
        .map_err(|e| CodecError::Gzip(e.to_string()))?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use serde_json::Value as Json;

    use super::*;
    use crate::release::record::Status;

    /// A release Helm 4.2.3 installed (`helm create demo`, `--set
    /// image.repository=busybox`), as its Secret held it.
    const HELM_INSTALL: &str = include_str!("../../tests/data/release/helm-4.2.3-install.b64");

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn decodes_what_helm_wrote() {
        let release = decode(HELM_INSTALL).expect("Helm's release decodes");
        assert_eq!(release.name, "rel");
        assert_eq!(release.namespace, "default");
        assert_eq!(release.version, 1);
        assert_eq!(release.status(), Status::Deployed);
        assert_eq!(release.description(), "Install complete");
        assert_eq!(release.apply_method, "ssa");
        assert_eq!(release.chart_label(), "demo-0.1.0");
        assert_eq!(release.app_version(), "1.16.0");
        assert_eq!(release.config["image"]["repository"], "busybox");
        assert_eq!(release.images(), ["busybox:1.16.0"]);
        assert_eq!(release.hooks.len(), 1);
        assert_eq!(release.hooks[0].events, ["test"]);
        assert_eq!(
            release.hooks[0].path,
            "demo/templates/tests/test-connection.yaml"
        );
        assert!(
            release
                .manifest
                .starts_with("---\n# Source: demo/templates/serviceaccount.yaml\n")
        );
        assert_eq!(
            release.updated().map(|t| t.to_string()).as_deref(),
            release
                .info
                .as_ref()
                .and_then(|i| i.last_deployed.as_deref())
        );
    }

    #[test]
    fn helm_release_round_trips_without_losing_a_field() {
        let original: Json =
            serde_json::from_slice(&decode_json(HELM_INSTALL).expect("decodes")).expect("JSON");
        let release = decode(HELM_INSTALL).expect("decodes");
        let again = decode(&encode(&release).expect("encodes")).expect("decodes again");
        assert_eq!(again, release);
        let rewritten = serde_json::to_value(&again).expect("serialises");
        assert_eq!(
            rewritten, original,
            "devloop's rewrite differs from Helm's JSON"
        );
    }

    #[test]
    fn encoding_is_base64_of_gzip_of_json() {
        let release = decode(HELM_INSTALL).expect("decodes");
        let text = encode(&release).expect("encodes");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&text)
            .expect("standard base64");
        assert!(raw.starts_with(&MAGIC_GZIP), "gzip magic");
        let json = decode_json(&text).expect("gunzips");
        let value: Json = serde_json::from_slice(&json).expect("JSON");
        assert_eq!(value["apply_method"], "ssa");
        assert_eq!(value["info"]["status"], "deployed");
    }

    type Want = Result<(&'static str, u32, Status), &'static str>;

    #[test]
    fn decode_table() {
        let plain = br#"{"name":"a","version":3,"info":{"status":"failed","first_deployed":""}}"#;
        let cases: Vec<(String, Want)> = vec![
            // Releases stored before Helm compressed them: plain JSON.
            (b64(plain), Ok(("a", 3, Status::Failed))),
            (
                b64(br#"{"name":"b","version":1,"info":{"status":"pending-upgrade"}}"#),
                Ok(("b", 1, Status::PendingUpgrade)),
            ),
            // A status this Helm does not know reads as unknown, not an error.
            (
                b64(br#"{"name":"c","version":2,"info":{"status":"exploded"}}"#),
                Ok(("c", 2, Status::Unknown)),
            ),
            (
                b64(br#"{"name":"d","config":null,"hooks":null}"#),
                Ok(("d", 0, Status::Unknown)),
            ),
            ("%%%".to_owned(), Err("not base64")),
            (b64(&[0x1f, 0x8b, 0x08, 0, 1, 2]), Err("not gzip")),
            (b64(b"[1,2]"), Err("not a release")),
        ];
        for (text, want) in cases {
            let got = decode(&text)
                .map(|r| (r.name.clone(), r.version, r.status()))
                .map_err(|e| e.to_string());
            match (got, want) {
                (Ok((name, version, status)), Ok(want)) => {
                    assert_eq!((name.as_str(), version, status), want, "{text}");
                }
                (Err(msg), Err(prefix)) => assert!(msg.starts_with(prefix), "{text}: {msg}"),
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }
}
