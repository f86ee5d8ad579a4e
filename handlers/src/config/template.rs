//! Personalised text: `Hello {{name}}, your order {{order_id}} ships {{eta}}`
//! filled from a caller record. A template renders only when every variable
//! it names has a value; otherwise the caller hears the line's static text,
//! never "Hello , your order ships".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bounded::SpokenText;

/// Longest value substituted; CRM fields are short, and TTS is charged by length.
const MAX_VALUE: usize = 200;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl Template {
    /// For the baked embedded config (handlers/src/bake.rs): a value that already
    /// passed `TryFrom`, written out as Rust by the build. Checks nothing.
    #[doc(hidden)]
    pub fn from_baked(source: String) -> Self {
        // Parsing again is the one way to the parts; it cannot fail for a
        // source that passed `TryFrom` (the whole text stands in if it did).
        Self::try_from(source.clone()).unwrap_or_else(|_| Self {
            parts: vec![Part::Lit(source.clone())],
            source,
        })
    }

    /// What [`Self::from_baked`] takes back (handlers/src/bake.rs).
    #[cfg(feature = "bake")]
    pub fn baked_parts(&self) -> String {
        self.source.clone()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(String),
}

impl TryFrom<String> for Template {
    type Error = String;
    fn try_from(source: String) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = source.as_str();
        while let Some(i) = rest.find("{{") {
            if i > 0 {
                parts.push(Part::Lit(rest[..i].to_owned()));
            }
            let after = &rest[i + 2..];
            let j = after
                .find("}}")
                .ok_or_else(|| format!("unclosed '{{{{' in template {source:?}"))?;
            let name = after[..j].trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!(
                    "bad variable name {name:?} in template; use letters, digits and _"
                ));
            }
            parts.push(Part::Var(name.to_owned()));
            rest = &after[j + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_owned()));
        }
        if parts.is_empty() {
            return Err("template must not be empty".into());
        }
        Ok(Self { source, parts })
    }
}

impl From<Template> for String {
    fn from(t: Template) -> String {
        t.source
    }
}

impl Template {
    /// Names of the variables it needs.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// Renders with `vars`; `None` when a variable is missing or empty, or
    /// the result is not speakable text.
    pub fn render(&self, vars: &BTreeMap<String, String>) -> Option<SpokenText> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    let val = vars.get(v).map(|s| s.trim()).filter(|s| !s.is_empty())?;
                    // A value cannot smuggle a template or a newline (which
                    // would turn a greeting into a list of audio URLs).
                    let clean: String = val
                        .chars()
                        .take(MAX_VALUE)
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .collect();
                    out.push_str(&clean);
                }
            }
        }
        SpokenText::try_from(out).ok()
    }
}

/// Reads a caller record (a JSON object) into template variables: strings
/// as they are, numbers and booleans as text, anything else skipped.
pub fn record_vars(record: &serde_json::Value) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    if let Some(obj) = record.as_object() {
        for (k, v) in obj {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            vars.insert(k.clone(), s);
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Template {
        Template::try_from(s.to_string()).unwrap()
    }

    #[test]
    fn renders_when_every_variable_is_known() {
        let tpl = t("Hello {{name}}, your order {{ order_id }} ships {{eta}}.");
        assert_eq!(
            tpl.variables().collect::<Vec<_>>(),
            ["name", "order_id", "eta"]
        );
        let vars = record_vars(
            &serde_json::json!({"name": "Asha", "order_id": 4521, "eta": "tomorrow", "vip": true, "nested": {}}),
        );
        assert_eq!(
            tpl.render(&vars).unwrap().as_str(),
            "Hello Asha, your order 4521 ships tomorrow."
        );
    }

    #[test]
    fn missing_or_empty_variables_give_none() {
        let tpl = t("Hello {{name}}, order {{order_id}}");
        let mut vars = BTreeMap::new();
        vars.insert("name".to_string(), "Asha".to_string());
        assert_eq!(tpl.render(&vars), None);
        vars.insert("order_id".to_string(), "  ".to_string());
        assert_eq!(tpl.render(&vars), None);
    }

    #[test]
    fn values_cannot_break_the_answer() {
        let tpl = t("Hi {{name}}");
        let mut vars = BTreeMap::new();
        vars.insert(
            "name".to_string(),
            "Bob\nhttp://evil.example/x.wav {{eta}}".to_string(),
        );
        let out = tpl.render(&vars).unwrap();
        assert!(!out.as_str().contains('\n'));
        assert_eq!(out.as_str(), "Hi Bob http://evil.example/x.wav {{eta}}");
    }

    #[test]
    fn bad_templates_are_refused() {
        for bad in ["", "Hello {{name", "Hello {{}}", "Hi {{first name}}"] {
            assert!(Template::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }
}
