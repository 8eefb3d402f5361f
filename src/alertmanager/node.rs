//! A YAML document as a tree of located nodes, so that reading an Alertmanager
//! configuration can report every unknown field and bad value with its place, not only
//! the first one serde would stop at.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A located YAML node.
pub(crate) type Located = Spanned<Node>;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    /// A number (routing never reads its value).
    Number,
    Text(String),
    List(Vec<Located>),
    /// Keys in document order, each with its own place.
    Map(Vec<(Spanned<String>, Located)>),
}

impl Node {
    /// What the node is, for messages: "a list", "a mapping", ...
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number => "a number",
            Node::Text(_) => "text",
            Node::List(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Number)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Number)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Number)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Text(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Text(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            entries.push((key, map.next_value::<Located>()?));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_keep_their_lines() {
        let mut sources = crate::source::Sources::default();
        let file = sources.add("t.yml", "a:\n  b: [1, x]\n  c: ~\n");
        let doc: Located = crate::spec::parse_yaml(&sources, file).unwrap();
        let Node::Map(top) = &doc.value else { panic!() };
        assert_eq!(top[0].0.value, "a");
        let Node::Map(inner) = &top[0].1.value else {
            panic!()
        };
        assert_eq!(inner[0].0.referenced.line(), 2);
        assert_eq!(inner[1].0.referenced.line(), 3);
        assert!(matches!(inner[1].1.value, Node::Null));
        let Node::List(items) = &inner[0].1.value else {
            panic!()
        };
        assert_eq!(items[1].referenced.column(), 10);
    }
}
