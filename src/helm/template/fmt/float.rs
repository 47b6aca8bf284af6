//! Go's float formatting (`strconv.FormatFloat` as `fmt` uses it): `%v`
//! and `%g` shortest digits with Go's exponent rule (`1e+06`), `%e`, `%f`,
//! precision, and `%x` hexadecimal floats.

use super::Spec;

/// Go's `strconv.FormatFloat` for the verbs `fmt` maps floats to, with the
/// sign flags applied.
pub(super) fn format_float(f: f64, verb: char, spec: Spec) -> String {
    let mut s = if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        match verb {
            'e' | 'E' => exp_form(f, spec.prec.unwrap_or(6), verb == 'E'),
            'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), f),
            'g' | 'G' => g_form(f, spec.prec, verb == 'G'),
            _ => g_form(f, None, false),
        }
    };
    if f.is_infinite() && !spec.plus {
        if let Some(rest) = s.strip_prefix('+') {
            s = if spec.space {
                format!(" {rest}")
            } else {
                rest.to_owned()
            };
        }
    } else if !s.starts_with('-') && !s.starts_with('+') {
        if spec.plus {
            s.insert(0, '+');
        } else if spec.space {
            s.insert(0, ' ');
        }
    }
    s
}

/// Formats `f` in Go's `%e` with `prec` digits after the point.
fn exp_form(f: f64, prec: usize, upper: bool) -> String {
    let rust = format!("{f:.prec$e}");
    go_exponent(&rust, upper)
}

/// Rewrites Rust's `1.5e6` as Go's `1.5e+06`.
fn go_exponent(rust: &str, upper: bool) -> String {
    let (mantissa, exp) = rust.split_once('e').unwrap_or((rust, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{sign}{:02}", exp.abs())
}

/// Decimal digits and exponent of `f` rounded to `prec` significant digits
/// (shortest round-trip digits when `None`), trailing zeros removed.
fn digits(f: f64, prec: Option<usize>) -> (bool, String, i32) {
    let rust = match prec {
        Some(p) => format!("{:.*e}", p.saturating_sub(1), f.abs()),
        None => format!("{:e}", f.abs()),
    };
    let (mantissa, exp) = rust.split_once('e').unwrap_or((&rust, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut ds: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while ds.len() > 1 && ds.ends_with('0') {
        ds.pop();
    }
    (f.is_sign_negative(), ds, exp)
}

/// Go's `%g` (shortest when `prec` is `None`).
fn g_form(f: f64, prec: Option<usize>, upper: bool) -> String {
    let prec = prec.map(|p| p.max(1));
    let (neg, ds, exp) = digits(f, prec);
    let nd = i32::try_from(ds.len()).unwrap_or(i32::MAX);
    let dp = exp + 1;
    let mut eprec = prec.map_or(6, |p| i32::try_from(p).unwrap_or(i32::MAX));
    if prec.is_some() && eprec > nd && nd >= dp {
        eprec = nd;
    }
    if prec.is_none() {
        eprec = 6;
    }
    let sign = if neg { "-" } else { "" };
    if exp < -4 || exp >= eprec {
        let mut m = ds[..1].to_owned();
        if ds.len() > 1 {
            m.push('.');
            m.push_str(&ds[1..]);
        }
        format!("{sign}{}", go_exponent(&format!("{m}e{exp}"), upper))
    } else if dp <= 0 {
        let zeros = "0".repeat(usize::try_from(-dp).unwrap_or(0));
        format!("{sign}0.{zeros}{ds}")
    } else if dp >= nd {
        let zeros = "0".repeat(usize::try_from(dp - nd).unwrap_or(0));
        format!("{sign}{ds}{zeros}")
    } else {
        let dp = usize::try_from(dp).unwrap_or(0);
        format!("{sign}{}.{}", &ds[..dp], &ds[dp..])
    }
}

/// Go's `%x` of a float64: `0x1.8p+00`.
pub(super) fn hex_float(f: f64, upper: bool) -> String {
    if !f.is_finite() {
        return format_float(f, 'g', Spec::default());
    }
    let bits = f.to_bits();
    let neg = bits >> 63 == 1;
    let mut exp = i64::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let mut mant = bits & ((1 << 52) - 1);
    let s = if exp == 0 && mant == 0 {
        "0x0p+00".to_owned()
    } else {
        if exp == 0 {
            // Subnormal: normalise so the leading digit is 1.
            exp = 1;
            while mant & (1 << 52) == 0 {
                mant <<= 1;
                exp -= 1;
            }
            mant &= (1 << 52) - 1;
        }
        let exp = exp - 1023;
        let mut digits = format!("{mant:013x}");
        while digits.ends_with('0') {
            digits.pop();
        }
        let frac = if digits.is_empty() {
            String::new()
        } else {
            format!(".{digits}")
        };
        let sign = if exp < 0 { '-' } else { '+' };
        format!("0x1{frac}p{sign}{:02}", exp.abs())
    };
    let s = if neg { format!("-{s}") } else { s };
    if upper { s.to_uppercase() } else { s }
}
