//! Source texts the diagnostics point into: the spec and any rule files under check.

use std::ops::Range;

/// Index of a file in a [`Sources`] set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub usize);

/// A byte range in one source file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Span {
    pub(crate) file: FileId,
    pub(crate) range: Range<usize>,
}

impl Span {
    pub(crate) fn new(file: FileId, range: Range<usize>) -> Self {
        Self { file, range }
    }
}

/// One loaded source file: the name shown to the user and its text.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub(crate) name: String,
    pub(crate) text: String,
}

/// All source files of one run. Diagnostics refer to them by [`FileId`].
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        FileId(self.files.len() - 1)
    }

    pub(crate) fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i), f))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        let Some(file) = self.get(id) else {
            return (0, 0);
        };
        let offset = floor_char_boundary(&file.text, offset.min(file.text.len()));
        let before = &file.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// Byte offset of a 1-based line and column, if it lies in the file.
    pub(crate) fn offset_of(&self, id: FileId, line: usize, col: usize) -> Option<usize> {
        let file = self.get(id)?;
        let mut start = 0usize;
        for _ in 1..line {
            start += file.text[start..].find('\n')? + 1;
        }
        let line_text = file.text[start..].split('\n').next().unwrap_or("");
        let byte_col = line_text
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(line_text.len(), |(i, _)| i);
        Some(start + byte_col)
    }
}

/// The largest char boundary at or below `i`.
pub(crate) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
