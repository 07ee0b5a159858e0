//! A tiny parser for the Python literal that heads an `.npy` file:
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
//!
//! It accepts dicts, tuples, lists, strings, ints (with an optional trailing `L` from Python 2),
//! `True`, `False` and `None`, with any whitespace and trailing commas. Nesting is limited so a
//! hostile header cannot overflow the stack.

/// A parsed Python literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

const MAX_DEPTH: usize = 32;

/// Parses `text` as one literal followed only by whitespace (and NULs, which some writers pad with).
pub(crate) fn parse(text: &str) -> Result<Lit, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.skip_ws();
    match p.s[p.i..].iter().any(|&b| b != 0 && !b.is_ascii_whitespace()) {
        false => Ok(v),
        true => Err(format!("unexpected text after the literal at byte {}", p.i)),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Lit, String> {
        if depth > MAX_DEPTH {
            return Err("the literal is nested too deeply".into());
        }
        match self.peek() {
            None => Err("the header ends where a value was expected".into()),
            Some(b'{') => self.dict(depth),
            Some(b'(') => {
                let (mut items, trailing_comma) = self.seq(b')', depth)?;
                // `(3)` is just 3 in Python; `(3,)` is a tuple.
                if items.len() == 1 && !trailing_comma {
                    Ok(items.remove(0))
                } else {
                    Ok(Lit::Tuple(items))
                }
            }
            Some(b'[') => self.seq(b']', depth).map(|(items, _)| Lit::List(items)),
            Some(q @ (b'\'' | b'"')) => self.string(q),
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() => self.word(),
            Some(c) => Err(format!(
                "unexpected character '{}' at byte {}",
                c.escape_ascii(),
                self.i
            )),
        }
    }

    /// Items up to `close`; also says whether a comma followed the last item.
    fn seq(&mut self, close: u8, depth: usize) -> Result<(Vec<Lit>, bool), String> {
        self.i += 1;
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok((items, trailing_comma));
            }
            items.push(self.value(depth + 1)?);
            trailing_comma = false;
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    trailing_comma = true;
                }
                Some(c) if c == close => {}
                Some(c) => {
                    return Err(format!(
                        "expected ',' or '{}' but found '{}'",
                        close as char,
                        c.escape_ascii()
                    ))
                }
                None => return Err(format!("the header ends before the closing '{}'", close as char)),
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Lit, String> {
        self.i += 1;
        let mut entries = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.i += 1;
                return Ok(Lit::Dict(entries));
            }
            let key = self.value(depth + 1)?;
            if self.peek() != Some(b':') {
                return Err("expected ':' after a dict key".into());
            }
            self.i += 1;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                Some(c) => return Err(format!("expected ',' or '}}' but found '{}'", c.escape_ascii())),
                None => return Err("the header ends before the closing '}'".into()),
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<Lit, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return Err("a string in the header is not closed".into());
            };
            self.i += 1;
            match c {
                c if c == quote => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return Err("a string in the header ends in a backslash".into());
                    };
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out)
            .map(Lit::Str)
            .map_err(|_| "a string in the header is not valid text".into())
    }

    fn int(&mut self) -> Result<Lit, String> {
        let start = self.i;
        if matches!(self.s.get(self.i), Some(b'-' | b'+')) {
            self.i += 1;
        }
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_digit() || *b == b'_')
        {
            self.i += 1;
        }
        let text: String = self.s[start..self.i]
            .iter()
            .filter(|&&b| b != b'_')
            .map(|&b| b as char)
            .collect();
        if matches!(self.s.get(self.i), Some(b'L' | b'l')) {
            self.i += 1; // Python 2 long suffix
        }
        if matches!(self.s.get(self.i), Some(b'.' | b'e' | b'E')) {
            return Err(format!(
                "expected an integer but found a number with a fraction at byte {start}"
            ));
        }
        text.parse::<i128>()
            .map(Lit::Int)
            .map_err(|_| format!("'{text}' is not an integer that fits"))
    }

    fn word(&mut self) -> Result<Lit, String> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.i += 1;
        }
        match &self.s[start..self.i] {
            b"True" => Ok(Lit::Bool(true)),
            b"False" => Ok(Lit::Bool(false)),
            b"None" => Ok(Lit::None),
            w => Err(format!(
                "unexpected word '{}' in the header",
                String::from_utf8_lossy(w)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(text: &str) -> Vec<(Lit, Lit)> {
        match parse(text).unwrap() {
            Lit::Dict(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn numpy_headers() {
        let d = dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }          \n");
        assert_eq!(d[0], (Lit::Str("descr".into()), Lit::Str("<f4".into())));
        assert_eq!(d[1].1, Lit::Bool(false));
        assert_eq!(d[2].1, Lit::Tuple(vec![Lit::Int(3), Lit::Int(4)]));
        let d = dict("{\"shape\":(5,),\"fortran_order\":True,\"descr\":\"|u1\"}");
        assert_eq!(d[0].1, Lit::Tuple(vec![Lit::Int(5)]));
        assert_eq!(d[1].1, Lit::Bool(true));
        let d = dict("{'shape': ()}");
        assert_eq!(d[0].1, Lit::Tuple(vec![]));
        let d = dict("{'shape': (3L, 4L), 'x': None, 'y': [1, -2,], 'z': (7)}");
        assert_eq!(d[0].1, Lit::Tuple(vec![Lit::Int(3), Lit::Int(4)]));
        assert_eq!(d[1].1, Lit::None);
        assert_eq!(d[2].1, Lit::List(vec![Lit::Int(1), Lit::Int(-2)]));
        assert_eq!(d[3].1, Lit::Int(7));
        let d = dict("{'a': 'it\\'s'}\0\0");
        assert_eq!(d[0].1, Lit::Str("it's".into()));
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        for bad in [
            "",
            "{",
            "{'a'",
            "{'a':",
            "{'a': 1",
            "{'a' 1}",
            "{'a': 1 'b': 2}",
            "{'a': (1, 2}",
            "{'a': 'x}",
            "{'a': 1.5}",
            "{'a': 99999999999999999999999999999999999999999999}",
            "{'a': Maybe}",
            "{'a': @}",
            "{} extra",
            "'\\",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = "(".repeat(10_000);
        assert!(parse(&deep).unwrap_err().contains("deeply"));
    }
}
