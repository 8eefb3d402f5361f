//! poolwatch's YAML writer (`render::yaml`) against serde_norway, byte for byte: on every
//! value the suite's specs generate (every environment and deploy target, and a fleet with
//! odd label values), on hand-picked edge cases, and on random trees of tricky strings,
//! numbers and nested collections. `PROPTEST_CASES=2000 cargo test --test yaml_writer`
//! runs a longer search.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use crate::common::fleetgen as fleet;

use std::collections::BTreeMap;
use std::fmt;

use poolwatch::pipeline::Generated;
use poolwatch::render::{self, deploy, yaml};
use poolwatch::spec::SpecSource;
use proptest::prelude::*;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

/// Both writers' text for a value; panics with a line diff when they differ.
fn assert_same<T: Serialize + ?Sized>(what: &str, value: &T) {
    let expected = serde_norway::to_string(value).expect("serde_norway serializes");
    let actual = yaml::to_string(value).expect("the YAML writer serializes");
    if actual != expected {
        let diff = similar::TextDiff::from_lines(&expected, &actual)
            .unified_diff()
            .header("serde_norway", "render::yaml")
            .to_string();
        panic!(
            "{what}: the YAML writer differs from serde_norway\n{diff}\n{expected:?}\n{actual:?}"
        );
    }
}

/// Every YAML value a generated set serializes, and the files holding them.
fn assert_generated_matches(name: &str, g: &Generated) {
    let a = &common::artifacts(g);
    let groups = &a.rules.groups;
    assert_same(&format!("{name}: rules"), &a.rules);
    assert_same(&format!("{name}: tests"), &a.tests);
    assert_same(
        &format!("{name}: provisioning"),
        &deploy::provisioning(&g.model),
    );
    assert_same(
        &format!("{name}: mimir"),
        &deploy::mimir_namespace(&g.model, groups),
    );
    if let Some(manifest) = deploy::prometheus_rule(&g.model, groups) {
        assert_same(&format!("{name}: operator"), &manifest);
    }
    // The files themselves: the header, then serde_norway's text.
    let header = render::yaml_header(&g.model);
    for file in g.files.iter().filter(|f| f.path.ends_with(".yaml")) {
        let Some(body) = file.contents.strip_prefix(&header) else {
            panic!("{name}: {} lacks the header", file.path);
        };
        assert!(!body.is_empty(), "{name}: {} is empty", file.path);
    }
    let rules = g
        .files
        .iter()
        .find(|f| f.path.ends_with(&poolwatch::conventions::rule_file_path()))
        .expect("a rule file");
    assert_eq!(
        rules.contents,
        format!("{header}{}", serde_norway::to_string(&a.rules).unwrap()),
        "{name}: the rule file"
    );
}

fn every_spec_environment_and_target_serializes_as_serde_norway_does() {
    for (name, source) in common::all_specs() {
        for (variant, g) in common::generate_all(&source) {
            assert_generated_matches(&format!("{name}/{variant}"), &g);
        }
        // The other deploy targets wrap the same groups; their files come from to_yaml.
        for target in [render::Target::Operator, render::Target::Mimir] {
            let mut sources = poolwatch::source::Sources::default();
            if let Ok(g) = poolwatch::pipeline::generate_for(&mut sources, &source, target) {
                let header = render::yaml_header(&g.model);
                let groups = &common::artifacts(&g).rules.groups;
                let file = &g.files[0];
                let body = file.contents.strip_prefix(&header).expect("a header");
                let expected = match target {
                    render::Target::Operator => {
                        serde_norway::to_string(&deploy::prometheus_rule(&g.model, groups).unwrap())
                    }
                    _ => serde_norway::to_string(&deploy::mimir_namespace(&g.model, groups)),
                }
                .unwrap();
                assert_eq!(body, expected, "{name}: {target:?} file");
            }
        }
    }
}

fn a_fleet_with_odd_label_values_serializes_as_serde_norway_does() {
    let source = SpecSource {
        name: "fleet-30.yaml".into(),
        text: fleet::fleet(30),
    };
    let g = common::generate(&source);
    assert_generated_matches("fleet-30", &g);
}

/// A tree of YAML values, serialized through serde's data model.
#[derive(Debug, Clone)]
enum V {
    Str(String),
    Char(char),
    F64(f64),
    F32(f32),
    U64(u64),
    I64(i64),
    U128(u128),
    Bool(bool),
    Null,
    Some(Box<V>),
    Seq(Vec<V>),
    /// A map given as entries (duplicates allowed); `true`: its length is announced. Keys
    /// are scalars or empty collections (see [`key`]).
    Map(Vec<(V, V)>, bool),
    /// A struct: field names are static, picked from [`FIELDS`].
    Struct(Vec<(usize, V)>),
}

const FIELDS: [&str; 9] = [
    "name", "for", "null", "true", "a b", "- x", "010", "", "key: v",
];

impl Serialize for V {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            V::Str(v) => s.serialize_str(v),
            V::Char(v) => s.serialize_char(*v),
            V::F64(v) => s.serialize_f64(*v),
            V::F32(v) => s.serialize_f32(*v),
            V::U64(v) => s.serialize_u64(*v),
            V::I64(v) => s.serialize_i64(*v),
            V::U128(v) => s.serialize_u128(*v),
            V::Bool(v) => s.serialize_bool(*v),
            V::Null => s.serialize_none(),
            V::Some(v) => s.serialize_some(v),
            V::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            V::Map(entries, announced) => {
                let mut map = s.serialize_map(announced.then_some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            V::Struct(fields) => {
                let mut st = s.serialize_struct("S", fields.len())?;
                for (i, v) in fields {
                    st.serialize_field(FIELDS[*i], v)?;
                }
                st.end()
            }
        }
    }
}

/// Pieces that matter to YAML: indicators, blanks, breaks, special and non-ASCII
/// characters, and words that read back as null, bools or numbers.
#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "'", "\"", "#", " #", ": ", ":", "- ", "-", "?", "? ", "&", "*", "!", "|", ">", "%", "@",
    "`", "{", "}", "[", "]", ",", " ", "  ", "\t", "\n", "\n\n", "\r", "\r\n", "é", "ü", "😀",
    "\u{85}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{A0}", "\u{FFFE}", "\u{0}", "\u{1}",
    "\u{1B}", "\u{7F}", "\u{9F}", "\\", "~", "null", "Null", "NULL", "yes", "no", "true",
    "True", "TRUE", "false", "False", "FALSE", "1e3", "1E3", "1e+3", "e3", "0x1F", "0X1F",
    "-0x1F", "+0x1F", "0x", "0x+1", "0o17", "-0o7", "0b101", "-0b1", ".inf", ".Inf", ".INF",
    "-.inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN", "NaN", "inf", "Infinity", "010", "-010",
    "+1", "-1", "++1", "+-1", "1", "0", "0.0", "1.5", ".5", "1.", ".", "+", "1_000", "1e400",
    "---", "...", "a", "b", "key", "{{ $labels.pool }}", "x=\"y\"",
];

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec(prop::sample::select(TOKENS), 0..7).prop_map(|t| t.concat()),
        1 => any::<String>(),
        1 => "[a-z]{120,140}",
        1 => prop::collection::vec(prop::sample::select(TOKENS), 20..60).prop_map(|t| t.concat()),
    ]
}

/// Scalars, as values or keys.
fn scalar() -> impl Strategy<Value = V> {
    prop_oneof![
        10 => tricky_string().prop_map(V::Str),
        1 => any::<u64>().prop_map(V::U64),
        1 => any::<i64>().prop_map(V::I64),
        1 => any::<bool>().prop_map(V::Bool),
        2 => any::<f64>().prop_map(V::F64),
        1 => any::<char>().prop_map(V::Char),
        1 => Just(V::Null),
    ]
}

/// Mapping keys: scalars, or empty collections (the only collections the writer takes
/// as keys).
fn key() -> impl Strategy<Value = V> {
    prop_oneof![
        8 => scalar(),
        1 => Just(V::Seq(vec![])),
        1 => any::<bool>().prop_map(|announced| V::Map(vec![], announced)),
    ]
}

fn value() -> impl Strategy<Value = V> {
    let leaf = prop_oneof![
        12 => scalar(),
        1 => prop::sample::select(vec![0.0, -0.0, 1.0, 1e-7, 1e16, f64::INFINITY, f64::NEG_INFINITY, f64::NAN])
            .prop_map(V::F64),
        1 => any::<f32>().prop_map(V::F32),
        1 => any::<u128>().prop_map(V::U128),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(V::Seq),
            (
                prop::collection::vec((key(), inner.clone()), 0..5),
                any::<bool>()
            )
                .prop_map(|(e, announced)| V::Map(e, announced)),
            prop::collection::vec((0..FIELDS.len(), inner.clone()), 0..5).prop_map(V::Struct),
            inner.prop_map(|v| V::Some(Box::new(v))),
        ]
    })
}

proptest! {
    // PROPTEST_CASES sets the number of cases (256 by default).
    #![proptest_config(ProptestConfig::default())]

    fn random_trees_serialize_as_serde_norway_does(v in value()) {
        let expected = serde_norway::to_string(&v).unwrap();
        prop_assert_eq!(yaml::to_string(&v).unwrap(), expected);
    }

    /// The promised shape: maps inside sequences inside maps, with tricky keys and values.
    fn nested_string_maps_serialize_as_serde_norway_does(
        outer in prop::collection::btree_map(
            tricky_string(),
            prop::collection::vec(
                prop::collection::btree_map(tricky_string(), tricky_string(), 0..4),
                0..3,
            ),
            0..4,
        )
    ) {
        let expected = serde_norway::to_string(&outer).unwrap();
        prop_assert_eq!(yaml::to_string(&outer).unwrap(), expected);
    }

    fn single_strings_serialize_as_serde_norway_does(s in tricky_string()) {
        prop_assert_eq!(yaml::to_string(&s).unwrap(), serde_norway::to_string(&s).unwrap());
        let as_key = BTreeMap::from([(s.clone(), s.clone())]);
        prop_assert_eq!(yaml::to_string(&as_key).unwrap(), serde_norway::to_string(&as_key).unwrap());
        let in_seq = vec![BTreeMap::from([("k", vec![s.clone()])])];
        prop_assert_eq!(yaml::to_string(&in_seq).unwrap(), serde_norway::to_string(&in_seq).unwrap());
    }
}

fn every_token_alone_and_doubled_serializes_as_serde_norway_does() {
    for a in TOKENS {
        for b in ["", "x", " ", "\n", a] {
            let text = format!("{a}{b}");
            assert_same(&format!("{text:?}"), &text);
            assert_same(
                &format!("{text:?} as key"),
                &BTreeMap::from([(&text, &text)]),
            );
            assert_same(&format!("{text:?} in a seq"), &[[&text]]);
        }
    }
}

fn s(text: &str) -> V {
    V::Str(text.into())
}

fn map(entries: Vec<(&str, V)>) -> V {
    V::Map(entries.into_iter().map(|(k, v)| (s(k), v)).collect(), true)
}

fn edge_cases_serialize_as_serde_norway_does() {
    let long = "k".repeat(129);
    let cases = vec![
        s(""),
        s("plain"),
        s("a\nb"),
        s("a\n"),
        s("a\n\n"),
        s("\n"),
        s("\n\n"),
        s(" lead\nx"),
        s("\nlead"),
        s("trail \nx"),
        s("x\n "),
        s("a\u{2028}b"),
        s("a\u{2028}"),
        s("\u{2028}"),
        s("it's\u{2029}'q'"),
        V::Char('\n'),
        V::Char('\''),
        V::Char('\u{2028}'),
        V::Seq(vec![]),
        map(vec![]),
        V::Seq(vec![V::Seq(vec![s("a"), s("b")]), V::Seq(vec![])]),
        V::Seq(vec![map(vec![("k", s("v")), ("k2", V::Seq(vec![s("x")]))])]),
        map(vec![
            ("seq", V::Seq(vec![s("a"), map(vec![("x", s("y"))])])),
            ("empty", V::Seq(vec![])),
            ("m", map(vec![("n", map(vec![]))])),
            ("lit", s("line one\nline two\n")),
            ("q", s("a\u{2028}b")),
        ]),
        map(vec![
            (long.as_str(), s("v")),
            ("multi\nline key", s("v")),
            ("multi\nline key 2", V::Seq(vec![s("a"), s("b")])),
            ("multi\nline key 3", map(vec![("a", s("b")), ("c", s("d"))])),
            ("end\n", s("x\n")),
            ("sq\u{2028}key", V::Seq(vec![])),
            (long.as_str(), map(vec![])),
        ]),
        V::Map(
            vec![
                (V::Seq(vec![]), s("v")),
                (map(vec![]), V::Seq(vec![s("a")])),
                (V::Null, V::Null),
            ],
            false,
        ),
        V::Seq(vec![V::Some(Box::new(V::Seq(vec![V::Seq(vec![V::Seq(
            vec![s("deep\nliteral\n\n")],
        )])])))]),
        V::U128(u128::MAX),
        V::F32(0.1),
        V::F64(1e16),
        V::F64(-0.0),
    ];
    for (i, case) in cases.iter().enumerate() {
        assert_same(&format!("case {i} {case:?}"), case);
    }
}

/// `Display` written as `!` then the rest: serde_norway reads a one-entry map's key of
/// that shape as a YAML tag.
struct Bang(&'static str);

impl fmt::Display for Bang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("!")?;
        f.write_str(self.0)
    }
}

impl Serialize for Bang {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn unsupported_values_are_errors_not_panics() {
    #[derive(Serialize)]
    enum E {
        Data(u32),
        Pair(u32, u32),
        Named { x: u32 },
        Unit,
    }
    assert!(yaml::to_string(&E::Data(1)).is_err());
    assert!(yaml::to_string(&E::Pair(1, 2)).is_err());
    assert!(yaml::to_string(&E::Named { x: 1 }).is_err());
    assert_same("unit variant", &vec![E::Unit]);
    assert!(yaml::to_string(&Bytes).is_err());
    let seq_key = BTreeMap::from([(vec![1], 2)]);
    assert!(yaml::to_string(&seq_key).is_err());
    // A tag-shaped key of a one-entry map: serde_norway writes a tag, we refuse.
    let tagged = BangMap(vec!["t"]);
    assert_eq!(serde_norway::to_string(&tagged).unwrap(), "!t 1\n");
    assert!(yaml::to_string(&tagged).is_err());
    // With two entries it is an ordinary key.
    assert_same("bang keys", &BangMap(vec!["a", "b"]));
}

/// A map of `Bang` keys, each to 1, with its length announced.
struct BangMap(Vec<&'static str>);

impl Serialize for BangMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for k in &self.0 {
            map.serialize_entry(&Bang(k), &1)?;
        }
        map.end()
    }
}

struct Bytes;

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b"x")
    }
}

fn header_and_body_come_out_of_to_yaml() {
    let source = common::all_specs().into_iter().next().unwrap().1;
    let g = common::generate(&source);
    let tests = common::artifacts(&g).tests;
    let text = render::to_yaml(&g.model, &tests);
    assert_eq!(
        text,
        format!(
            "{}{}",
            render::yaml_header(&g.model),
            serde_norway::to_string(&tests).unwrap()
        )
    );
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        every_spec_environment_and_target_serializes_as_serde_norway_does,
        a_fleet_with_odd_label_values_serializes_as_serde_norway_does,
        random_trees_serialize_as_serde_norway_does,
        nested_string_maps_serialize_as_serde_norway_does,
        single_strings_serialize_as_serde_norway_does,
        every_token_alone_and_doubled_serializes_as_serde_norway_does,
        edge_cases_serialize_as_serde_norway_does,
        unsupported_values_are_errors_not_panics,
        header_and_body_come_out_of_to_yaml,
    ]
}
