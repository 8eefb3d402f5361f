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

/// The line that names the hash function, for a reader of the file.
const HASH_LINE: &str = "# hash: xxh3-64";

/// The hash of a file's contents in the manifest: XXH3, 64 bits. It tells "as poolwatch
/// wrote it" from "changed since" (not a defence against forgery, which would need write
/// access to the folder anyway); a fleet's emit hashes everything it generates (a hundred
/// megabytes for a thousand specs), and XXH3 reads several bytes a cycle.
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// The manifest's text for a set of files (path, hash of the contents), sorted by path.
pub(crate) fn render(files: &[(String, u64)]) -> String {
    let sorted: BTreeMap<&str, u64> = files.iter().map(|(p, h)| (p.as_str(), *h)).collect();
    let mut text = format!("{HEADER}{HASH_LINE}\n");
    for (path, h) in sorted {
        text.push_str(&format!("{h:016x} {path}\n"));
    }
    text
}

/// Reads a manifest: each file it lists with the hash of its contents. Lines that are not
/// `<hash> <path>` are skipped: the manifest is rewritten by every emit, and an unreadable
/// line only means a file is not removed.
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

    /// XXH3-64 with seed 0, the published function: a manifest written by one build is
    /// read right by the next.
    #[test]
    fn the_hash_is_xxh3_64() {
        assert_eq!(hash(b""), 0x2d06_8005_38d3_94c2);
    }
}
