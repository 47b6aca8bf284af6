//! Encodings and digests: `b64enc`/`b64dec`, `b32enc`/`b32dec`,
//! `sha1sum`/`sha256sum`/`sha512sum`, `adler32sum`.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::Digest as _;

use super::arg_str;
use crate::helm::template::{Funcs, Param, Signature, Value};

type StrFn = fn(&str) -> String;

pub(super) fn register(f: &mut Funcs) {
    let ops: &[(&str, StrFn)] = &[
        ("b64enc", |s| STANDARD.encode(s)),
        ("b64dec", |s| match STANDARD.decode(s) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => go_base64_error(&e, s),
        }),
        ("b32enc", b32enc),
        ("b32dec", b32dec),
        ("sha1sum", |s| hex(&sha1::Sha1::digest(s.as_bytes()))),
        ("sha256sum", |s| hex(&sha2::Sha256::digest(s.as_bytes()))),
        ("sha512sum", |s| hex(&sha2::Sha512::digest(s.as_bytes()))),
        ("adler32sum", |s| adler32(s.as_bytes()).to_string()),
    ];
    for (name, op) in ops {
        let op = *op;
        f.register(name, Signature::fixed(&[Param::String]), move |_, args| {
            Ok(Value::from(op(arg_str(args, 0))))
        });
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Go's `base64.CorruptInputError` text.
fn go_base64_error(e: &base64::DecodeError, s: &str) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(i, _) | base64::DecodeError::InvalidLastSymbol(i, _) => *i,
        base64::DecodeError::InvalidLength(n) => *n,
        base64::DecodeError::InvalidPadding => s.len(),
    };
    format!("illegal base64 data at input byte {at}")
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &d in data {
        a = (a + u32::from(d)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32enc(s: &str) -> String {
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(char::from(
                    B32[usize::try_from((n >> (35 - 5 * i)) & 31).unwrap_or(0)],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32dec(s: &str) -> String {
    let mut bits = 0u64;
    let mut nbits = 0;
    let mut out = Vec::new();
    for (i, c) in s.bytes().enumerate() {
        if c == b'=' {
            break;
        }
        let Some(v) = B32.iter().position(|&b| b == c) else {
            return format!("illegal base32 data at input byte {i}");
        };
        bits = (bits << 5) | v as u64;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push(u8::try_from((bits >> nbits) & 0xff).unwrap_or(0));
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
