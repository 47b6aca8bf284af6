//! The parse tree of Go's `text/template` (`text/template/parse/node.go`).
//!
//! Nodes keep their byte position so errors can say `name:line:col`, and
//! print themselves exactly as Go's `Node.String()` does, because Go quotes
//! that text in error messages (`at <.Values.a.b>`). Building the tree is
//! [`super::parse`]'s job, running it [`super::exec`]'s.

use std::fmt;
use std::sync::Arc;

/// One parsed template: a file's body or a `define`/`block`.
#[derive(Debug)]
pub struct Tree {
    /// The template's name (the file name, or the `define`'s name).
    pub name: String,
    /// The name of the file it was parsed from (Go's `ParseName`).
    pub parse_name: Arc<str>,
    /// The whole source text, for turning positions into line:column.
    pub text: Arc<str>,
    pub root: Vec<Node>,
}

impl Tree {
    /// Go's `ErrorContext` location: `file:line:col`, col 0-based in bytes.
    pub fn location(&self, pos: usize) -> String {
        let pos = pos.min(self.text.len());
        let before = &self.text[..pos];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => pos - nl - 1,
            None => pos,
        };
        format!("{}:{line}:{col}", self.parse_name)
    }

    /// Go's `IsEmptyTree`: only whitespace text (and nothing else).
    pub fn is_empty(&self) -> bool {
        self.root
            .iter()
            .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
    }
}

#[derive(Debug)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break(usize),
    Continue(usize),
}

/// `if`, `with` and `range`: the pipeline, the body, the `else` part.
#[derive(Debug)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A number literal with the readings Go's `NumberNode` keeps.
#[derive(Debug)]
pub struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub float: Option<f64>,
    /// Too big for an int64 but a valid uint64.
    pub uint_only: bool,
}

#[derive(Debug)]
pub enum Arg {
    /// `.a.b`: the field names without dots.
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    /// `$x.a.b`: `idents[0]` is the variable's name with its `$`.
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    Identifier {
        pos: usize,
        name: String,
    },
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, Number),
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
    Pipe(Box<Pipe>),
    /// `(pipe).a.b`.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Bool(pos, _)
            | Arg::Number(pos, _)
            | Arg::String { pos, .. }
            | Arg::Chain { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { idents, .. } => {
                for id in idents {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
            Arg::Variable { idents, .. } => write!(f, "{}", idents.join(".")),
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, n) => f.write_str(&n.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Pipe(p) => write!(f, "({p})"),
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = node.as_ref() {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{arg}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, cmd) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{cmd}")?;
        }
        Ok(())
    }
}

/// Go's `TemplateNode.String()`: `{{template "name" pipe}}`.
pub fn template_string(name: &str, pipe: Option<&Pipe>) -> String {
    match pipe {
        Some(p) => format!("{{{{template {} {p}}}}}", super::fmt::quote(name, false)),
        None => format!("{{{{template {}}}}}", super::fmt::quote(name, false)),
    }
}

/// Go's `ListNode.String()`: the nodes' texts concatenated.
pub fn list_string(list: &[Node]) -> String {
    list.iter().map(ToString::to_string).collect()
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(t),
            Node::Action(p) => write!(f, "{{{{{p}}}}}"),
            Node::If(b) => branch(f, "if", b),
            Node::With(b) => branch(f, "with", b),
            Node::Range(b) => branch(f, "range", b),
            Node::Template { name, pipe, .. } => f.write_str(&template_string(name, pipe.as_ref())),
            Node::Break(_) => f.write_str("{{break}}"),
            Node::Continue(_) => f.write_str("{{continue}}"),
        }
    }
}

fn branch(f: &mut fmt::Formatter<'_>, kind: &str, b: &Branch) -> fmt::Result {
    write!(f, "{{{{{kind} {}}}}}{}", b.pipe, list_string(&b.list))?;
    if let Some(else_list) = &b.else_list {
        write!(f, "{{{{else}}}}{}", list_string(else_list))?;
    }
    f.write_str("{{end}}")
}
