//! A JSON-with-comments reader that keeps byte offsets, for editing files such
//! as `.vscode/launch.json` in place: comments, trailing commas and the user's
//! formatting survive because devloop rewrites only the spans it owns.

use std::fmt;

/// A parsed value and where it sits in the text (`start..end` bytes).
#[derive(Debug)]
pub enum Node {
    Object {
        start: usize,
        end: usize,
        members: Vec<(String, Node)>,
    },
    Array {
        start: usize,
        end: usize,
        items: Vec<Node>,
    },
    Scalar {
        start: usize,
        end: usize,
        /// The decoded value when it is a string.
        string: Option<String>,
    },
}

impl Node {
    pub fn span(&self) -> (usize, usize) {
        match self {
            Node::Object { start, end, .. }
            | Node::Array { start, end, .. }
            | Node::Scalar { start, end, .. } => (*start, *end),
        }
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object { members, .. } => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Where and why the text is not JSON with comments.
#[derive(Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Parses one value (with surrounding whitespace and comments).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser { text, pos: 0 };
    p.skip_trivia()?;
    let node = p.value()?;
    p.skip_trivia()?;
    if p.pos != text.len() {
        return Err(p.error("unexpected text after the value"));
    }
    Ok(node)
}

/// The offset after whitespace and comments starting at `pos`.
pub fn skip_trivia(text: &str, pos: usize) -> usize {
    let mut p = Parser { text, pos };
    // An unterminated comment runs to the end of the text.
    if p.skip_trivia().is_err() {
        return text.len();
    }
    p.pos
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn error(&self, message: &'static str) -> SyntaxError {
        let before = &self.text[..self.pos.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        SyntaxError {
            line,
            column,
            message,
        }
    }

    fn skip_trivia(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') if self.bytes().get(self.pos + 1) == Some(&b'/') => {
                    self.pos = self.text[self.pos..]
                        .find('\n')
                        .map_or(self.text.len(), |i| self.pos + i);
                }
                Some(b'/') if self.bytes().get(self.pos + 1) == Some(&b'*') => {
                    let close = self.text[self.pos + 2..]
                        .find("*/")
                        .ok_or_else(|| self.error("unterminated comment"))?;
                    self.pos += 2 + close + 2;
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self) -> Result<Node, SyntaxError> {
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => {
                let start = self.pos;
                let string = self.string()?;
                Ok(Node::Scalar {
                    start,
                    end: self.pos,
                    string: Some(string),
                })
            }
            Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
                {
                    self.pos += 1;
                }
                let word = &self.text[start..self.pos];
                if serde_json::from_str::<serde_json::Value>(word).is_err() {
                    self.pos = start;
                    return Err(self.error("not a JSON value"));
                }
                Ok(Node::Scalar {
                    start,
                    end: self.pos,
                    string: None,
                })
            }
            _ => Err(self.error("expected a value")),
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                None | Some(b'\n') => return Err(self.error("unterminated string")),
                Some(b'\\') => self.pos += 2,
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        serde_json::from_str(&self.text[start..self.pos]).map_err(|_| {
            self.pos = start;
            self.error("invalid string")
        })
    }

    /// Parses `open item (, item)* ,? close`, calling `item` for each element.
    fn sequence(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), SyntaxError>,
    ) -> Result<(), SyntaxError> {
        self.pos += 1;
        loop {
            self.skip_trivia()?;
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(());
            }
            item(self)?;
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => return Err(self.error("expected `,` or a closing bracket")),
            }
        }
    }

    fn object(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        let mut members = Vec::new();
        self.sequence(b'}', |p| {
            if p.peek() != Some(b'"') {
                return Err(p.error("expected a quoted key"));
            }
            let key = p.string()?;
            p.skip_trivia()?;
            if p.peek() != Some(b':') {
                return Err(p.error("expected `:`"));
            }
            p.pos += 1;
            p.skip_trivia()?;
            members.push((key, p.value()?));
            Ok(())
        })?;
        Ok(Node::Object {
            start,
            end: self.pos,
            members,
        })
    }

    fn array(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        let mut items = Vec::new();
        self.sequence(b']', |p| {
            items.push(p.value()?);
            Ok(())
        })?;
        Ok(Node::Array {
            start,
            end: self.pos,
            items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_values_and_skip_comments() {
        let text = "// top\n{ /* a */ \"a\": [1, \"x\", ], \"b\": {\"c\": null,}, }\n";
        let node = parse(text).expect("parses");
        let a = node.get("a").expect("a");
        let (s, e) = a.span();
        assert_eq!(&text[s..e], "[1, \"x\", ]");
        let Node::Array { items, .. } = a else {
            panic!("array")
        };
        assert_eq!(items.len(), 2);
        let Node::Scalar { string, .. } = &items[1] else {
            panic!("scalar")
        };
        assert_eq!(string.as_deref(), Some("x"));
        assert!(node.get("b").and_then(|b| b.get("c")).is_some());
    }

    #[test]
    fn errors_have_positions() {
        let cases = [
            ("{\"a\" 1}", (1, 6), "expected `:`"),
            (
                "{\"a\": 1\n \"b\": 2}",
                (2, 2),
                "expected `,` or a closing bracket",
            ),
            ("[1, /* open", (1, 5), "unterminated comment"),
            ("{a: 1}", (1, 2), "expected a quoted key"),
            ("[tru]", (1, 2), "not a JSON value"),
            ("{} x", (1, 4), "unexpected text after the value"),
        ];
        for (text, (line, column), message) in cases {
            assert_eq!(
                parse(text).expect_err(text),
                SyntaxError {
                    line,
                    column,
                    message
                },
                "{text}"
            );
        }
    }
}
