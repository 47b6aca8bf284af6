//! Random values: `randAlphaNum`, `randAlpha`, `randNumeric`, `randAscii`,
//! `randInt`, `uuidv4`, `shuffle`. Output differs every render, as Helm's
//! does; tests check shape only.

use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};

use super::{arg_int, arg_str};
use crate::helm::template::{FuncError, Funcs, Param, Signature, Value};

/// A random u64 from the OS-seeded hasher keys (no crate needed).
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    h.finish()
}

fn random_below(n: u64) -> u64 {
    if n == 0 { 0 } else { random_u64() % n }
}

fn random_from(chars: &[u8], n: i64) -> String {
    let n = usize::try_from(n).unwrap_or(0);
    (0..n)
        .map(|_| char::from(chars[usize::try_from(random_below(chars.len() as u64)).unwrap_or(0)]))
        .collect()
}

const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const NUM: &[u8] = b"0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub(super) fn register(f: &mut Funcs) {
    f.register("randAlphaNum", Signature::fixed(&[Param::Int]), |_, a| {
        Ok(Value::from(random_from(ALNUM, arg_int(a, 0))))
    });
    f.register("randAlpha", Signature::fixed(&[Param::Int]), |_, a| {
        Ok(Value::from(random_from(ALPHA, arg_int(a, 0))))
    });
    f.register("randNumeric", Signature::fixed(&[Param::Int]), |_, a| {
        Ok(Value::from(random_from(NUM, arg_int(a, 0))))
    });
    f.register("randAscii", Signature::fixed(&[Param::Int]), |_, a| {
        let printable: Vec<u8> = (32u8..=126).collect();
        Ok(Value::from(random_from(&printable, arg_int(a, 0))))
    });
    f.register(
        "randInt",
        Signature::fixed(&[Param::Int, Param::Int]),
        |_, a| {
            let (min, max) = (arg_int(a, 0), arg_int(a, 1));
            let span = u64::try_from(max - min)
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| FuncError::new("invalid argument to Intn"))?;
            Ok(Value::Int(
                min + i64::try_from(random_below(span)).unwrap_or(0),
            ))
        },
    );
    f.register("randBytes", Signature::fixed(&[Param::Int]), |_, a| {
        use base64::Engine as _;
        let n = usize::try_from(arg_int(a, 0)).unwrap_or(0);
        let bytes: Vec<u8> = (0..n).map(|_| random_u64().to_le_bytes()[0]).collect();
        Ok(Value::from(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        ))
    });
    f.register("uuidv4", Signature::fixed(&[]), |_, _| {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&random_u64().to_le_bytes());
        b[8..].copy_from_slice(&random_u64().to_le_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().fold(String::new(), |mut acc, x| {
            let _ = write!(acc, "{x:02x}");
            acc
        });
        Ok(Value::from(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )))
    });
    f.register("shuffle", Signature::fixed(&[Param::String]), |_, a| {
        let mut chars: Vec<char> = arg_str(a, 0).chars().collect();
        for i in (1..chars.len()).rev() {
            let j = usize::try_from(random_below(i as u64 + 1)).unwrap_or(0);
            chars.swap(i, j);
        }
        Ok(Value::from(chars.into_iter().collect::<String>()))
    });
}
