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

/// The line that names the hash function; a manifest without it is from a poolwatch that
/// hashed with FNV-1a.
const HASH_LINE: &str = "# hash: xxh3-64";

/// A content hash function that tells "as poolwatch wrote it" from "changed since" (not a
/// defence against forgery, which would need write access to the folder anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hasher {
    /// XXH3, 64 bits: what this version writes. A fleet's emit hashes everything it
    /// generates (a hundred megabytes for a thousand specs); XXH3 reads several bytes a
    /// cycle where FNV-1a takes several cycles a byte.
    Xxh3,
    /// 64-bit FNV-1a: what manifests written before the `# hash:` line hold; read only, to
    /// still remove a file an older version wrote.
    Fnv1a,
}

impl Hasher {
    pub(crate) fn hash(self, bytes: &[u8]) -> u64 {
        match self {
            Hasher::Xxh3 => xxhash_rust::xxh3::xxh3_64(bytes),
            Hasher::Fnv1a => bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
            }),
        }
    }
}

/// The hash of a file's contents as this version writes it in the manifest.
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    Hasher::Xxh3.hash(bytes)
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

/// What a manifest lists: each file with the hash of its contents, and how they were hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) hasher: Hasher,
    pub(crate) files: BTreeMap<String, u64>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            hasher: Hasher::Xxh3,
            files: BTreeMap::new(),
        }
    }
}

/// Reads a manifest. Lines that are not `<hash> <path>` are skipped: the manifest is
/// rewritten by every emit, and an unreadable line only means a file is not removed.
pub(crate) fn parse(text: &str) -> Manifest {
    let hasher = if text.lines().any(|l| l == HASH_LINE) {
        Hasher::Xxh3
    } else {
        Hasher::Fnv1a
    };
    let files = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (h, path) = l.split_once(' ')?;
            let h = u64::from_str_radix(h, 16).ok()?;
            (!path.is_empty()).then(|| (path.to_string(), h))
        })
        .collect();
    Manifest { hasher, files }
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
        assert_eq!(listed.hasher, Hasher::Xxh3);
        assert_eq!(
            listed.files.keys().collect::<Vec<_>>(),
            ["a.json", "b/x.yml"],
            "sorted by path"
        );
        assert_eq!(listed.files["b/x.yml"], hash(b"x"));
        assert_ne!(hash(b"x"), hash(b"y"));
        assert!(parse("junk\nzz path\n").files.is_empty());
    }

    /// Known values of both functions (XXH3-64 with seed 0 and FNV-1a 64 of "a"), so a
    /// manifest written by one version is read right by the next.
    #[test]
    fn hashes_are_the_published_functions() {
        assert_eq!(Hasher::Xxh3.hash(b""), 0x2d06_8005_38d3_94c2);
        assert_eq!(Hasher::Fnv1a.hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(Hasher::Fnv1a.hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn a_manifest_without_the_hash_line_was_hashed_with_fnv() {
        let old = format!("{HEADER}{:016x} rules/x.yml\n", Hasher::Fnv1a.hash(b"x"));
        let listed = parse(&old);
        assert_eq!(listed.hasher, Hasher::Fnv1a);
        assert_eq!(listed.files["rules/x.yml"], listed.hasher.hash(b"x"));
    }
}
