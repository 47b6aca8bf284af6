//! Literals as Go's parser reads them: numbers (`NumberNode`'s int, uint
//! and float readings, character constants, Go's overflow and syntax
//! errors) and quoted strings (`strconv.Unquote`).

use super::super::ast::Number;

/// Go's `NumberNode` readings of a literal (`strconv` rules, loosely).
pub(super) fn number(text: &str, is_char: bool) -> Result<Number, String> {
    if is_char {
        return char_number(text);
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    if let Some(h) = lower.strip_prefix("0x")
        && h.contains('p')
    {
        let f = hex_float(h).ok_or_else(|| {
            format!(
                "illegal number syntax: {}",
                super::super::fmt::quote(text, false)
            )
        })?;
        let f = if neg { -f } else { f };
        #[allow(clippy::cast_possible_truncation)]
        let int = if f.fract() == 0.0 && f.abs() < 9.2e18 {
            Some(f as i64)
        } else {
            None
        };
        return Ok(Number {
            text: text.to_owned(),
            int,
            float: Some(f),
            uint_only: false,
        });
    }
    let parsed_int: Option<u64> = if let Some(h) = lower.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        u64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        u64::from_str_radix(b, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        u64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse::<u64>().ok()
    };
    if let Some(u) = parsed_int {
        let int = if neg {
            i64::try_from(u)
                .ok()
                .map(|v| -v)
                .or(if u == 1 << 63 { Some(i64::MIN) } else { None })
        } else {
            i64::try_from(u).ok()
        };
        #[allow(clippy::cast_precision_loss)]
        let f = if neg { -(u as f64) } else { u as f64 };
        return Ok(Number {
            text: text.to_owned(),
            int,
            float: Some(f),
            uint_only: int.is_none() && !neg,
        });
    }
    match clean.parse::<f64>() {
        Ok(_) if !clean.contains(['.', 'e', 'E', 'p', 'P']) || lower.starts_with("0x") => {
            Err(format!(
                "integer overflow: {}",
                super::super::fmt::quote(text, false)
            ))
        }
        Ok(f)
            if f.is_finite()
                && !lower.starts_with("0x")
                && !lower.contains("inf")
                && !lower.contains("nan") =>
        {
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            let int = if f.fract() == 0.0 && f.abs() < 9.2e18 {
                Some(f as i64)
            } else {
                None
            };
            Ok(Number {
                text: text.to_owned(),
                int,
                float: Some(f),
                uint_only: false,
            })
        }
        _ => Err(format!(
            "illegal number syntax: {}",
            super::super::fmt::quote(text, false)
        )),
    }
}

/// A hexadecimal float's digits after `0x`: `1.8p4`.
fn hex_float(h: &str) -> Option<f64> {
    let (mantissa, exp) = h.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut value = 0f64;
    for d in int.chars() {
        value = value * 16.0 + f64::from(d.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for d in frac.chars() {
        value += f64::from(d.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exp))
}

/// A character constant (`'a'`, `'\n'`) as the rune's number.
fn char_number(text: &str) -> Result<Number, String> {
    let inner =
        unquote_char(text).ok_or_else(|| format!("malformed character constant: {text}"))?;
    let v = i64::from(u32::from(inner));
    #[allow(clippy::cast_precision_loss)]
    Ok(Number {
        text: text.to_owned(),
        int: Some(v),
        float: Some(v as f64),
        uint_only: false,
    })
}

/// Go's `strconv.Unquote` for "..." and `...` literals.
pub fn unquote(quoted: &str) -> Option<String> {
    if let Some(raw) = quoted.strip_prefix('`') {
        return Some(raw.strip_suffix('`')?.replace('\r', ""));
    }
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(unescape(&mut chars, '"')?);
    }
    Some(out)
}

pub(super) fn unquote_char(quoted: &str) -> Option<char> {
    let inner = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut chars = inner.chars();
    let c = match chars.next()? {
        '\\' => unescape(&mut chars, '\'')?,
        c => c,
    };
    if chars.next().is_some() {
        return None;
    }
    Some(c)
}

fn unescape(chars: &mut std::str::Chars<'_>, quote: char) -> Option<char> {
    let c = chars.next()?;
    Some(match c {
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        '\\' => '\\',
        c if c == quote => c,
        'x' => hex_char(chars, 2)?,
        'u' => hex_char(chars, 4)?,
        'U' => hex_char(chars, 8)?,
        '0'..='7' => {
            let mut v = c.to_digit(8)?;
            for _ in 0..2 {
                v = v * 8 + chars.next()?.to_digit(8)?;
            }
            char::from_u32(v)?
        }
        _ => return None,
    })
}

fn hex_char(chars: &mut std::str::Chars<'_>, n: usize) -> Option<char> {
    let mut v = 0u32;
    for _ in 0..n {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    char::from_u32(v)
}
