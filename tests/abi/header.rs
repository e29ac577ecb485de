//! A reader for include/swtls.h. It reads only what cbindgen writes, a regular subset of
//! C:
//! - `//` doc comments before each item and each enumerator and field;
//! - `#define NAME expression` integer constants;
//! - `typedef enum name { NAME = value, ... } name;`;
//! - `typedef struct name name;` (opaque handles);
//! - `typedef struct name { type field; type field[SIZE]; ... } name;`;
//! - `typedef ret (*name)(params);` (callbacks);
//! - `ret name(params);` prototypes.
//!
//! Anything else outside the preprocessor lines fails loudly, so that a header the
//! generator does not understand is never half-translated.

/// An integer constant (`#define`), with its value computed.
pub struct Const {
    pub doc: Vec<String>,
    pub name: String,
    pub value: i64,
}

pub struct Enumerator {
    pub doc: Vec<String>,
    pub name: String,
    pub value: i64,
}

pub struct Enum {
    pub doc: Vec<String>,
    pub name: String,
    pub members: Vec<Enumerator>,
}

/// A C type as cbindgen spells it: `const` (of the pointee), a base and a pointer depth.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CType {
    pub is_const: bool,
    /// `uint64_t`, `char`, `void`, `enum swtls_status`, `struct swtls_stats`,
    /// `swtls_log_callback`, ...
    pub base: String,
    pub pointers: usize,
}

impl std::fmt::Display for CType {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let c = if self.is_const { "const " } else { "" };
        let p = if self.pointers > 0 { format!(" {}", "*".repeat(self.pointers)) } else { String::new() };
        write!(f, "{c}{}{p}", self.base)
    }
}

/// A parameter or a structure field; `array` is the length of a `name[LEN]` field.
pub struct Var {
    pub doc: Vec<String>,
    pub name: String,
    pub ty: CType,
    pub array: Option<(String, i64)>,
}

pub struct Struct {
    pub doc: Vec<String>,
    pub name: String,
    pub fields: Vec<Var>,
}

/// A function prototype, or a callback typedef (then `name` is the typedef's).
pub struct Function {
    pub doc: Vec<String>,
    pub name: String,
    pub ret: CType,
    pub params: Vec<Var>,
}

#[derive(Default)]
pub struct Header {
    pub consts: Vec<Const>,
    pub enums: Vec<Enum>,
    pub opaques: Vec<String>,
    pub structs: Vec<Struct>,
    pub callbacks: Vec<Function>,
    pub functions: Vec<Function>,
}

impl Header {
    pub fn parse(text: &str) -> Header {
        let mut h = Header::default();
        let mut doc: Vec<String> = Vec::new();
        let mut statement = String::new();
        let mut in_block_comment = false;
        for line in text.lines() {
            let t = line.trim();
            if in_block_comment {
                in_block_comment = !t.ends_with("*/");
                continue;
            }
            if !statement.is_empty() {
                statement.push('\n');
                statement.push_str(t);
                if statement_ends(&statement) {
                    h.item(std::mem::take(&mut doc), &std::mem::take(&mut statement));
                }
                continue;
            }
            if t.is_empty() {
                doc.clear();
            } else if t.starts_with("/*") {
                in_block_comment = !t.ends_with("*/");
            } else if let Some(c) = t.strip_prefix("//") {
                doc.push(c.strip_prefix(' ').unwrap_or(c).to_string());
            } else if let Some(define) = t.strip_prefix("#define ") {
                let (name, expr) = define.split_once(' ').unwrap_or((define, ""));
                if !expr.is_empty() {
                    let value = eval(expr, &h.consts);
                    h.consts.push(Const { doc: std::mem::take(&mut doc), name: name.to_string(), value });
                }
            } else if t.starts_with('#') || t == "extern \"C\" {" || t.starts_with("}  // extern") {
                doc.clear();
            } else {
                statement.push_str(t);
                if statement_ends(&statement) {
                    h.item(std::mem::take(&mut doc), &std::mem::take(&mut statement));
                }
            }
        }
        assert!(statement.is_empty(), "unterminated declaration at the end of the header: {statement}");
        h
    }

    fn item(&mut self, doc: Vec<String>, s: &str) {
        let s = s.strip_suffix(';').expect("a declaration ends with ';'");
        if let Some(rest) = s.strip_prefix("typedef enum ") {
            let (name, body) = braced(rest);
            let mut members = Vec::new();
            let mut next = 0;
            for (doc, m) in body_items(body, ',') {
                let (n, value) = match m.split_once(" = ") {
                    Some((n, v)) => (n, eval(v, &self.consts)),
                    None => (m.as_str(), next),
                };
                next = value + 1;
                members.push(Enumerator { doc, name: n.to_string(), value });
            }
            self.enums.push(Enum { doc, name, members });
        } else if let Some(rest) = s.strip_prefix("typedef struct ").filter(|r| r.contains('{')) {
            let (name, body) = braced(rest);
            let fields = body_items(body, ';').into_iter().map(|(doc, f)| self.var(doc, &f)).collect();
            self.structs.push(Struct { doc, name, fields });
        } else if let Some(rest) = s.strip_prefix("typedef struct ") {
            let (name, alias) = rest.split_once(' ').expect("typedef struct name name");
            assert_eq!(name, alias, "opaque typedef {s}");
            self.opaques.push(name.to_string());
        } else if let Some(rest) = s.strip_prefix("typedef ") {
            // ret (*name)(params)
            let (ret, rest) = rest.split_once("(*").unwrap_or_else(|| panic!("unknown typedef: {s}"));
            let (name, params) = rest.split_once(")(").expect("a callback typedef");
            let params = params.strip_suffix(')').expect("callback parameters");
            let params = self.params(params);
            self.callbacks.push(Function { doc, name: name.to_string(), ret: ctype(ret), params });
        } else {
            let (head, params) = s.split_once('(').unwrap_or_else(|| panic!("unknown declaration: {s}"));
            let params = params.strip_suffix(')').expect("function parameters");
            let (ret, name) = split_name(head);
            let params = if params == "void" { Vec::new() } else { self.params(params) };
            self.functions.push(Function { doc, name, ret: ctype(&ret), params });
        }
    }

    fn params(&self, params: &str) -> Vec<Var> {
        params.split(',').map(|p| self.var(Vec::new(), p.trim())).collect()
    }

    /// `type name` or `type name[LEN]`.
    fn var(&self, doc: Vec<String>, decl: &str) -> Var {
        let (decl, array) = match decl.strip_suffix(']').and_then(|d| d.split_once('[')) {
            Some((d, len)) => (d, Some((len.to_string(), eval(len, &self.consts)))),
            None => (decl, None),
        };
        let (ty, name) = split_name(decl);
        Var { doc, name, ty: ctype(&ty), array }
    }

    pub fn enum_named(&self, name: &str) -> &Enum {
        self.enums.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no enum {name} in the header"))
    }
}

/// A declaration ends with `;` outside braces and parentheses.
fn statement_ends(s: &str) -> bool {
    let depth: i32 = s
        .lines()
        .filter(|l| !l.starts_with("//"))
        .flat_map(str::chars)
        .map(|c| match c {
            '{' | '(' => 1,
            '}' | ')' => -1,
            _ => 0,
        })
        .sum();
    depth == 0 && s.ends_with(';')
}

/// `name {\n body\n} name` into the name and the body.
fn braced(s: &str) -> (String, &str) {
    let (name, rest) = s.split_once(" {").expect("a braced body");
    let (body, alias) = rest.rsplit_once('}').expect("the end of a braced body");
    assert_eq!(alias.trim(), name, "typedef {name} names {alias}");
    (name.to_string(), body)
}

/// The items of an enum or struct body, each with the `//` lines before it.
fn body_items(body: &str, separator: char) -> Vec<(Vec<String>, String)> {
    let mut items = Vec::new();
    let mut doc = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(c) = line.strip_prefix("//") {
            doc.push(c.strip_prefix(' ').unwrap_or(c).to_string());
        } else {
            let item = line.strip_suffix(separator).unwrap_or_else(|| panic!("'{line}' does not end with {separator}"));
            items.push((std::mem::take(&mut doc), item.to_string()));
        }
    }
    items
}

/// `const struct swtls_channel *channel` into (`const struct swtls_channel *`, `channel`).
fn split_name(decl: &str) -> (String, String) {
    let decl = decl.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = decl.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).expect("a type before the name");
    (decl[..=at].trim().to_string(), decl[at + 1..].to_string())
}

fn ctype(s: &str) -> CType {
    let s = s.trim();
    let pointers = s.matches('*').count();
    let s = s.replace('*', "");
    let (is_const, base) = match s.trim().strip_prefix("const ") {
        Some(b) => (true, b),
        None => (false, s.trim()),
    };
    CType { is_const, base: base.trim().to_string(), pointers }
}

/// Evaluates a constant expression of the header: integers, earlier constants, `+ - * /`
/// and parentheses (what cbindgen writes for a Rust `const` expression).
fn eval(expr: &str, known: &[Const]) -> i64 {
    let tokens: Vec<String> = tokenize(expr);
    let mut at = 0;
    let value = sum(&tokens, &mut at, known);
    assert_eq!(at, tokens.len(), "cannot evaluate '{expr}'");
    value
}

fn tokenize(expr: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_ascii_alphanumeric() || **c == '_') {
                word.push(c);
                chars.next();
            }
            tokens.push(word);
        } else {
            tokens.push(c.to_string());
            chars.next();
        }
    }
    tokens
}

fn sum(t: &[String], at: &mut usize, known: &[Const]) -> i64 {
    let mut v = product(t, at, known);
    while let Some(op) = t.get(*at).filter(|op| *op == "+" || *op == "-") {
        *at += 1;
        let rhs = product(t, at, known);
        v = if op == "+" { v + rhs } else { v - rhs };
    }
    v
}

fn product(t: &[String], at: &mut usize, known: &[Const]) -> i64 {
    let mut v = atom(t, at, known);
    while let Some(op) = t.get(*at).filter(|op| *op == "*" || *op == "/") {
        *at += 1;
        let rhs = atom(t, at, known);
        v = if op == "*" { v * rhs } else { v / rhs };
    }
    v
}

fn atom(t: &[String], at: &mut usize, known: &[Const]) -> i64 {
    let token = t.get(*at).unwrap_or_else(|| panic!("expression ends early: {t:?}"));
    *at += 1;
    if token == "(" {
        let v = sum(t, at, known);
        assert_eq!(t.get(*at).map(String::as_str), Some(")"), "unbalanced parentheses: {t:?}");
        *at += 1;
        return v;
    }
    if token == "-" {
        return -atom(t, at, known);
    }
    let digits = token.trim_end_matches(['u', 'U', 'l', 'L']);
    if let Ok(v) = digits.parse() {
        return v;
    }
    known
        .iter()
        .find(|c| c.name == *token)
        .map(|c| c.value)
        .unwrap_or_else(|| panic!("unknown name '{token}' in {t:?}"))
}
