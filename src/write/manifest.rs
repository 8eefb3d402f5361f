//! The output folder's manifest (`.poolwatch-manifest`): every file `emit` wrote there,
//! with a hash of its contents. The next `emit` removes the files it no longer writes (say,
//! after switching `--target`), but only those still as poolwatch wrote them: a file it
//! did not write, or one changed since, is never touched.

use std::collections::BTreeMap;

/// The manifest's file name, at the root of the output folder.
pub(crate) const FILE_NAME: &str = ".poolwatch-manifest";

const HEADER: &str = "# Written by `poolwatch emit`: the files it generated in this folder and a \
                      hash of each, so that\n# the next emit removes the ones it no longer \
                      generates (if unchanged). Do not edit.\n";

/// A content hash that tells "as poolwatch wrote it" from "changed since" (64-bit FNV-1a:
/// not a defence against forgery, which would need write access to the folder anyway).
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The manifest's text for a set of files (path, hash of the contents), sorted by path.
pub(crate) fn render(files: &[(String, u64)]) -> String {
    let sorted: BTreeMap<&str, u64> = files.iter().map(|(p, h)| (p.as_str(), *h)).collect();
    let mut text = HEADER.to_string();
    for (path, h) in sorted {
        text.push_str(&format!("{h:016x} {path}\n"));
    }
    text
}

/// The files a manifest lists, with their hashes. Lines that are not `<hash> <path>` are
/// skipped: the manifest is rewritten by every emit, and an unreadable line only means a
/// file is not removed.
pub(crate) fn parse(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (h, path) = l.split_once(' ')?;
            let h = u64::from_str_radix(h, 16).ok()?;
            (!path.is_empty()).then(|| (path.to_string(), h))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_reads_back_what_it_lists() {
        let text = render(&[
            ("b/x.yml".to_string(), hash(b"x")),
            ("a.json".to_string(), hash(b"{}")),
        ]);
        assert!(text.starts_with("# Written by `poolwatch emit`"));
        let listed = parse(&text);
        assert_eq!(
            listed.keys().collect::<Vec<_>>(),
            ["a.json", "b/x.yml"],
            "sorted by path"
        );
        assert_eq!(listed["b/x.yml"], hash(b"x"));
        assert_ne!(hash(b"x"), hash(b"y"));
        assert!(parse("junk\nzz path\n").is_empty());
    }
}
