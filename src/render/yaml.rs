//! A YAML writer for the generated files: block-style YAML into a `String`, byte for byte
//! what `serde_norway::to_string` writes, without going through libyaml's event emitter.
//!
//! It is a [`serde::Serializer`], so every `#[derive(Serialize)]` type works unchanged:
//! structs, maps, sequences, options (and `skip_serializing_if`), strings, bools, integers,
//! floats, unit and unit variants.
//!
//! How the output matches serde_norway (libyaml's emitter, unicode on, unlimited width):
//!
//! - **Layout.** libyaml decides line breaks and padding from four pieces of state: the
//!   current indent, the column, whether the last thing written was whitespace, and whether
//!   the line so far is only indentation ("indention"). `Writer` keeps the same four and
//!   the same two primitives, `write_indent` and `write_indicator`, so
//!   `key:\n- a` (a sequence in a mapping is not indented), `- k: v\n  k2: v2`, `- - a`,
//!   `[]`, `{}` and complex keys (`? long key\n: value`) come out as libyaml writes them.
//!   The column only matters while the line is indentation, so it is tracked there only.
//! - **Scalar style.** serde_norway asks for a literal block when a string has a `\n`,
//!   single quotes when the string would read back as null, a bool, an integer or a float
//!   (or is digits with a leading zero), and any style otherwise (`requested_style`).
//!   libyaml then scans the text (`analyze`) and downgrades the request: plain only if no
//!   indicator, edge space or special character forbids it, else single quotes, else
//!   double quotes; a literal block only where it is allowed; a mapping key is a simple key
//!   (`k: v`) if it is on one line and at most 128 bytes, else a complex key.
//! - **Scalar text.** Plain text is copied; single quotes double `'`; double quotes escape
//!   as libyaml does (`\n`, `\t`, `\e`, `\N`, `\L`, `\xHH`, `\uHHHH`, uppercase hex);
//!   literal blocks carry the `2` indentation hint when the text opens with a space or a
//!   break, and `-`/`+` chomping. Floats use ryu (`1.0`, `1e-7`) and `.inf`, `-.inf`, `.nan`.
//!
//! Speed comes from skipping the event queue and from cheap common cases: identifier keys
//! are written without a scan, printable ASCII text is scanned eight bytes at a time, and
//! only text with tabs, control characters or non-ASCII takes the character-by-character
//! scan. There is no fallback to serde_norway: every scalar is written here.
//!
//! Not supported, an error rather than a panic: YAML tags (serde_norway writes enum
//! variants that carry data as `!Variant` tags), bytes, non-empty sequences or mappings as
//! mapping keys, and more than one root value.

use std::fmt::{self, Display, Write as _};

use serde::Serialize;
use serde::ser::{self, Impossible};

/// Why a value could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    fn unsupported(what: &str) -> Self {
        Error {
            message: format!("the YAML writer does not support {what}"),
        }
    }

    /// serde_norway writes an enum variant that carries data as a `!Variant` tag.
    fn tag() -> Self {
        Self::unsupported("YAML tags (an enum variant with data)")
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
        }
    }
}

/// A value as YAML: the same text as `serde_norway::to_string(value)`.
pub fn to_string<T: ?Sized + Serialize>(value: &T) -> Result<String, Error> {
    let mut out = String::new();
    append(&mut out, value)?;
    Ok(out)
}

/// Appends a value as YAML to `out`, which must be empty or end with a line break (a
/// header). On error `out` holds part of the value.
pub fn append<T: ?Sized + Serialize>(out: &mut String, value: &T) -> Result<(), Error> {
    let mut writer = Writer {
        out: std::mem::take(out),
        indent: -1,
        column: 0,
        whitespace: true,
        indention: true,
        mapping_context: false,
        depth: 0,
        root_started: false,
    };
    let result = value.serialize(&mut writer);
    if result.is_ok() && writer.root_started {
        // The document's end: a line break after the last line unless it already has one.
        writer.write_indent();
    }
    *out = writer.out;
    result
}

/// The style serde_norway asks libyaml for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// What libyaml's scan of a scalar allows, in block context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Analysis {
    /// The text holds a line break (`\n`, `\r`, U+0085, U+2028 or U+2029).
    multiline: bool,
    /// It holds a `\n` (serde_norway then asks for a literal block).
    newline: bool,
    /// It holds a line break other than `\n`.
    other_breaks: bool,
    plain: bool,
    single_quoted: bool,
    literal: bool,
}

/// A scalar style's request after libyaml's checks (`simple_key`: written as `k:`).
fn select_style(requested: Style, a: Analysis, empty: bool, simple_key: bool) -> Style {
    if simple_key && a.multiline {
        return Style::DoubleQuoted;
    }
    let mut style = requested;
    if style == Style::Plain && (!a.plain || (empty && simple_key)) {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !a.single_quoted {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!a.literal || simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

/// The style serde_norway requests for a string: a literal block for several lines, single
/// quotes for text that would read back as something other than a string.
fn requested_style(s: &str, a: Analysis) -> Style {
    if a.newline {
        Style::Literal
    } else if reads_as_non_string(s) {
        Style::SingleQuoted
    } else {
        Style::Plain
    }
}

/// A plain scalar for certain, without a scan: a letter or `_`, then letters, digits and
/// `_`, and not a spelling of null or a bool. Most mapping keys are such identifiers.
fn identifier(s: &str) -> bool {
    let b = s.as_bytes();
    b.first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && !(matches!(b.len(), 4 | 5)
            && matches!(
                s,
                "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
            ))
}

/// Whether serde_norway's reader resolves this plain scalar to null, a bool, an integer or
/// a float, or it is digits with a leading zero (a string in YAML 1.2, quoted to be safe).
fn reads_as_non_string(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return true;
    };
    // Every such text opens with one of these (Rust's float syntax included: finite
    // floats start with a sign, a digit or a dot).
    if !matches!(
        first,
        b'0'..=b'9' | b'+' | b'-' | b'.' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'~'
    ) {
        return false;
    }
    // ... and is made of these: digits, signs, hex digits, `0x`/`0o`/`0b`, exponents and
    // the letters of null, true, false, inf and nan.
    let numeric = |c: &u8| {
        matches!(c, b'0'..=b'9' | b'+' | b'-' | b'.' | b'~' | b'a'..=b'f' | b'A'..=b'F'
            | b'x' | b'o' | b'i' | b'I' | b'n' | b'N' | b't' | b'T' | b'r' | b'R' | b'u' | b'U'
            | b'l' | b'L' | b's' | b'S' | b'y' | b'Y')
    };
    if !s.as_bytes().iter().all(numeric) {
        return false;
    }
    matches!(
        s,
        "null" | "Null" | "NULL" | "~" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    ) || leading_zero_digits(s)
        || unsigned_int(s)
        || negative_int(s)
        || finite_float(s)
}

/// An optional sign, then `0` and one or more digits.
fn leading_zero_digits(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit())
}

/// serde_norway's unsigned integers: `+`?, then `0x`/`0o`/`0b` digits or decimal digits
/// (Rust's `from_str_radix`, up to u128).
fn unsigned_int(s: &str) -> bool {
    let unsigned = s.strip_prefix('+').unwrap_or(s);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unsigned.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return false;
            }
            if u128::from_str_radix(rest, radix).is_ok() {
                return true;
            }
        }
    }
    !unsigned.starts_with(['+', '-']) && unsigned.parse::<u128>().is_ok()
}

/// serde_norway's negative integers: `-0x`/`-0o`/`-0b` digits, or what i128 parses.
fn negative_int(s: &str) -> bool {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = s.strip_prefix(prefix)
            && i128::from_str_radix(&format!("-{rest}"), radix).is_ok()
        {
            return true;
        }
    }
    s.parse::<i128>().is_ok()
}

/// serde_norway's floats: `.inf`/`.nan` spellings, or a finite Rust float.
fn finite_float(s: &str) -> bool {
    let unsigned = match s.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return false,
        Some(rest) => rest,
        None => s,
    };
    matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || matches!(s, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unsigned.parse::<f64>().is_ok_and(f64::is_finite)
}

/// libyaml's printable characters (its `IS_PRINTABLE`): a tab or `\r` is not printable.
fn printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && c != '\u{FEFF}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// A blank, a break or NUL (libyaml's `IS_BLANKZ`; the end of the text also counts).
fn is_blankz(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\0') || is_break(c)
}

/// Characters that make a plain scalar impossible when they open it.
fn opening_indicator(b: u8) -> bool {
    matches!(
        b,
        b'#' | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

/// libyaml's `analyze_scalar`, reduced to what block context reads.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            newline: false,
            other_breaks: false,
            plain: true,
            single_quoted: true,
            literal: false,
        };
    }
    analyze_ascii(s.as_bytes()).unwrap_or_else(|| analyze_any(s))
}

/// Text opening with `---` or `...` (a document marker) is never plain.
fn document_marker(b: &[u8]) -> bool {
    b.len() >= 3 && b[0] == b[1] && b[1] == b[2] && matches!(b[0], b'-' | b'.')
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `x` is below `n` (n <= 128; exact as a whole, bytewise flags aside).
fn any_below(x: u64, n: u8) -> bool {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS != 0
}

fn any_equal(x: u64, byte: u8) -> bool {
    any_below(x ^ (ONES * u64::from(byte)), 1)
}

/// The common case: printable ASCII and `\n`. `None` for anything else (tabs, other
/// control characters, non-ASCII), which [`analyze_any`] scans.
fn analyze_ascii(b: &[u8]) -> Option<Analysis> {
    let n = b.len();
    let last = n.checked_sub(1)?;
    let mut indicators = document_marker(b);
    let (mut newline, mut break_space, mut space_break) = (false, false, false);
    // Eight bytes at a time: only bytes below a space, `:`, `#`, DEL and non-ASCII need a look.
    let mut i = 0;
    while i < n {
        let end = (i + 8).min(n);
        if end - i == 8 {
            let mut word = [0u8; 8];
            word.copy_from_slice(&b[i..end]);
            let x = u64::from_le_bytes(word);
            if !(any_below(x, 0x20)
                || x & HIGHS != 0
                || any_equal(x, 0x7F)
                || any_equal(x, b':')
                || any_equal(x, b'#'))
            {
                i = end;
                continue;
            }
        }
        for j in i..end {
            match b[j] {
                b':' => indicators |= j == last || matches!(b[j + 1], b' ' | b'\n'),
                b'#' => indicators |= j > 0 && matches!(b[j - 1], b' ' | b'\n'),
                b'\n' => {
                    newline = true;
                    space_break |= j > 0 && b[j - 1] == b' ';
                    break_space |= j < last && b[j + 1] == b' ';
                }
                b' '..=b'~' => {}
                _ => return None,
            }
        }
        i = end;
    }
    let first = b[0];
    let followed_by_blank = n == 1 || matches!(b[1], b' ' | b'\n');
    indicators |=
        opening_indicator(first) || (matches!(first, b'?' | b':' | b'-') && followed_by_blank);
    let edge = matches!(first, b' ' | b'\n') || matches!(b[last], b' ' | b'\n');
    Some(Analysis {
        multiline: newline,
        newline,
        other_breaks: false,
        plain: !(indicators || edge || newline || break_space || space_break),
        single_quoted: !(break_space || space_break),
        literal: b[last] != b' ' && !space_break,
    })
}

/// The general scan, character by character, for text with breaks, tabs, control
/// characters or non-ASCII.
fn analyze_any(s: &str) -> Analysis {
    let mut indicators = document_marker(s.as_bytes());
    let (mut line_breaks, mut special) = (false, false);
    let (mut newline, mut other_breaks) = (false, false);
    let (mut leading, mut trailing) = (false, false);
    let (mut trailing_space, mut break_space, mut space_break) = (false, false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_blank = true;
    let mut chars = s.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let followed_by_blank = next.is_none_or(is_blankz);
        let last = next.is_none();
        if first {
            indicators |= c.is_ascii() && opening_indicator(c as u8)
                || (matches!(c, '?' | ':' | '-') && followed_by_blank);
        } else {
            indicators |= (c == ':' && followed_by_blank) || (c == '#' && preceded_by_blank);
        }
        special |= !printable(c);
        if c == ' ' {
            leading |= first;
            trailing |= last;
            trailing_space |= last;
            break_space |= previous_break;
            (previous_space, previous_break) = (true, false);
        } else if is_break(c) {
            line_breaks = true;
            newline |= c == '\n';
            other_breaks |= c != '\n';
            leading |= first;
            trailing |= last;
            space_break |= previous_space;
            (previous_space, previous_break) = (false, true);
        } else {
            (previous_space, previous_break) = (false, false);
        }
        preceded_by_blank = is_blankz(c);
        first = false;
    }
    Analysis {
        multiline: line_breaks,
        newline,
        other_breaks,
        plain: !(leading
            || trailing
            || break_space
            || space_break
            || special
            || line_breaks
            || indicators),
        single_quoted: !(break_space || space_break || special),
        literal: !(trailing_space || space_break || special),
    }
}

/// A line break and the spaces of an indent, to copy in one piece.
const LINE: &str = "\n                                                                ";

/// The serializer: libyaml's emitter state for block collections, writing as it goes.
#[derive(Debug)]
struct Writer {
    out: String,
    /// libyaml's indent: -1 at document level, else the column of the current block.
    indent: i32,
    /// The output column, kept exact while `indention` holds (the only time it is read).
    column: i32,
    /// The last thing written was whitespace (no separating space needed).
    whitespace: bool,
    /// The line so far is indentation and indicators (`- `, `? `).
    indention: bool,
    /// The next node is a mapping value (libyaml's mapping context).
    mapping_context: bool,
    /// Open collections.
    depth: usize,
    root_started: bool,
}

impl Writer {
    fn push_spaces(&mut self, mut n: usize) {
        while n > 0 {
            let k = n.min(LINE.len() - 1);
            self.out.push_str(&LINE[1..=k]);
            n -= k;
        }
    }

    /// A line break unless the line is still indentation, then spaces up to the indent.
    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.column = 0;
            let pad = indent as usize;
            if pad < LINE.len() {
                self.out.push_str(&LINE[..=pad]);
            } else {
                self.out.push('\n');
                self.push_spaces(pad);
            }
        } else {
            self.push_spaces((indent - self.column).max(0) as usize);
        }
        self.column = indent;
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(indicator);
        self.column += indicator.len() as i32;
        self.whitespace = is_whitespace;
        self.indention &= is_indention;
    }

    /// Checks that the document has one root value.
    fn begin_node(&mut self) -> Result<(), Error> {
        if self.depth == 0 {
            if self.root_started {
                return Err(Error::unsupported("more than one root value"));
            }
            self.root_started = true;
        }
        Ok(())
    }

    /// The indent of a scalar's continuation lines (libyaml indents them one step in).
    fn scalar_indent(&self) -> usize {
        if self.indent < 0 {
            2
        } else {
            self.indent as usize + 2
        }
    }

    fn write_plain(&mut self, text: &str) {
        if !self.whitespace && !text.is_empty() {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_scalar(&mut self, text: &str, style: Style, a: Analysis) {
        match style {
            Style::Plain => self.write_plain(text),
            Style::SingleQuoted => self.write_single_quoted(text, a.multiline),
            Style::DoubleQuoted => self.write_double_quoted(text),
            Style::Literal => self.write_literal(text, a.other_breaks),
        }
    }

    fn write_single_quoted(&mut self, text: &str, multiline: bool) {
        self.write_indicator("'", true, false, false);
        if !multiline && !text.contains('\'') {
            self.out.push_str(text);
        } else {
            // Breaks are written as they are; the text after them is indented.
            let indent = self.scalar_indent();
            let mut breaks = false;
            for c in text.chars() {
                if is_break(c) {
                    if !breaks && c == '\n' {
                        self.out.push('\n');
                    }
                    self.out.push(c);
                    breaks = true;
                } else {
                    if breaks {
                        self.push_spaces(indent);
                    }
                    if c == '\'' {
                        self.out.push('\'');
                    }
                    self.out.push(c);
                    breaks = false;
                }
            }
            if breaks {
                self.push_spaces(indent);
            }
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &str) {
        self.write_indicator("\"", true, false, false);
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if printable(c) && !is_break(c) && c != '"' && c != '\\' {
                continue;
            }
            self.out.push_str(&text[start..i]);
            start = i + c.len_utf8();
            self.out.push('\\');
            let short = match c {
                '\0' => '0',
                '\u{7}' => 'a',
                '\u{8}' => 'b',
                '\t' => 't',
                '\n' => 'n',
                '\u{B}' => 'v',
                '\u{C}' => 'f',
                '\r' => 'r',
                '\u{1B}' => 'e',
                '"' => '"',
                '\\' => '\\',
                '\u{85}' => 'N',
                '\u{2028}' => 'L',
                '\u{2029}' => 'P',
                _ => {
                    let code = u32::from(c);
                    // Writing to a String cannot fail.
                    let _ = match code {
                        0..=0xFF => write!(self.out, "x{code:02X}"),
                        0x100..=0xFFFF => write!(self.out, "u{code:04X}"),
                        _ => write!(self.out, "U{code:08X}"),
                    };
                    continue;
                }
            };
            self.out.push(short);
        }
        self.out.push_str(&text[start..]);
        self.write_indicator("\"", false, false, false);
    }

    /// A literal block; `other_breaks`: the text has line breaks other than `\n`.
    fn write_literal(&mut self, text: &str, other_breaks: bool) {
        self.write_indicator("|", true, false, false);
        let mut chars = text.chars();
        if chars.next().is_some_and(|c| c == ' ' || is_break(c)) {
            self.out.push('2');
        }
        let mut rev = text.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (Some(last), _) if !is_break(last) => "-",
            (Some(_), None) => "+",
            (Some(_), Some(before)) if is_break(before) => "+",
            (Some(_), Some(_)) => "",
            (None, _) => "-",
        };
        self.out.push_str(chomp);
        self.out.push('\n');
        let indent = self.scalar_indent();
        let mut breaks = true;
        let lines: &mut dyn Iterator<Item = &str> = if other_breaks {
            &mut text.split_inclusive(is_break)
        } else {
            &mut text.split_inclusive('\n')
        };
        for line in lines {
            let (body, brk) = match line.char_indices().next_back() {
                Some((i, c)) if is_break(c) => (&line[..i], Some(c)),
                _ => (line, None),
            };
            if !body.is_empty() {
                if breaks {
                    self.push_spaces(indent);
                }
                self.out.push_str(body);
                breaks = false;
            }
            if let Some(c) = brk {
                self.out.push(c);
                breaks = true;
            }
        }
        self.whitespace = true;
        self.indention = breaks;
        self.column = 0;
    }

    /// A scalar node that is a value (not a key); `forced`: the style serde_norway asks
    /// for regardless of the text (single quotes for a char), else it infers one.
    fn value_scalar(&mut self, text: &str, forced: Option<Style>) -> Result<(), Error> {
        self.begin_node()?;
        let a = analyze(text);
        let requested = forced.unwrap_or_else(|| requested_style(text, a));
        let style = select_style(requested, a, text.is_empty(), false);
        self.write_scalar(text, style, a);
        Ok(())
    }

    /// Numbers, bools and null: always plain (no indicator, space or break in them).
    fn value_plain(&mut self, text: &str) -> Result<(), Error> {
        self.begin_node()?;
        self.write_plain(text);
        Ok(())
    }

    /// A scalar mapping key, after the key's indent: `text:` or `? text` (then `:` on the
    /// next line). Returns whether it is a simple key.
    fn key_scalar(&mut self, text: &str, forced: Option<Style>) -> bool {
        if forced.is_none() && text.len() <= 128 && identifier(text) {
            self.write_plain(text);
            return true;
        }
        let a = analyze(text);
        let simple = !a.multiline && text.len() <= 128;
        if !simple {
            self.write_indicator("?", true, false, true);
        }
        let requested = forced.unwrap_or_else(|| requested_style(text, a));
        let style = select_style(requested, a, text.is_empty(), simple);
        self.write_scalar(text, style, a);
        simple
    }

    fn empty_collection(&mut self, flow: &str) {
        self.write_indicator(flow, true, false, false);
    }

    fn open_collection(&mut self) -> Result<(i32, bool), Error> {
        self.begin_node()?;
        self.depth += 1;
        Ok((self.indent, self.mapping_context))
    }
}

/// A block sequence being written; its first item decides between block and `[]`.
#[derive(Debug)]
struct Seq<'a> {
    w: &'a mut Writer,
    started: bool,
    saved_indent: i32,
    mapping_context: bool,
}

impl Seq<'_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let w = &mut *self.w;
        if !self.started {
            self.started = true;
            // In a mapping, a sequence sits at the key's indent (`key:\n- a`).
            let indentless = self.mapping_context && !w.indention;
            if w.indent < 0 {
                w.indent = 0;
            } else if !indentless {
                w.indent += 2;
            }
        }
        w.write_indent();
        w.write_indicator("-", true, false, true);
        w.mapping_context = false;
        value.serialize(&mut *w)
    }

    fn finish(self) -> Result<(), Error> {
        if self.started {
            self.w.indent = self.saved_indent;
        } else {
            self.w.empty_collection("[]");
        }
        self.w.depth = self.w.depth.saturating_sub(1);
        Ok(())
    }
}

/// A block mapping being written; its first key decides between block and `{}`.
#[derive(Debug)]
struct Map<'a> {
    w: &'a mut Writer,
    started: bool,
    saved_indent: i32,
    /// The last key was written as `key:` (else as `? key`).
    simple_key: bool,
    /// serde_norway reads the first key of a one-entry map for a YAML tag.
    check_tag: bool,
}

impl Map<'_> {
    fn key<T: ?Sized + Serialize>(&mut self, key: &T, check_tag: bool) -> Result<(), Error> {
        let w = &mut *self.w;
        if !self.started {
            self.started = true;
            w.indent = if w.indent < 0 { 0 } else { w.indent + 2 };
        }
        w.write_indent();
        self.simple_key = key.serialize(KeySerializer { w, check_tag })?;
        Ok(())
    }

    fn value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let w = &mut *self.w;
        if self.simple_key {
            w.write_indicator(":", false, false, false);
        } else {
            w.write_indent();
            w.write_indicator(":", true, false, true);
        }
        w.mapping_context = true;
        value.serialize(&mut *w)
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.key(key, false)?;
        self.value(value)
    }

    fn finish(self) -> Result<(), Error> {
        if self.started {
            self.w.indent = self.saved_indent;
        } else {
            self.w.empty_collection("{}");
        }
        self.w.depth = self.w.depth.saturating_sub(1);
        Ok(())
    }
}

macro_rules! plain_int {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<Self::Ok, Error> {
            self.plain(itoa::Buffer::new().format(v))
        })*
    };
}

/// serde_norway's float text: ryu's shortest form, or `.inf`, `-.inf`, `.nan`.
macro_rules! float_method {
    ($method:ident: $ty:ty) => {
        fn $method(self, v: $ty) -> Result<Self::Ok, Error> {
            let mut buffer = ryu::Buffer::new();
            self.plain(if v.is_nan() {
                ".nan"
            } else if v.is_infinite() {
                if v.is_sign_positive() {
                    ".inf"
                } else {
                    "-.inf"
                }
            } else {
                buffer.format_finite(v)
            })
        }
    };
}

/// The serializer methods shared by values and keys: scalars by how they are written.
trait Scalars: Sized {
    type Out;
    fn plain(self, text: &str) -> Result<Self::Out, Error>;
    /// A string; `forced`: the style asked for whatever the text (else inferred).
    fn string(self, text: &str, forced: Option<Style>) -> Result<Self::Out, Error>;
}

impl Scalars for &mut Writer {
    type Out = ();
    fn plain(self, text: &str) -> Result<(), Error> {
        self.value_plain(text)
    }
    fn string(self, text: &str, forced: Option<Style>) -> Result<(), Error> {
        self.value_scalar(text, forced)
    }
}

/// Writes the serde scalar methods of a serializer through its [`Scalars`] impl.
macro_rules! scalar_methods {
    () => {
        fn serialize_bool(self, v: bool) -> Result<Self::Ok, Error> {
            self.plain(if v { "true" } else { "false" })
        }

        plain_int!(
            serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
            serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
            serialize_u64: u64, serialize_u128: u128,
        );

        float_method!(serialize_f32: f32);
        float_method!(serialize_f64: f64);

        fn serialize_char(self, v: char) -> Result<Self::Ok, Error> {
            self.string(v.encode_utf8(&mut [0; 4]), Some(Style::SingleQuoted))
        }

        fn serialize_str(self, v: &str) -> Result<Self::Ok, Error> {
            self.string(v, None)
        }

        fn serialize_bytes(self, _v: &[u8]) -> Result<Self::Ok, Error> {
            Err(Error::unsupported("bytes"))
        }

        fn serialize_none(self) -> Result<Self::Ok, Error> {
            self.plain("null")
        }

        fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Self::Ok, Error> {
            value.serialize(self)
        }

        fn serialize_unit(self) -> Result<Self::Ok, Error> {
            self.plain("null")
        }

        fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok, Error> {
            self.plain("null")
        }

        fn serialize_unit_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
        ) -> Result<Self::Ok, Error> {
            self.serialize_str(variant)
        }

        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _name: &'static str,
            value: &T,
        ) -> Result<Self::Ok, Error> {
            value.serialize(self)
        }

        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _value: &T,
        ) -> Result<Self::Ok, Error> {
            Err(Error::tag())
        }

        fn serialize_tuple_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err(Error::tag())
        }

        fn serialize_struct_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err(Error::tag())
        }
    };
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Map<'a>;
    type SerializeStructVariant = Impossible<(), Error>;

    scalar_methods!();

    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a>, Error> {
        let (saved_indent, mapping_context) = self.open_collection()?;
        Ok(Seq {
            w: self,
            started: false,
            saved_indent,
            mapping_context,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Map<'a>, Error> {
        let (saved_indent, _) = self.open_collection()?;
        Ok(Map {
            w: self,
            started: false,
            saved_indent,
            simple_key: true,
            check_tag: len == Some(1),
        })
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Map<'a>, Error> {
        let (saved_indent, _) = self.open_collection()?;
        Ok(Map {
            w: self,
            started: false,
            saved_indent,
            simple_key: true,
            check_tag: false,
        })
    }
}

/// serde's three sequence traits (sequence, tuple, tuple struct) for a type with
/// `element` and `finish` methods.
macro_rules! sequence_traits {
    ($ty:ty, $ok:ty) => {
        sequence_traits!(@one SerializeSeq, serialize_element, $ty, $ok);
        sequence_traits!(@one SerializeTuple, serialize_element, $ty, $ok);
        sequence_traits!(@one SerializeTupleStruct, serialize_field, $ty, $ok);
    };
    (@one $trait:ident, $method:ident, $ty:ty, $ok:ty) => {
        impl ser::$trait for $ty {
            type Ok = $ok;
            type Error = Error;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<$ok, Error> {
                self.finish()
            }
        }
    };
}

sequence_traits!(Seq<'_>, ());

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        // serde_norway settles the mapping before a key given alone: no tag check.
        self.check_tag = false;
        self.key(key, false)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn serialize_entry<K: ?Sized + Serialize, V: ?Sized + Serialize>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let check_tag = std::mem::take(&mut self.check_tag);
        self.key(key, check_tag)?;
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Map<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// Serializes a mapping key in place: `Ok(true)` for a simple key (`key:`), `Ok(false)` for
/// a complex one (`? key`).
#[derive(Debug)]
struct KeySerializer<'a> {
    w: &'a mut Writer,
    /// The first key of a one-entry map given with its value: serde_norway takes a
    /// `Display` key written as `!` then more text for a YAML tag.
    check_tag: bool,
}

impl Scalars for KeySerializer<'_> {
    type Out = bool;
    fn plain(self, text: &str) -> Result<bool, Error> {
        self.w.write_plain(text);
        Ok(true)
    }
    fn string(self, text: &str, forced: Option<Style>) -> Result<bool, Error> {
        Ok(self.w.key_scalar(text, forced))
    }
}

/// Collects a `Display` value, noting whether it was written as serde_norway's tag
/// pattern: exactly `!`, then one more non-empty piece.
#[derive(Debug, Default)]
struct TagCheck {
    text: String,
    pieces: usize,
    bang_first: bool,
}

impl fmt::Write for TagCheck {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !s.is_empty() {
            if self.pieces == 0 {
                self.bang_first = s == "!";
            }
            self.pieces += 1;
            self.text.push_str(s);
        }
        Ok(())
    }
}

impl<'a> ser::Serializer for KeySerializer<'a> {
    type Ok = bool;
    type Error = Error;
    type SerializeSeq = EmptyKey<'a>;
    type SerializeTuple = EmptyKey<'a>;
    type SerializeTupleStruct = EmptyKey<'a>;
    type SerializeTupleVariant = Impossible<bool, Error>;
    type SerializeMap = EmptyKey<'a>;
    type SerializeStruct = EmptyKey<'a>;
    type SerializeStructVariant = Impossible<bool, Error>;

    scalar_methods!();

    fn collect_str<T: ?Sized + Display>(self, value: &T) -> Result<bool, Error> {
        let mut check = TagCheck::default();
        // Writing to a String cannot fail.
        let _ = write!(check, "{value}");
        if self.check_tag && check.bang_first && check.pieces == 2 {
            return Err(Error::unsupported("YAML tags (a `!tag` key)"));
        }
        self.serialize_str(&check.text)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<EmptyKey<'a>, Error> {
        Ok(EmptyKey {
            w: self.w,
            flow: "[]",
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<EmptyKey<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<EmptyKey<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<EmptyKey<'a>, Error> {
        Ok(EmptyKey {
            w: self.w,
            flow: "{}",
        })
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<EmptyKey<'a>, Error> {
        self.serialize_map(Some(len))
    }
}

/// A sequence or mapping used as a key: only an empty one (`[]:`, `{}:`) is supported.
#[derive(Debug)]
struct EmptyKey<'a> {
    w: &'a mut Writer,
    flow: &'static str,
}

impl EmptyKey<'_> {
    fn refuse<T>(&self) -> Result<T, Error> {
        Err(Error::unsupported(
            "a non-empty sequence or mapping as a mapping key",
        ))
    }

    fn element<T: ?Sized>(&mut self, _value: &T) -> Result<(), Error> {
        self.refuse()
    }

    fn finish(self) -> Result<bool, Error> {
        self.w.empty_collection(self.flow);
        Ok(true)
    }
}

sequence_traits!(EmptyKey<'_>, bool);

impl ser::SerializeMap for EmptyKey<'_> {
    type Ok = bool;
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, _key: &T) -> Result<(), Error> {
        self.refuse()
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, _value: &T) -> Result<(), Error> {
        self.refuse()
    }
    fn end(self) -> Result<bool, Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for EmptyKey<'_> {
    type Ok = bool;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        _key: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        self.refuse()
    }
    fn end(self) -> Result<bool, Error> {
        self.finish()
    }
}
