//! `GET /accounts/{sid}/subscribers/{user}/contacts`: the contact groups
//! the sample apps show on their contacts tab, from configuration.
//!
//! Both apps parse the same shape, each strictly in its own way:
//! Android (`ContactsGroupFragment.fetchContactList`) reads
//! `response[i].code` as the string `"200"` (an integer reads the same), then
//! `data.group`, `data.is_special`, `data.contacts[j].contact_name` and
//! `.contact_number`; iOS (`HomeViewController.getContactList`) decodes it
//! with `Codable` into `{response: [{code: Int, error_data?, status: String,
//! data: {group, is_special, contacts: [{contact_name, contact_number}]}}]}`,
//! where every one of those keys is required. [`answer`] writes exactly that.
//!
//! Configuration: a JSON document in the `DEVICES` KV namespace under
//! `contacts:<user>` for one user, else `contacts` for everyone:
//! `{"groups": [{"group": "Team", "is_special": true, "contacts":
//! [{"contact_name": "Bob", "contact_number": "bob"}]}]}`. In a special
//! group the apps dial the contact's number itself (an app user's name for
//! app-to-app calls); in other groups they dial the ExoPhone.

use serde::{Deserialize, Serialize};

/// Most groups and contacts served (a phone's list view, not a CRM export).
pub const MAX_GROUPS: usize = 50;
/// Most contacts per group.
pub const MAX_CONTACTS: usize = 500;

/// KV key of a user's own contacts document.
pub fn user_key(user: &str) -> String {
    format!("contacts:{user}")
}

/// KV key of the document every user gets when they have none of their own.
pub const SHARED_KEY: &str = "contacts";

/// One contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Shown name.
    pub contact_name: String,
    /// What the app dials: an app user's name (special groups) or a number.
    pub contact_number: String,
}

/// A group of contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactGroup {
    /// Group title. (Android shows a WhatsApp button in groups whose name contains "Exotel".)
    pub group: String,
    /// Special groups are dialled app-to-app (`sip:<contact_number>`).
    #[serde(default)]
    pub is_special: bool,
    /// The contacts.
    #[serde(default)]
    pub contacts: Vec<Contact>,
}

/// The configuration document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactsConfig {
    /// Groups, in display order.
    pub groups: Vec<ContactGroup>,
}

/// Why a contacts document was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactsError {
    /// Not the documented JSON.
    #[error("contacts document is not valid: {0}")]
    Invalid(String),
    /// Over the limits.
    #[error(
        "contacts document has more than {MAX_GROUPS} groups or {MAX_CONTACTS} contacts in a group"
    )]
    TooLarge,
    /// A name or number that is empty or too long.
    #[error("group {0:?}: every contact needs a name and a number (at most 128 characters)")]
    BadContact(String),
}

impl ContactsConfig {
    /// Parses and checks a stored document.
    pub fn parse(text: &str) -> Result<Self, ContactsError> {
        let c: Self =
            serde_json::from_str(text).map_err(|e| ContactsError::Invalid(e.to_string()))?;
        if c.groups.len() > MAX_GROUPS || c.groups.iter().any(|g| g.contacts.len() > MAX_CONTACTS) {
            return Err(ContactsError::TooLarge);
        }
        let ok = |s: &str| !s.trim().is_empty() && s.len() <= 128;
        for g in &c.groups {
            if !ok(&g.group)
                || g.contacts
                    .iter()
                    .any(|x| !ok(&x.contact_name) || !ok(&x.contact_number))
            {
                return Err(ContactsError::BadContact(
                    g.group.chars().take(40).collect(),
                ));
            }
        }
        Ok(c)
    }
}

/// One group as the apps read it.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    code: u16,
    error_data: Option<()>,
    status: &'static str,
    data: &'a ContactGroup,
}

/// The whole answer.
#[derive(Debug, Serialize)]
pub struct ContactsAnswer<'a> {
    http_code: u16,
    response: Vec<Entry<'a>>,
}

/// The JSON both apps parse (see the module docs); an empty `response`
/// shows the apps' own "no contacts" view.
pub fn answer(config: &ContactsConfig) -> ContactsAnswer<'_> {
    let response = config
        .groups
        .iter()
        .map(|g| Entry {
            code: 200,
            error_data: None,
            status: "success",
            data: g,
        })
        .collect();
    ContactsAnswer {
        http_code: 200,
        response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_both_apps_parse() {
        let c = ContactsConfig::parse(
            r#"{"groups":[{"group":"Exotel team","is_special":true,"contacts":[{"contact_name":"Bob","contact_number":"bob"}]},{"group":"Support","contacts":[{"contact_name":"Desk","contact_number":"+918047115777"}]}]}"#,
        )
        .unwrap();
        let v = serde_json::to_value(answer(&c)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"http_code": 200, "response": [
                {"code": 200, "error_data": null, "status": "success", "data": {"group": "Exotel team", "is_special": true, "contacts": [{"contact_name": "Bob", "contact_number": "bob"}]}},
                {"code": 200, "error_data": null, "status": "success", "data": {"group": "Support", "is_special": false, "contacts": [{"contact_name": "Desk", "contact_number": "+918047115777"}]}}
            ]})
        );
        let empty = ContactsConfig::default();
        assert_eq!(
            serde_json::to_string(&answer(&empty)).unwrap(),
            r#"{"http_code":200,"response":[]}"#
        );
    }

    #[test]
    fn bad_documents_are_refused() {
        assert!(matches!(
            ContactsConfig::parse("[]"),
            Err(ContactsError::Invalid(_))
        ));
        assert!(matches!(
            ContactsConfig::parse(r#"{"groups":[],"extra":1}"#),
            Err(ContactsError::Invalid(_))
        ));
        assert!(matches!(
            ContactsConfig::parse(
                r#"{"groups":[{"group":"G","contacts":[{"contact_name":"","contact_number":"1"}]}]}"#
            ),
            Err(ContactsError::BadContact(_))
        ));
        let many = format!(
            r#"{{"groups":[{}]}}"#,
            vec![r#"{"group":"g"}"#; MAX_GROUPS + 1].join(",")
        );
        assert_eq!(ContactsConfig::parse(&many), Err(ContactsError::TooLarge));
    }
}
