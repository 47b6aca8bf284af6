//! The lexer of Go's `text/template` (`text/template/parse/lex.go`).
//!
//! Turns template text into tokens with byte positions and line numbers,
//! applies `{{-`/`-}}` whitespace trimming and drops comments, and reports
//! lexical errors with Go's wording as a final [`Tok::Error`] token. It does
//! not know the grammar: that is [`super::parse`].

/// Token kinds (Go's `itemType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Identifier,
    Field,
    Variable,
    Char,
    Number,
    String,
    RawString,
    Bool,
    Dot,
    Pipe,
    LeftParen,
    RightParen,
    Declare,
    Assign,
    Comma,
    /// Any other printable ASCII character (Go's `itemChar`).
    Punct,
    Eof,
    Error,
    // Keywords.
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

/// One token: its kind, text, byte offset and 1-based line.
#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    /// Shared so the parser's look-ahead copies tokens cheaply.
    pub val: Rc<str>,
    pub pos: usize,
    pub line: usize,
}

impl Token {
    /// How Go's parser names the token in "unexpected ..." messages.
    pub fn describe(&self) -> String {
        match self.tok {
            Tok::Eof => "EOF".to_owned(),
            Tok::Error => self.val.to_string(),
            Tok::Block
            | Tok::Break
            | Tok::Continue
            | Tok::Define
            | Tok::Else
            | Tok::End
            | Tok::If
            | Tok::Nil
            | Tok::Range
            | Tok::Template
            | Tok::With => format!("<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let short: String = self.val.chars().take(10).collect();
                format!("{}...", super::fmt::quote(&short, false))
            }
            _ => super::fmt::quote(&self.val, false),
        }
    }
}

use std::rc::Rc;

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Lexes a whole template; the last token is `Eof` or `Error`.
pub fn lex(input: &str) -> Vec<Token> {
    let mut lx = Lexer {
        input,
        pos: 0,
        start: 0,
        line: 1,
        start_line: 1,
        out: Vec::new(),
        paren_depth: 0,
    };
    lx.run();
    lx.out
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    out: Vec<Token>,
    paren_depth: usize,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn emit(&mut self, tok: Tok) {
        self.out.push(Token {
            tok,
            val: Rc::from(&self.input[self.start..self.pos]),
            pos: self.start,
            line: self.start_line,
        });
        self.ignore();
    }

    fn ignore(&mut self) {
        self.start = self.pos;
        self.start_line = self.line;
    }

    /// Moves to `pos` counting newlines.
    fn skip_to(&mut self, pos: usize) {
        self.line += self.input[self.pos..pos].matches('\n').count();
        self.pos = pos;
    }

    fn error(&mut self, msg: String) {
        self.out.push(Token {
            tok: Tok::Error,
            val: Rc::from(msg),
            pos: self.start,
            line: self.start_line,
        });
    }

    fn run(&mut self) {
        loop {
            // Text up to the next left delimiter.
            match self.rest().find(LEFT) {
                None => {
                    self.skip_to(self.input.len());
                    if self.pos > self.start {
                        self.emit(Tok::Text);
                    }
                    self.emit(Tok::Eof);
                    return;
                }
                Some(off) => {
                    let delim = self.pos + off;
                    let after = &self.input[delim + LEFT.len()..];
                    let trim = after.len() >= 2
                        && after.as_bytes()[0] == b'-'
                        && is_space(after.as_bytes()[1]);
                    let mut text_end = delim;
                    if trim {
                        text_end = self.input[..delim]
                            .trim_end_matches([' ', '\t', '\r', '\n'])
                            .len()
                            .max(self.start);
                    }
                    self.skip_to(text_end);
                    if self.pos > self.start {
                        self.emit(Tok::Text);
                    }
                    self.skip_to(delim);
                    self.ignore();
                    if !self.left_delim(trim) {
                        return;
                    }
                }
            }
        }
    }

    /// At `{{`: a comment or an action. Returns false after an error or EOF.
    fn left_delim(&mut self, trim: bool) -> bool {
        self.skip_to(self.pos + LEFT.len());
        let marker = if trim { 2 } else { 0 };
        if self.input[self.pos + marker..].starts_with("/*") {
            self.skip_to(self.pos + marker);
            self.ignore();
            return self.comment();
        }
        self.emit(Tok::LeftDelim);
        self.skip_to(self.pos + marker);
        self.ignore();
        self.paren_depth = 0;
        self.inside_action()
    }

    fn comment(&mut self) -> bool {
        let Some(end) = self.rest().find("*/") else {
            self.error("unclosed comment".to_owned());
            return false;
        };
        self.skip_to(self.pos + end + 2);
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".to_owned());
            return false;
        }
        if trim {
            self.skip_to(self.pos + 2);
        }
        self.skip_to(self.pos + RIGHT.len());
        if trim {
            self.trim_following();
        }
        self.ignore();
        true
    }

    /// Is the input at `}}` or ` -}}`?
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest().as_bytes();
        if rest.len() >= 2
            && is_space(rest[0])
            && rest[1] == b'-'
            && self.rest()[2..].starts_with(RIGHT)
        {
            return (true, true);
        }
        (self.rest().starts_with(RIGHT), false)
    }

    fn trim_following(&mut self) {
        let rest = self.rest();
        let n = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
        self.skip_to(self.pos + n);
    }

    fn right_delim(&mut self, trim: bool) {
        if trim {
            self.skip_to(self.pos + 2);
            self.ignore();
        }
        self.skip_to(self.pos + RIGHT.len());
        self.emit(Tok::RightDelim);
        if trim {
            self.trim_following();
            self.ignore();
        }
    }

    #[allow(clippy::too_many_lines)]
    fn inside_action(&mut self) -> bool {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.right_delim(trim);
                    return true;
                }
                self.error("unclosed left paren".to_owned());
                return false;
            }
            let Some(c) = self.next() else {
                self.error("unclosed action".to_owned());
                return false;
            };
            match c {
                c if c.is_ascii() && is_space(c as u8) => {
                    let mut n = 1;
                    while self
                        .peek()
                        .is_some_and(|c| c.is_ascii() && is_space(c as u8))
                    {
                        self.next();
                        n += 1;
                    }
                    // A space before a trim-marked closing delimiter belongs to it.
                    let before = self.pos - 1;
                    let tail = &self.input[before..];
                    if tail.len() >= 2 && tail.as_bytes()[1] == b'-' && tail[2..].starts_with(RIGHT)
                    {
                        self.skip_back_one();
                        if n == 1 {
                            continue;
                        }
                    }
                    self.emit(Tok::Space);
                }
                '=' => self.emit(Tok::Assign),
                ':' => {
                    if self.peek() != Some('=') {
                        self.error("expected :=".to_owned());
                        return false;
                    }
                    self.next();
                    self.emit(Tok::Declare);
                }
                '|' => self.emit(Tok::Pipe),
                '"' => {
                    loop {
                        match self.next() {
                            Some('\\') => {
                                if matches!(self.next(), None | Some('\n')) {
                                    self.error("unterminated quoted string".to_owned());
                                    return false;
                                }
                            }
                            None | Some('\n') => {
                                self.error("unterminated quoted string".to_owned());
                                return false;
                            }
                            Some('"') => break,
                            Some(_) => {}
                        }
                    }
                    self.emit(Tok::String);
                }
                '`' => {
                    let Some(end) = self.rest().find('`') else {
                        self.error("unterminated raw quoted string".to_owned());
                        return false;
                    };
                    self.skip_to(self.pos + end + 1);
                    self.emit(Tok::RawString);
                }
                '$' => {
                    self.word();
                    if !self.check_terminator() {
                        return false;
                    }
                    self.emit(Tok::Variable);
                }
                '\'' => {
                    loop {
                        match self.next() {
                            Some('\\') => {
                                if matches!(self.next(), None | Some('\n')) {
                                    self.error("unterminated character constant".to_owned());
                                    return false;
                                }
                            }
                            None | Some('\n') => {
                                self.error("unterminated character constant".to_owned());
                                return false;
                            }
                            Some('\'') => break,
                            Some(_) => {}
                        }
                    }
                    self.emit(Tok::Char);
                }
                '.' => {
                    if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.skip_back_one();
                        if !self.number() {
                            return false;
                        }
                    } else if self.peek().is_some_and(is_alnum) {
                        self.word();
                        if !self.check_terminator() {
                            return false;
                        }
                        self.emit(Tok::Field);
                    } else {
                        self.emit(Tok::Dot);
                    }
                }
                '+' | '-' | '0'..='9' => {
                    self.skip_back_one();
                    if !self.number() {
                        return false;
                    }
                }
                c if is_alnum(c) => {
                    self.word();
                    if !self.check_terminator() {
                        return false;
                    }
                    let tok = match &self.input[self.start..self.pos] {
                        "block" => Tok::Block,
                        "break" => Tok::Break,
                        "continue" => Tok::Continue,
                        "define" => Tok::Define,
                        "else" => Tok::Else,
                        "end" => Tok::End,
                        "if" => Tok::If,
                        "nil" => Tok::Nil,
                        "range" => Tok::Range,
                        "template" => Tok::Template,
                        "with" => Tok::With,
                        "true" | "false" => Tok::Bool,
                        _ => Tok::Identifier,
                    };
                    self.emit(tok);
                }
                '(' => {
                    self.paren_depth += 1;
                    self.emit(Tok::LeftParen);
                }
                ')' => {
                    if self.paren_depth == 0 {
                        self.error("unexpected right paren".to_owned());
                        return false;
                    }
                    self.paren_depth -= 1;
                    self.emit(Tok::RightParen);
                }
                ',' => self.emit(Tok::Comma),
                c if c.is_ascii() && !c.is_ascii_control() => self.emit(Tok::Punct),
                c => {
                    self.error(format!("bad character {}", unicode_plus(c)));
                    return false;
                }
            }
        }
    }

    fn skip_back_one(&mut self) {
        let c = self.input[..self.pos]
            .chars()
            .next_back()
            .expect("backing up over a char just read");
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    fn word(&mut self) {
        while self.peek().is_some_and(is_alnum) {
            self.next();
        }
    }

    /// After a word: Go requires a space, `.`, `,`, `|`, `:`, `(`, `)` or a delimiter.
    fn check_terminator(&mut self) -> bool {
        let ok = match self.peek() {
            None => true,
            Some(c) => {
                (c.is_ascii() && is_space(c as u8))
                    || matches!(c, '.' | ',' | '|' | ':' | ')' | '(')
                    || self.rest().starts_with(RIGHT)
            }
        };
        if !ok {
            let c = self.peek().unwrap_or(' ');
            self.error(format!("bad character {}", unicode_plus(c)));
        }
        ok
    }

    /// Go's `scanNumber`, loosely: sign, base prefix, digits, fraction, exponent.
    fn number(&mut self) -> bool {
        if matches!(self.peek(), Some('+' | '-')) {
            self.next();
        }
        let mut digits = "0123456789_";
        let mut hex = false;
        if self.rest().starts_with('0') {
            let r = self.rest().as_bytes();
            if r.len() > 1 {
                match r[1] {
                    b'x' | b'X' => {
                        self.skip_to(self.pos + 2);
                        digits = "0123456789abcdefABCDEF_";
                        hex = true;
                    }
                    b'o' | b'O' => {
                        self.skip_to(self.pos + 2);
                        digits = "01234567_";
                    }
                    b'b' | b'B' => {
                        self.skip_to(self.pos + 2);
                        digits = "01_";
                    }
                    _ => {}
                }
            }
        }
        self.accept_run(digits);
        if self.peek() == Some('.') {
            self.next();
            self.accept_run(digits);
        }
        let exp = if hex { "pP" } else { "eE" };
        if self.peek().is_some_and(|c| exp.contains(c)) {
            self.next();
            if matches!(self.peek(), Some('+' | '-')) {
                self.next();
            }
            self.accept_run("0123456789_");
        }
        if self.peek() == Some('i') {
            self.next();
        }
        if self.peek().is_some_and(is_alnum) {
            self.next();
            let text = self.input[self.start..self.pos].to_owned();
            self.error(format!(
                "bad number syntax: {}",
                super::fmt::quote(&text, false)
            ));
            return false;
        }
        self.emit(Tok::Number);
        true
    }

    fn accept_run(&mut self, set: &str) {
        while self.peek().is_some_and(|c| set.contains(c)) {
            self.next();
        }
    }
}

/// Go's `%#U`: `U+0021 '!'`.
fn unicode_plus(c: char) -> String {
    format!("U+{:04X} '{c}'", u32::from(c))
}
