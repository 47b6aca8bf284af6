//! Helm's `--set` language (`pkg/strvals`): `a.b=c,d[0]=e,f={x,y}`, with
//! `\` escapes, typed values (`true`, `null`, int64s not starting with 0)
//! for `--set`, strings for `--set-string`, file contents for `--set-file`
//! and JSON for `--set-json`. Parses into an existing map, as
//! `strvals.ParseInto` does, so later expressions update earlier ones.

use serde_json::{Map, Value as Json};

/// What a value's text becomes.
#[derive(Clone, Copy)]
pub enum Reader<'f> {
    Typed,
    String,
    /// `--set-file`: the text is a path whose content is the value.
    File(&'f dyn Fn(&str) -> Result<String, String>),
    Json,
}

/// Helm's limit on `a.b.c...` depth.
const MAX_NESTED_NAME_LEVEL: usize = 30;

enum Stop {
    Eof,
    At(char),
}

/// Parses `expr` into `data`.
pub fn parse_into(
    expr: &str,
    data: &mut Map<String, Json>,
    reader: Reader<'_>,
) -> Result<(), String> {
    let mut p = Parser {
        chars: expr.chars().collect(),
        pos: 0,
        reader,
    };
    loop {
        match p.key(data, 0) {
            Ok(()) => {}
            Err(Error::Eof) => return Ok(()),
            Err(Error::Msg(m)) => return Err(m),
        }
    }
}

enum Error {
    Eof,
    Msg(String),
}

impl From<String> for Error {
    fn from(m: String) -> Self {
        Error::Msg(m)
    }
}

struct Parser<'f> {
    chars: Vec<char>,
    pos: usize,
    reader: Reader<'f>,
}

/// Go's `%q` of a key.
fn q(s: &str) -> String {
    crate::helm::template::fmt::quote(s, false)
}

impl Parser<'_> {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn until(&mut self, stop: &[char]) -> (String, Stop) {
        let mut v = String::new();
        loop {
            match self.next() {
                None => return (v, Stop::Eof),
                Some(c) if stop.contains(&c) => return (v, Stop::At(c)),
                Some('\\') => match self.next() {
                    None => return (v, Stop::Eof),
                    Some(n) => v.push(n),
                },
                Some(c) => v.push(c),
            }
        }
    }

    fn read(&self, text: &str) -> Result<Json, String> {
        Ok(match self.reader {
            Reader::String => Json::String(text.to_owned()),
            Reader::File(f) => Json::String(f(text)?),
            Reader::Typed | Reader::Json => typed(text),
        })
    }

    fn key(&mut self, data: &mut Map<String, Json>, level: usize) -> Result<(), Error> {
        let (k, stop) = self.until(&['=', '[', ',', '.']);
        match stop {
            Stop::Eof => {
                if k.is_empty() {
                    return Err(Error::Eof);
                }
                Err(format!("key {} has no value", q(&k)).into())
            }
            Stop::At('[') => {
                let i = self.index()?;
                let mut list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Json::Array(l)) => l.clone(),
                    Some(other) => return Err(conversion(other, "[]interface {}").into()),
                };
                let res = self.list_item(&mut list, i, level);
                set(data, &k, Json::Array(list));
                res
            }
            Stop::At('=') => self.value_for_key(data, &k),
            Stop::At(',') => {
                set(data, &k, Json::String(String::new()));
                Err(format!("key {} has no value (cannot end with ,)", q(&k)).into())
            }
            Stop::At(_) => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(format!("value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}").into());
                }
                let mut inner = match data.get(&k) {
                    None => Map::new(),
                    Some(Json::Object(m)) => m.clone(),
                    Some(other) => return Err(conversion(other, "map[string]interface {}").into()),
                };
                let res = self.key(&mut inner, level);
                if res.is_ok() && inner.is_empty() {
                    return Err(format!("key map {} has no value", q(&k)).into());
                }
                if !inner.is_empty() {
                    set(data, &k, Json::Object(inner));
                }
                res
            }
        }
    }

    fn value_for_key(&mut self, data: &mut Map<String, Json>, k: &str) -> Result<(), Error> {
        if matches!(self.reader, Reader::Json) {
            if self.empty_val() {
                set(data, k, Json::Null);
                return Ok(());
            }
            let v = self.json_value()?;
            set(data, k, v);
            self.empty_val();
            return Ok(());
        }
        match self.val_list() {
            ListResult::List(l) => {
                set(data, k, Json::Array(l?));
                Ok(())
            }
            ListResult::Eof => {
                set(data, k, Json::String(String::new()));
                Err(Error::Eof)
            }
            ListResult::NotList => {
                let (rs, _) = self.until(&[',']);
                let v = self.read(&rs)?;
                set(data, k, v);
                Ok(())
            }
        }
    }

    fn json_value(&mut self) -> Result<Json, String> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Json>();
        let v = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => return Err(go_json_error(&e)),
            None => return Err("EOF".to_owned()),
        };
        let used = rest[..stream.byte_offset()].chars().count();
        self.pos += used;
        Ok(to_float_numbers(v))
    }

    /// Consumes blanks and one comma; true at a comma or the end.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.chars.get(self.pos) {
                None => return true,
                Some(',') => {
                    self.pos += 1;
                    return true;
                }
                Some(c) if c.is_whitespace() => self.pos += 1,
                Some(_) => return false,
            }
        }
    }

    fn index(&mut self) -> Result<i64, Error> {
        let (v, stop) = self.until(&[']']);
        if matches!(stop, Stop::Eof) {
            return Err(Error::Eof);
        }
        v.parse::<i64>().map_err(|_| {
            Error::Msg(format!(
                "error parsing index: strconv.Atoi: parsing {}: invalid syntax",
                q(&v)
            ))
        })
    }

    fn list_item(&mut self, list: &mut Vec<Json>, i: i64, level: usize) -> Result<(), Error> {
        if i < 0 {
            return Err(format!("negative {i} index not allowed").into());
        }
        let (k, stop) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return Err(format!("unexpected data at end of array index: {}", q(&k)).into());
        }
        match stop {
            Stop::Eof => Err(Error::Eof),
            Stop::At('=') => {
                if matches!(self.reader, Reader::Json) {
                    if self.empty_val() {
                        return set_index(list, i, Json::Null);
                    }
                    let v = self.json_value()?;
                    set_index(list, i, v)?;
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    ListResult::List(l) => set_index(list, i, Json::Array(l?)),
                    ListResult::Eof => set_index(list, i, Json::String(String::new())),
                    ListResult::NotList => {
                        let (rs, _) = self.until(&[',']);
                        let v = self.read(&rs)?;
                        set_index(list, i, v)
                    }
                }
            }
            Stop::At('[') => {
                let next = self.index()?;
                let idx = usize::try_from(i).unwrap_or(usize::MAX);
                let mut inner = match list.get(idx) {
                    Some(Json::Array(l)) => l.clone(),
                    Some(Json::Null) | None => Vec::new(),
                    Some(other) => return Err(conversion(other, "[]interface {}").into()),
                };
                self.list_item(&mut inner, next, level)?;
                set_index(list, i, Json::Array(inner))
            }
            Stop::At(_) => {
                let idx = usize::try_from(i).unwrap_or(usize::MAX);
                let mut inner = match list.get(idx) {
                    Some(Json::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                self.key(&mut inner, level)?;
                set_index(list, i, Json::Object(inner))
            }
        }
    }

    fn val_list(&mut self) -> ListResult {
        match self.chars.get(self.pos) {
            None => return ListResult::Eof,
            Some('{') => self.pos += 1,
            Some(_) => return ListResult::NotList,
        }
        let mut list = Vec::new();
        loop {
            let (rs, stop) = self.until(&[',', '}']);
            match stop {
                Stop::Eof => {
                    return ListResult::List(Err(Error::Msg(
                        "list must terminate with '}'".to_owned(),
                    )));
                }
                Stop::At('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    return ListResult::List(match self.read(&rs) {
                        Ok(v) => {
                            list.push(v);
                            Ok(list)
                        }
                        Err(e) => Err(Error::Msg(e)),
                    });
                }
                Stop::At(_) => match self.read(&rs) {
                    Ok(v) => list.push(v),
                    Err(e) => return ListResult::List(Err(Error::Msg(e))),
                },
            }
        }
    }
}

enum ListResult {
    List(Result<Vec<Json>, Error>),
    Eof,
    NotList,
}

fn set(data: &mut Map<String, Json>, key: &str, val: Json) {
    if !key.is_empty() {
        data.insert(key.to_owned(), val);
    }
}

fn set_index(list: &mut Vec<Json>, i: i64, val: Json) -> Result<(), Error> {
    let idx =
        usize::try_from(i).map_err(|_| Error::Msg(format!("negative {i} index not allowed")))?;
    // Helm panics (and reports) on absurd indexes; keep memory sane.
    if idx > 65_536 {
        return Err(format!(
            "error processing index {i}: runtime error: makeslice: len out of range"
        )
        .into());
    }
    if list.len() <= idx {
        list.resize(idx + 1, Json::Null);
    }
    list[idx] = val;
    Ok(())
}

fn conversion(v: &Json, want: &str) -> String {
    let have = match v {
        Json::Null => "nil",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float64",
        Json::Number(_) => "int64",
        Json::String(_) => "string",
        Json::Array(_) => "[]interface {}",
        Json::Object(_) => "map[string]interface {}",
    };
    format!("unable to parse key: interface conversion: interface {{}} is {have}, not {want}")
}

/// strvals' `typedVal` for `--set`.
pub fn typed(text: &str) -> Json {
    if text.eq_ignore_ascii_case("true") {
        return Json::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Json::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Json::Null;
    }
    if text == "0" {
        return Json::from(0_i64);
    }
    if !text.is_empty()
        && !text.starts_with('0')
        && let Some(i) = parse_int(text)
    {
        return Json::from(i);
    }
    Json::String(text.to_owned())
}

/// Go's `strconv.ParseInt(s, 10, 64)` (a sign, then digits).
fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

/// JSON as Go's `encoding/json` reads it into `interface{}`: numbers are
/// float64.
pub fn to_float_numbers(v: Json) -> Json {
    match v {
        Json::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number),
        Json::Array(items) => Json::Array(items.into_iter().map(to_float_numbers).collect()),
        Json::Object(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| (k, to_float_numbers(v)))
                .collect(),
        ),
        v => v,
    }
}

fn go_json_error(e: &serde_json::Error) -> String {
    if e.is_eof() {
        "unexpected EOF".to_owned()
    } else {
        format!("invalid character in JSON value: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(expr: &str) -> Result<Json, String> {
        let mut m = Map::new();
        parse_into(expr, &mut m, Reader::Typed)?;
        Ok(Json::Object(m))
    }

    #[test]
    fn helm_set_expressions() {
        let cases = [
            ("a=b", r#"{"a":"b"}"#),
            (
                "a=1,b=true,c=null,d=007,e=-3",
                r#"{"a":1,"b":true,"c":null,"d":"007","e":-3}"#,
            ),
            ("a.b.c=x", r#"{"a":{"b":{"c":"x"}}}"#),
            ("a[1]=x", r#"{"a":[null,"x"]}"#),
            ("a={x,y},b=z", r#"{"a":["x","y"],"b":"z"}"#),
            ("a\\.b=c", r#"{"a.b":"c"}"#),
            ("a[0].b=1,a[0].c=2", r#"{"a":[{"b":1,"c":2}]}"#),
            ("a=", r#"{"a":""}"#),
        ];
        for (expr, want) in cases {
            let want: Json = serde_json::from_str(want).expect("json");
            assert_eq!(parse(expr), Ok(want), "{expr}");
        }
        assert_eq!(parse("a"), Err("key \"a\" has no value".to_owned()));
        assert!(parse("a=1,a.b=2").is_err());
    }
}
