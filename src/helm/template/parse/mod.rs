//! The parser of Go's `text/template` (`text/template/parse/parse.go`).
//!
//! Builds [`Tree`]s from tokens: the file's own tree plus one per
//! `define`/`block`, checks function names and variables the way Go does at
//! parse time, and words its errors like Go (`template: NAME:LINE: msg`).

use std::sync::Arc;

mod literal;

use super::ast::{Arg, Branch, Command, Node, Pipe, Tree};
use super::error::ParseError;
use super::lex::{Tok, Token, lex};
use literal::{number, unquote};

/// Parses `text` as the template `name`; returns the file's tree first, then
/// the trees its `define`s and `block`s introduce, in source order.
pub fn parse(
    name: &str,
    text: &str,
    has_function: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, ParseError> {
    let text: Arc<str> = Arc::from(text);
    let parse_name: Arc<str> = Arc::from(name);
    let mut p = Parser {
        tokens: lex(&text),
        i: 0,
        line: 1,
        vars: vec!["$".to_owned()],
        range_depth: 0,
        action_line: 0,
        parse_name: parse_name.clone(),
        text: text.clone(),
        has_function,
        defined: Vec::new(),
    };
    let root = p.parse_root()?;
    let mut trees = vec![Tree {
        name: name.to_owned(),
        parse_name,
        text,
        root,
    }];
    trees.append(&mut p.defined);
    Ok(trees)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    i: usize,
    /// Line of the last token read (Go's `t.token[0].line`).
    line: usize,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    parse_name: Arc<str>,
    text: Arc<str>,
    has_function: &'a dyn Fn(&str) -> bool,
    defined: Vec<Tree>,
}

type PResult<T> = Result<T, ParseError>;

/// What ended an item list.
enum End {
    End,
    Else,
}

impl Parser<'_> {
    fn err<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(ParseError::new(&self.parse_name, self.line, &msg.into()))
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.i.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.line = t.line;
        if self.i < self.tokens.len() - 1 || t.tok != Tok::Eof {
            self.i += 1;
        }
        t
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.tok != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, tok: Tok, context: &str) -> PResult<Token> {
        let t = self.next_non_space();
        if t.tok != tok {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn unexpected<T>(&self, token: &Token, context: &str) -> PResult<T> {
        if token.tok == Tok::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_owned();
                }
            }
            return self.err(format!("{}{extra}", token.val));
        }
        self.err(format!("unexpected {} in {context}", token.describe()))
    }

    fn parse_root(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().tok != Tok::Eof {
            if self.peek().tok == Tok::LeftDelim {
                let save = self.i;
                self.next();
                if self.next_non_space().tok == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.push(n),
                Item::End => return self.err("unexpected {{end}}"),
                Item::Else => return self.err("unexpected {{else}}"),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let t = self.next_non_space();
        if !matches!(t.tok, Tok::String | Tok::RawString) {
            return self.unexpected(&t, context);
        }
        let name = self.unquote(&t.val)?;
        self.expect(Tok::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_owned()]);
        let (root, end) = self.item_list()?;
        self.vars = saved_vars;
        if let End::Else = end {
            return self.err(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add(name, root)
    }

    /// Go's `Tree.add`: a second non-empty definition in one parse is an error.
    fn add(&mut self, name: String, root: Vec<Node>) -> PResult<()> {
        let tree = Tree {
            name,
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root,
        };
        if let Some(k) = self.defined.iter().position(|t| t.name == tree.name) {
            if self.defined[k].is_empty() {
                self.defined[k] = tree;
            } else if !tree.is_empty() {
                return self.err(format!(
                    "template: multiple definition of template {}",
                    super::fmt::quote(&tree.name, false)
                ));
            }
            return Ok(());
        }
        self.defined.push(tree);
        Ok(())
    }

    fn unquote(&self, quoted: &str) -> PResult<String> {
        match unquote(quoted) {
            Some(s) => Ok(s),
            None => self.err("invalid syntax"),
        }
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, End)> {
        let mut list = Vec::new();
        while self.peek_non_space().tok != Tok::Eof {
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                Item::End => return Ok((list, End::End)),
                Item::Else => return Ok((list, End::Else)),
            }
        }
        self.err("unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Text => Ok(Item::Node(Node::Text(t.val.to_string()))),
            Tok::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Block => return self.block_control().map(Item::Node),
            Tok::Break | Tok::Continue => {
                let what = if t.tok == Tok::Break {
                    "break"
                } else {
                    "continue"
                };
                let next = self.next_non_space();
                if next.tok != Tok::RightDelim {
                    return self.unexpected(&next, &format!("{{{{{what}}}}}"));
                }
                if self.range_depth == 0 {
                    return self.err(format!("{{{{{what}}}}} outside {{{{range}}}}"));
                }
                return Ok(Item::Node(if t.tok == Tok::Break {
                    Node::Break(t.pos)
                } else {
                    Node::Continue(t.pos)
                }));
            }
            Tok::Else => {
                let peek = self.peek_non_space();
                if matches!(peek.tok, Tok::If | Tok::With) {
                    return Ok(Item::Else);
                }
                self.expect(Tok::RightDelim, "else")?;
                return Ok(Item::Else);
            }
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Item::End);
            }
            Tok::If => return self.control("if").map(|b| Item::Node(Node::If(b))),
            Tok::Range => return self.control("range").map(|b| Item::Node(Node::Range(b))),
            Tok::With => return self.control("with").map(|b| Item::Node(Node::With(b))),
            Tok::Template => return self.template_control().map(Item::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Tok::RightDelim)?;
        Ok(Item::Node(Node::Action(pipe)))
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(mark);
        r
    }

    fn control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, end) = r?;
        let else_list = match end {
            End::End => None,
            End::Else => {
                if context == "if" && self.peek().tok == Tok::If {
                    self.next();
                    Some(vec![Node::If(self.control("if")?)])
                } else if context == "with" && self.peek().tok == Tok::With {
                    self.next();
                    Some(vec![Node::With(self.control("with")?)])
                } else {
                    let (list, end) = self.item_list()?;
                    if let End::Else = end {
                        return self.err("expected end; found {{else}}");
                    }
                    Some(list)
                }
            }
        };
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, t: &Token, context: &str) -> PResult<String> {
        match t.tok {
            Tok::String | Tok::RawString => self.unquote(&t.val),
            _ => self.unexpected(t, context),
        }
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_owned()]);
        let r = self.item_list();
        self.vars = saved_vars;
        let (root, end) = r?;
        if let End::Else = end {
            return self.err(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add(name.clone(), root)?;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = if self.next_non_space().tok == Tok::RightDelim {
            None
        } else {
            self.backup();
            Some(self.pipeline(context, Tok::RightDelim)?)
        };
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe,
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.tok != Tok::Variable {
                break;
            }
            let save = self.i;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.to_string());
                    break;
                }
                Tok::Comma => {
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.to_string());
                    if context == "range" && pipe.decl.len() < 2 {
                        if matches!(
                            self.peek_non_space().tok,
                            Tok::Variable | Tok::RightDelim | Tok::RightParen
                        ) {
                            continue;
                        }
                        return self.err("range can only initialize variables");
                    }
                    return self.err(format!("too many declarations in {context}"));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            if t.tok == end {
                if pipe.cmds.is_empty() {
                    return self.err(format!("missing value for {context}"));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args[0],
                        Arg::Bool(..)
                            | Arg::Dot(_)
                            | Arg::Nil(_)
                            | Arg::Number(..)
                            | Arg::String { .. }
                    ) {
                        return self.err(format!(
                            "non executable command in pipeline stage {}",
                            i + 1
                        ));
                    }
                }
                return Ok(pipe);
            }
            match t.tok {
                Tok::Bool
                | Tok::Char
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.err("empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().tok != Tok::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().tok == Tok::Field {
            fields.push(self.next().val[1..].to_owned());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Variable { mut idents, .. } => {
                idents.extend(fields);
                Arg::Variable {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Bool(..) | Arg::String { .. } | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return self.err(format!(
                    "unexpected . after term {}",
                    super::fmt::quote(&node.to_string(), false)
                ));
            }
            node => Arg::Chain {
                pos: chain_pos,
                node: Box::new(node),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.tok {
            Tok::Identifier => {
                if !(self.has_function)(&t.val) {
                    return self.err(format!(
                        "function {} not defined",
                        super::fmt::quote(&t.val, false)
                    ));
                }
                Arg::Identifier {
                    pos: t.pos,
                    name: t.val.to_string(),
                }
            }
            Tok::Dot => Arg::Dot(t.pos),
            Tok::Nil => Arg::Nil(t.pos),
            Tok::Variable => {
                let name = t.val.split('.').next().unwrap_or_default().to_owned();
                if !self.vars.contains(&name) {
                    return self.err(format!(
                        "undefined variable {}",
                        super::fmt::quote(&name, false)
                    ));
                }
                Arg::Variable {
                    pos: t.pos,
                    idents: vec![t.val.to_string()],
                }
            }
            Tok::Field => Arg::Field {
                pos: t.pos,
                idents: vec![t.val[1..].to_owned()],
            },
            Tok::Bool => Arg::Bool(t.pos, &*t.val == "true"),
            Tok::Char | Tok::Number => {
                let n = match number(&t.val, t.tok == Tok::Char) {
                    Ok(n) => n,
                    Err(msg) => return self.err(msg),
                };
                Arg::Number(t.pos, n)
            }
            Tok::LeftParen => Arg::Pipe(Box::new(
                self.pipeline("parenthesized pipeline", Tok::RightParen)?,
            )),
            Tok::String | Tok::RawString => {
                let text = self.unquote(&t.val)?;
                Arg::String {
                    pos: t.pos,
                    quoted: t.val.to_string(),
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

enum Item {
    Node(Node),
    End,
    Else,
}
