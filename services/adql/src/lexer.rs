//! The ADQL tokenizer (ADQL 2.1 §2.1): regular identifiers (a Latin letter, then letters,
//! digits and underscores), delimited identifiers (`"..."` with `""` for a quote), string
//! literals (`'...'` with `''`), unsigned numbers (`12`, `1.5`, `.5`, `1e-3`), hexadecimal
//! integers (`0x1F`), the operators and punctuation of the grammar, and `--` comments to the
//! end of the line. Anything else is an error at its position.

use std::borrow::Cow;

use crate::diag::{Diagnostic, Pos, Span};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok<'s> {
    /// A regular identifier or a keyword, as written (keywords are recognised by the parser,
    /// case-insensitively).
    Word(&'s str),
    /// A delimited identifier, without its quotes and with `""` turned into `"`.
    Quoted(Cow<'s, str>),
    /// An unsigned number as written (`12`, `1.5`, `.5`), the exponent marker upper-cased
    /// (`3E-2`).
    Number(Cow<'s, str>),
    /// A hexadecimal integer literal: the digits after `0x`.
    Hex(&'s str),
    /// A string literal, without its quotes and with `''` turned into `'`.
    Str(Cow<'s, str>),
    /// An operator or punctuation: `( ) , . * + - / || = <> < <= > >= ;` (`!=` is read as
    /// `<>`).
    Op(&'static str),
    /// The end of the query.
    End,
}

/// One token and the text it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Token<'s> {
    /// The token.
    pub tok: Tok<'s>,
    /// Where it is.
    pub span: Span,
}

struct Cursor<'a> {
    text: &'a str,
    pos: Pos,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        // ASCII (all of ADQL outside strings and delimited names) without UTF-8 decoding.
        match self.text.as_bytes().get(self.pos.offset) {
            Some(b) if b.is_ascii() => Some(char::from(*b)),
            Some(_) => self.text[self.pos.offset..].chars().next(),
            None => None,
        }
    }

    fn peek2(&self) -> Option<char> {
        let bytes = self.text.as_bytes();
        match (bytes.get(self.pos.offset), bytes.get(self.pos.offset + 1)) {
            (Some(a), Some(b)) if a.is_ascii() && b.is_ascii() => Some(char::from(*b)),
            (Some(_), _) => {
                let mut it = self.text[self.pos.offset..].chars();
                it.next();
                it.next()
            }
            _ => None,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos.offset += c.len_utf8();
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn span_from(&self, start: Pos) -> Span {
        Span {
            start,
            end: self.pos,
        }
    }
}

/// Split `text` into tokens, ending with [`Tok::End`]. Errors: an unterminated string or
/// delimited identifier, an empty delimited identifier, a number without exponent digits, a
/// character that ADQL does not use outside strings, an identifier starting with `_`.
pub fn tokenize(text: &str) -> Result<Vec<Token<'_>>, Diagnostic> {
    let mut c = Cursor {
        text,
        pos: Pos {
            line: 1,
            column: 1,
            offset: 0,
        },
    };
    let mut out = Vec::with_capacity(text.len() / 3 + 1);
    while let Some(ch) = c.peek() {
        let start = c.pos;
        if ch == ' ' {
            c.pos.offset += 1;
            c.pos.column += 1;
            continue;
        }
        if ch.is_whitespace() {
            c.bump();
            continue;
        }
        if ch == '-' && c.peek2() == Some('-') {
            while let Some(x) = c.peek() {
                if x == '\n' {
                    break;
                }
                c.bump();
            }
            continue;
        }
        let tok = if ch.is_ascii_alphabetic() {
            // ASCII only: the column advances by the byte count.
            let len = text.as_bytes()[start.offset..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            c.pos.offset += len;
            c.pos.column += len as u32;
            Tok::Word(&text[start.offset..start.offset + len])
        } else if ch.is_ascii_digit()
            || (ch == '.' && c.peek2().is_some_and(|d| d.is_ascii_digit()))
        {
            number(&mut c)?
        } else if ch == '"' {
            c.bump();
            let mut w = String::new();
            loop {
                match c.bump() {
                    None => {
                        return Err(Diagnostic::syntax(
                            c.span_from(start),
                            "the delimited identifier starting here has no closing '\"'",
                        ))
                    }
                    Some('"') if c.peek() == Some('"') => {
                        c.bump();
                        w.push('"');
                    }
                    Some('"') => break,
                    Some(x) => w.push(x),
                }
            }
            if w.is_empty() {
                return Err(Diagnostic::syntax(
                    c.span_from(start),
                    "an empty delimited identifier \"\" is not a name",
                ));
            }
            Tok::Quoted(Cow::Owned(w))
        } else if ch == '\'' {
            c.bump();
            let mut s = String::new();
            loop {
                match c.bump() {
                    None => {
                        return Err(Diagnostic::syntax(
                            c.span_from(start),
                            "the string starting here has no closing quote (')",
                        ))
                    }
                    Some('\'') if c.peek() == Some('\'') => {
                        c.bump();
                        s.push('\'');
                    }
                    Some('\'') => {
                        // SQL-92 §5.3: a literal continues in the next quoted part when only
                        // separators holding a newline lie between them ('ab'\n'cd' = 'abcd').
                        match continuation(&c) {
                            Some(next) => {
                                while c.pos.offset < next {
                                    c.bump();
                                }
                                c.bump();
                            }
                            None => break,
                        }
                    }
                    Some(x) => s.push(x),
                }
            }
            Tok::Str(Cow::Owned(s))
        } else {
            c.bump();
            let two = |c: &mut Cursor, next: char, op: &'static str, single: &'static str| {
                if c.peek() == Some(next) {
                    c.bump();
                    op
                } else {
                    single
                }
            };
            if ch == '/' && c.peek() == Some('*') {
                return Err(Diagnostic::syntax(
                    c.span_from(start),
                    "block comments /* ... */ are not ADQL",
                )
                .with_hint("ADQL comments run from -- to the end of the line"));
            }
            let op = match ch {
                '(' => "(",
                ')' => ")",
                ',' => ",",
                '.' => ".",
                '*' => "*",
                '+' => "+",
                '-' => "-",
                '/' => "/",
                ';' => ";",
                '=' => "=",
                '<' => match c.peek() {
                    Some('=') => {
                        c.bump();
                        "<="
                    }
                    Some('>') => {
                        c.bump();
                        "<>"
                    }
                    _ => "<",
                },
                '>' => two(&mut c, '=', ">=", ">"),
                '!' if c.peek() == Some('=') => {
                    c.bump();
                    "<>"
                }
                '|' if c.peek() == Some('|') => {
                    c.bump();
                    "||"
                }
                '|' => "|",
                '&' => "&",
                '^' => "^",
                '~' => "~",
                '_' => {
                    return Err(Diagnostic::syntax(
                        c.span_from(start),
                        "a name may not start with '_'",
                    )
                    .with_hint("write it as a delimited identifier, e.g. \"_name\""))
                }
                other => {
                    let what = if other.is_alphabetic() {
                        format!("the letter '{other}' is not ASCII")
                    } else {
                        format!("the character '{}' is not ADQL", other.escape_default())
                    };
                    return Err(Diagnostic::syntax(c.span_from(start), what).with_hint(
                        "outside quotes ADQL uses ASCII letters, digits and ( ) , . * + - / || & | ^ ~ = <> != < <= > >=",
                    ));
                }
            };
            Tok::Op(op)
        };
        out.push(Token {
            tok,
            span: c.span_from(start),
        });
    }
    out.push(Token {
        tok: Tok::End,
        span: c.span_from(c.pos),
    });
    Ok(out)
}

/// If only whitespace and comments, with at least one newline, lie between the cursor and a
/// quote, the byte offset of that quote.
fn continuation(c: &Cursor) -> Option<usize> {
    let rest = &c.text[c.pos.offset..];
    let mut newline = false;
    let mut i = 0;
    let bytes = rest.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                newline = true;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' if newline => return Some(c.pos.offset + i),
            _ => return None,
        }
    }
    None
}

/// An unsigned number (ADQL 2.1 `<unsigned_numeric_literal>`) or a hexadecimal integer.
fn number<'s>(c: &mut Cursor<'s>) -> Result<Tok<'s>, Diagnostic> {
    let start = c.pos;
    if c.peek() == Some('0') && matches!(c.peek2(), Some('x' | 'X')) {
        c.bump();
        c.bump();
        let mut h = String::new();
        while let Some(x) = c.peek().filter(|x| x.is_ascii_hexdigit()) {
            h.push(x);
            c.bump();
        }
        if h.is_empty() {
            return Err(Diagnostic::syntax(
                c.span_from(start),
                "'0x' must be followed by hexadecimal digits",
            ));
        }
        return Ok(Tok::Hex(&c.text[start.offset + 2..c.pos.offset]));
    }
    let mut s = String::new();
    let digits = |c: &mut Cursor, s: &mut String| {
        while let Some(x) = c.peek().filter(|x| x.is_ascii_digit()) {
            s.push(x);
            c.bump();
        }
    };
    digits(c, &mut s);
    if c.peek() == Some('.') {
        s.push('.');
        c.bump();
        digits(c, &mut s);
    }
    if matches!(c.peek(), Some('e' | 'E')) {
        let after = c.peek2();
        let signed = matches!(after, Some('+' | '-'));
        let rest = &c.text[c.pos.offset + 1..];
        let rest = if signed { &rest[1..] } else { rest };
        if rest.starts_with(|x: char| x.is_ascii_digit()) {
            s.push('E');
            c.bump();
            if signed {
                s.push(c.bump().unwrap_or('+'));
            }
            digits(c, &mut s);
        } else {
            return Err(Diagnostic::syntax(
                Span { start, end: c.pos },
                format!("the number '{s}E' has no exponent digits"),
            ));
        }
    }
    let raw = &c.text[start.offset..c.pos.offset];
    Ok(Tok::Number(if raw == s {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(s)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok<'_>> {
        tokenize(s)
            .expect("tokens")
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn operators_glue_to_names() {
        assert_eq!(
            toks("a!='x'"),
            [
                Tok::Word("a"),
                Tok::Op("<>"),
                Tok::Str("x".into()),
                Tok::End
            ]
        );
        assert_eq!(toks("a<>b")[1], Tok::Op("<>"));
        assert_eq!(toks("a<=b")[1], Tok::Op("<="));
        assert_eq!(toks("a||b")[1], Tok::Op("||"));
    }

    #[test]
    fn numbers_and_hex() {
        assert_eq!(toks("10e-5")[0], Tok::Number("10E-5".into()));
        assert_eq!(toks(".5")[0], Tok::Number(".5".into()));
        assert_eq!(toks("3.")[0], Tok::Number("3.".into()));
        assert_eq!(toks("0xFF")[0], Tok::Hex("FF"));
        assert_eq!(
            toks("89x"),
            [Tok::Number("89".into()), Tok::Word("x"), Tok::End]
        );
        let e = tokenize("SELECT 3e FROM t").expect_err("an error");
        assert_eq!(
            (
                e.span.expect("a span").start.line,
                e.span.expect("a span").start.column
            ),
            (1, 8)
        );
    }

    #[test]
    fn quotes_and_comments() {
        assert_eq!(toks("\"c\"\"ho\"")[0], Tok::Quoted("c\"ho".into()));
        assert_eq!(toks("'it''s'")[0], Tok::Str("it's".into()));
        assert_eq!(toks("'qua' -- c\n 'tsch'")[0], Tok::Str("quatsch".into()));
        assert_eq!(toks("'a' 'b'").len(), 3);
        assert_eq!(
            toks("a -- b\n c"),
            [Tok::Word("a"), Tok::Word("c"), Tok::End]
        );
        let e = tokenize("SELECT \"abc").expect_err("an error");
        assert!(e.message.contains("no closing"), "{e}");
        let e = tokenize("SELECT\n  x %").expect_err("an error");
        assert_eq!(e.span.expect("a span").start.line, 2);
        assert_eq!(e.span.expect("a span").start.column, 5);
        assert!(tokenize("SELECT _x")
            .expect_err("an error")
            .message
            .contains("'_'"));
    }
}
