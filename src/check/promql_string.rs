//! PromQL's string literals (`"..."`, `'...'`, `` `...` ``) in a scan of query text: the
//! one reader every scan of raw PromQL text uses (Grafana variables, the depth guard,
//! bracket errors, windows), so text inside a string is never taken for code.

/// A string literal found in PromQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Literal {
    /// Just past the closing quote, or the end of the text when it is never closed.
    pub(crate) end: usize,
    pub(crate) closed: bool,
}

/// The string literal that opens at byte `i` of the text, if one does. A backslash escapes
/// the next character in `"` and `'` strings, not in raw `` ` `` strings (as Prometheus's
/// lexer reads them). Only ASCII bytes are compared, so `end` is always a character
/// boundary.
pub(crate) fn at(bytes: &[u8], i: usize) -> Option<Literal> {
    let quote = *bytes.get(i)?;
    if !matches!(quote, b'"' | b'\'' | b'`') {
        return None;
    }
    let mut j = i + 1;
    while j < bytes.len() {
        let c = bytes[j];
        if c == quote {
            return Some(Literal {
                end: j + 1,
                closed: true,
            });
        }
        j += if c == b'\\' && quote != b'`' { 2 } else { 1 };
    }
    Some(Literal {
        end: bytes.len(),
        closed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::{Literal, at};

    #[test]
    fn strings_end_at_their_own_unescaped_quote() {
        let lit = |s: &str| at(s.as_bytes(), 0);
        assert_eq!(lit("x"), None);
        assert_eq!(
            lit(r#""a\"b" + 1"#),
            Some(Literal {
                end: 6,
                closed: true
            })
        );
        assert_eq!(
            lit(r"'a\'b' x"),
            Some(Literal {
                end: 6,
                closed: true
            })
        );
        assert_eq!(
            lit(r"`a\` x"),
            Some(Literal {
                end: 4,
                closed: true
            })
        );
        assert_eq!(
            lit(r#""a'`" x"#),
            Some(Literal {
                end: 5,
                closed: true
            })
        );
        assert_eq!(
            lit("\"é\""),
            Some(Literal {
                end: 4,
                closed: true
            })
        );
        assert_eq!(
            lit(r#""never\""#),
            Some(Literal {
                end: 8,
                closed: false
            })
        );
        assert_eq!(
            lit(r#""ends in \"#),
            Some(Literal {
                end: 10,
                closed: false
            })
        );
    }
}
