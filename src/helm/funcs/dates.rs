//! Dates (UTC; Helm's renders run with `Local` = UTC in containers): `now`,
//! `date`, `dateInZone` (UTC only), `htmlDate`, `htmlDateInZone`,
//! `toDate`/`mustToDate`, `unixEpoch`, `dateModify`/`mustDateModify`,
//! `ago`, `duration`. Times are `time.Time` objects formatted with Go's
//! reference-time layouts (`2006-01-02T15:04:05Z07:00`).

use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::arg_str;
use crate::helm::template::{FuncError, Funcs, Object, Param, Signature, Value};

/// A UTC instant: seconds since the epoch and nanoseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Time {
    secs: i64,
    nanos: u32,
}

impl Time {
    fn now() -> Time {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Time {
            secs: i64::try_from(d.as_secs()).unwrap_or(0),
            nanos: d.subsec_nanos(),
        }
    }

    /// (year, month, day, hour, minute, second, weekday 0=Sunday, yday)
    #[allow(clippy::type_complexity, clippy::many_single_char_names)]
    fn civil(self) -> (i64, u32, u32, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let yday = u32::try_from(days - days_from_civil(y, 1, 1) + 1).unwrap_or(1);
        let wd = u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0);
        let sod = u32::try_from(sod).unwrap_or(0);
        (y, m, d, sod / 3600, sod / 60 % 60, sod % 60, wd, yday)
    }
}

pub(super) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The layout tokens Go recognises, longest first where they share a prefix.
const TOKENS: &[&str] = &[
    "January",
    "Jan",
    "Monday",
    "Mon",
    "MST",
    "2006",
    "-07:00:00",
    "-0700",
    "-07:00",
    "-07",
    "Z07:00:00",
    "Z0700",
    "Z07:00",
    "Z07",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "002",
    "15",
    "1",
    "2",
    "_2",
    "3",
    "4",
    "5",
    "PM",
    "pm",
];

#[allow(clippy::many_single_char_names)] // calendar fields
fn format(t: Time, layout: &str) -> String {
    let (y, mo, d, h, mi, s, wd, yday) = t.civil();
    let mut out = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        // Fractional seconds: .000 / ,000 / .999
        if let Some(c) = rest.chars().next()
            && (c == '.' || c == ',')
            && rest[1..].starts_with(['0', '9'])
        {
            let digit = rest.as_bytes()[1];
            let n = rest[1..].bytes().take_while(|b| *b == digit).count();
            if !rest[1 + n..].starts_with(|c: char| c.is_ascii_digit()) {
                let frac = format!("{:09}", t.nanos);
                let frac = &frac[..n.min(9)];
                if digit == b'0' {
                    out.push(c);
                    out.push_str(frac);
                } else {
                    let trimmed = frac.trim_end_matches('0');
                    if !trimmed.is_empty() {
                        out.push(c);
                        out.push_str(trimmed);
                    }
                }
                rest = &rest[1 + n..];
                continue;
            }
        }
        let Some(tok) = TOKENS.iter().find(|t| rest.starts_with(**t)) else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        let month = MONTHS[usize::try_from(mo - 1).unwrap_or(0)];
        let day = DAYS[usize::try_from(wd).unwrap_or(0)];
        let h12 = if h % 12 == 0 { 12 } else { h % 12 };
        let text = match *tok {
            "January" => month.to_owned(),
            "Jan" => month[..3].to_owned(),
            "Monday" => day.to_owned(),
            "Mon" => day[..3].to_owned(),
            "MST" => "UTC".to_owned(),
            "2006" => format!("{y:04}"),
            "06" => format!("{:02}", y.rem_euclid(100)),
            "-07:00:00" => "+00:00:00".to_owned(),
            "-0700" => "+0000".to_owned(),
            "-07:00" => "+00:00".to_owned(),
            "-07" => "+00".to_owned(),
            "Z07:00:00" | "Z0700" | "Z07:00" | "Z07" => "Z".to_owned(),
            "01" => format!("{mo:02}"),
            "1" => mo.to_string(),
            "02" => format!("{d:02}"),
            "2" => d.to_string(),
            "_2" => format!("{d:>2}"),
            "002" => format!("{yday:03}"),
            "15" => format!("{h:02}"),
            "03" => format!("{h12:02}"),
            "3" => h12.to_string(),
            "04" => format!("{mi:02}"),
            "4" => mi.to_string(),
            "05" => format!("{s:02}"),
            "5" => s.to_string(),
            "PM" => (if h >= 12 { "PM" } else { "AM" }).to_owned(),
            _ => (if h >= 12 { "pm" } else { "am" }).to_owned(),
        };
        out.push_str(&text);
        rest = &rest[tok.len()..];
    }
    out
}

/// Go's `time.Parse` for numeric layouts (years, months, days, clock,
/// fractions, `Z`/offsets, month and day names).
#[allow(clippy::many_single_char_names, clippy::too_many_lines)] // calendar fields
fn parse(layout: &str, value: &str) -> Option<Time> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut nanos) =
        (1i64, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let (mut pm, mut offset) = (None, 0i64);
    let mut l = layout;
    let mut v = value;
    let take_num = |v: &mut &str, min: usize, max: usize| -> Option<i64> {
        let n = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if n < min {
            return None;
        }
        let r = v[..n].parse().ok();
        *v = &v[n..];
        r
    };
    while !l.is_empty() {
        if l.starts_with(['.', ',']) && l[1..].starts_with(['0', '9']) {
            let n = l[1..]
                .bytes()
                .take_while(|b| *b == b'0' || *b == b'9')
                .count();
            l = &l[1 + n..];
            if v.starts_with(['.', ',']) {
                v = &v[1..];
                let digits = v.bytes().take_while(u8::is_ascii_digit).count();
                let frac = format!("{:0<9}", &v[..digits.min(9)]);
                nanos = frac.parse().ok()?;
                v = &v[digits..];
            }
            continue;
        }
        let Some(tok) = TOKENS.iter().find(|t| l.starts_with(**t)) else {
            let c = l.chars().next()?;
            v = v.strip_prefix(c)?;
            l = &l[c.len_utf8()..];
            continue;
        };
        match *tok {
            "2006" => y = take_num(&mut v, 4, 4)?,
            "06" => y = 1900 + take_num(&mut v, 2, 2)?,
            "01" => mo = u32::try_from(take_num(&mut v, 2, 2)?).ok()?,
            "1" => mo = u32::try_from(take_num(&mut v, 1, 2)?).ok()?,
            "02" => d = u32::try_from(take_num(&mut v, 2, 2)?).ok()?,
            "2" | "_2" => {
                v = v.trim_start_matches(' ');
                d = u32::try_from(take_num(&mut v, 1, 2)?).ok()?;
            }
            "15" | "03" | "3" => h = u32::try_from(take_num(&mut v, 1, 2)?).ok()?,
            "04" | "4" => mi = u32::try_from(take_num(&mut v, 1, 2)?).ok()?,
            "05" | "5" => s = u32::try_from(take_num(&mut v, 1, 2)?).ok()?,
            "PM" | "pm" => {
                let p = v.get(..2)?.to_ascii_uppercase();
                pm = Some(p == "PM");
                v = &v[2..];
            }
            "January" | "Jan" => {
                let i = MONTHS.iter().position(|m| {
                    let m = if *tok == "Jan" { &m[..3] } else { m };
                    v.starts_with(m)
                })?;
                mo = u32::try_from(i + 1).ok()?;
                v = &v[if *tok == "Jan" { 3 } else { MONTHS[i].len() }..];
            }
            "Monday" | "Mon" => {
                let i = DAYS.iter().position(|dn| {
                    let dn = if *tok == "Mon" { &dn[..3] } else { dn };
                    v.starts_with(dn)
                })?;
                v = &v[if *tok == "Mon" { 3 } else { DAYS[i].len() }..];
            }
            "MST" => {
                let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                v = &v[n..];
            }
            t => {
                // Zone offsets.
                if t.starts_with('Z') && v.starts_with('Z') {
                    v = &v[1..];
                } else {
                    let sign = match v.as_bytes().first()? {
                        b'+' => 1,
                        b'-' => -1,
                        _ => return None,
                    };
                    v = &v[1..];
                    let oh = take_num(&mut v, 2, 2)?;
                    v = v.strip_prefix(':').unwrap_or(v);
                    let om = take_num(&mut v, 0, 2).unwrap_or(0);
                    offset = sign * (oh * 3600 + om * 60);
                }
            }
        }
        l = &l[tok.len()..];
    }
    if !v.is_empty()
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || s > 59
    {
        return None;
    }
    if let Some(pm) = pm {
        h = h % 12 + if pm { 12 } else { 0 };
    }
    let days = days_from_civil(y, mo, d);
    Some(Time {
        secs: days * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset,
        nanos,
    })
}

#[derive(Debug)]
struct TimeValue(Time);

impl Object for TimeValue {
    fn type_name(&self) -> &'static str {
        "time.Time"
    }

    fn display(&self) -> String {
        format(self.0, "2006-01-02 15:04:05.999999999 -0700 MST")
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(format(self.0, "2006-01-02T15:04:05.999999999Z07:00"))
    }
}

fn time_value(t: Time) -> Value {
    Value::Object(Rc::new(TimeValue(t)))
}

/// Sprig's date argument: a time, or unix seconds; anything else is now.
fn time_of(v: &Value) -> Time {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => {
            // Reparse our own RFC 3339 form (objects are opaque here).
            let text = o.to_json();
            text.as_str()
                .and_then(|s| parse("2006-01-02T15:04:05Z07:00", s))
                .unwrap_or_else(Time::now)
        }
        Value::Int(i) | Value::Int64(i) => Time { secs: *i, nanos: 0 },
        _ => Time::now(),
    }
}

/// Go's `time.Duration.String` for whole seconds.
fn duration_string(secs: i64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{sign}{m}m{s}s")
    } else {
        format!("{sign}{s}s")
    }
}

/// Go's `time.ParseDuration`, in nanoseconds.
fn parse_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .bytes()
            .take_while(|b| !b.is_ascii_digit() && *b != b'.')
            .count();
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * unit;
        rest = &rest[u..];
    }
    #[allow(clippy::cast_possible_truncation)]
    let ns = total.round() as i128;
    Some(if neg { -ns } else { ns })
}

#[allow(clippy::too_many_lines)] // one registration table
pub(super) fn register(f: &mut Funcs) {
    f.register("now", Signature::fixed(&[]), |_, _| {
        Ok(time_value(Time::now()))
    });
    f.register(
        "date",
        Signature::fixed(&[Param::String, Param::Any]),
        |_, args| Ok(Value::from(format(time_of(&args[1]), arg_str(args, 0)))),
    );
    for name in ["dateInZone", "date_in_zone"] {
        f.register(
            name,
            Signature::fixed(&[Param::String, Param::Any, Param::String]),
            |_, args| Ok(Value::from(format(time_of(&args[1]), arg_str(args, 0)))),
        );
    }
    f.register("htmlDate", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::from(format(time_of(&args[0]), "2006-01-02")))
    });
    f.register(
        "htmlDateInZone",
        Signature::fixed(&[Param::Any, Param::String]),
        |_, args| Ok(Value::from(format(time_of(&args[0]), "2006-01-02"))),
    );
    f.register(
        "toDate",
        Signature::fixed(&[Param::String, Param::String]),
        |_, args| {
            Ok(time_value(
                parse(arg_str(args, 0), arg_str(args, 1)).unwrap_or(Time {
                    secs: -62_135_596_800,
                    nanos: 0,
                }),
            ))
        },
    );
    f.register(
        "mustToDate",
        Signature::fixed(&[Param::String, Param::String]),
        |_, args| {
            let (l, v) = (arg_str(args, 0), arg_str(args, 1));
            parse(l, v)
                .map(time_value)
                .ok_or_else(|| FuncError::new(format!("parsing time {v:?} as {l:?}: cannot parse")))
        },
    );
    f.register("unixEpoch", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::from(time_of(&args[0]).secs.to_string()))
    });
    for (name, must) in [
        ("dateModify", false),
        ("date_modify", false),
        ("mustDateModify", true),
        ("must_date_modify", true),
    ] {
        f.register(
            name,
            Signature::fixed(&[Param::String, Param::Any]),
            move |_, args| {
                let t = time_of(&args[1]);
                let Some(ns) = parse_duration(arg_str(args, 0)) else {
                    return if must {
                        Err(FuncError::new(format!(
                            "time: invalid duration {}",
                            super::fmt::quote(arg_str(args, 0), false)
                        )))
                    } else {
                        Ok(time_value(t))
                    };
                };
                let total = i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos) + ns;
                Ok(time_value(Time {
                    secs: i64::try_from(total.div_euclid(1_000_000_000)).unwrap_or(0),
                    nanos: u32::try_from(total.rem_euclid(1_000_000_000)).unwrap_or(0),
                }))
            },
        );
    }
    f.register(
        "durationRound",
        Signature::fixed(&[Param::Any]),
        |_, args| {
            let ns: i128 = match &args[0] {
                Value::String(s) => parse_duration(s).unwrap_or(0),
                Value::Int64(i) => i128::from(*i),
                v @ Value::Object(_) => {
                    i128::from(Time::now().secs - time_of(v).secs) * 1_000_000_000
                }
                _ => 0,
            };
            let u = ns.unsigned_abs();
            let (second, minute, hour) =
                (1_000_000_000u128, 60_000_000_000u128, 3_600_000_000_000u128);
            let (day, month, year) = (hour * 24, hour * 24 * 30, hour * 24 * 365);
            let text = [
                (year, "y"),
                (month, "mo"),
                (day, "d"),
                (hour, "h"),
                (minute, "m"),
                (second, "s"),
            ]
            .iter()
            .find(|(unit, _)| u > *unit)
            .map_or_else(
                || "0s".to_owned(),
                |(unit, suffix)| format!("{}{suffix}", u / unit),
            );
            Ok(Value::from(text))
        },
    );
    f.register("ago", Signature::fixed(&[Param::Any]), |_, args| {
        let t = time_of(&args[0]);
        Ok(Value::from(duration_string(Time::now().secs - t.secs)))
    });
    // Sprig's `duration` takes an int64 or a numeric string; anything
    // else (a template int, a float) is 0.
    f.register("duration", Signature::fixed(&[Param::Any]), |_, args| {
        let secs = match &args[0] {
            Value::Int64(i) => *i,
            Value::String(s) => s.parse().unwrap_or(0),
            _ => 0,
        };
        Ok(Value::from(duration_string(secs)))
    });
}
