//! The directory of authorities: who may ask what.
//!
//! Every participating country's competent authorities, each with its
//! public key and, per category, direct access, index-only access or none
//! (SPEC section 6, "equivalent authorities"), and each country's national
//! contact point. Deny by default: an authority or a category the
//! directory does not name has no access. Read from a TOML file:
//!
//! ```toml
//! [[authority]]
//! id = "DE-BKA"                 # the keyid its requests are signed with
//! country = "DE"
//! name = "Bundeskriminalamt"
//! public_key = "<base64 of the 32-byte Ed25519 public key>"
//! # its own node, if it runs one (optional): address, id and answer key
//! node = { url = "http://10.0.0.7:8443", id = "DE-NODE", public_key = "<base64>" }
//! access = { dna = "direct", fingerprint = "index-only" }
//! judicial = false              # a court or judge that authorises evidence use (optional)
//!
//! [[contact_point]]
//! country = "DE"
//! authority = "DE-NCP"
//! url = "http://10.0.0.9:8443"
//! node_id = "DE-NCP-NODE"
//! node_key = "<base64 of its node's public key>"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::keys;

/// The categories of SPEC section 2.
pub const CATEGORIES: [&str; 6] = ["dna", "fingerprint", "ballistic", "vehicle", "phone", "identity"];

/// What an authority may do in one category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Searches answer with the full comparison (hit quality, loci).
    Direct,
    /// Searches answer only whether there is a hit and who holds it.
    IndexOnly,
    /// No searches.
    #[default]
    None,
}

/// One competent authority.
#[derive(Debug, Clone)]
pub struct Authority {
    /// Its identifier, the `keyid` of its signatures.
    pub id: String,
    /// ISO 3166 alpha-2 country code.
    pub country: String,
    /// Its name.
    pub name: String,
    /// The key its requests are signed with.
    pub key: VerifyingKey,
    /// Its node, if it runs one.
    pub node: Option<NodeRef>,
    /// Access per category; absent means none.
    pub access: BTreeMap<String, Access>,
    /// Whether it is a judicial authority (whose authorisation allows
    /// evidence use).
    pub judicial: bool,
}

/// A node another node or a client can send to: where it is, its id
/// (the `tag` requests for it are signed with) and the key its answers
/// are signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRef {
    /// `http://host:port`.
    pub url: String,
    /// The node's id.
    pub id: String,
    /// The node's public key.
    pub key: VerifyingKey,
}

/// A country's national contact point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPoint {
    /// ISO 3166 alpha-2 country code.
    pub country: String,
    /// The authority acting as contact point.
    pub authority: String,
    /// Its node.
    pub node: NodeRef,
}

/// The directory.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    authorities: BTreeMap<String, Authority>,
    contact_points: BTreeMap<String, ContactPoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    authority: Vec<Entry>,
    #[serde(default)]
    contact_point: Vec<ContactEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeEntry {
    url: String,
    id: String,
    public_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactEntry {
    country: String,
    authority: String,
    url: String,
    node_id: String,
    node_key: String,
}

fn node_ref(url: String, id: String, key: &str) -> Result<NodeRef, String> {
    if !is_valid_id(&id) {
        return Err(format!("node id {id:?} must be 1 to 64 letters, digits or -_.:"));
    }
    if !url.starts_with("http://") {
        return Err(format!("node url {url:?} must be http://host:port"));
    }
    let key = keys::public_from_text(key, "node key").map_err(|e| e.to_string())?;
    Ok(NodeRef { url, id, key })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    country: String,
    name: String,
    public_key: String,
    node: Option<NodeEntry>,
    #[serde(default)]
    access: BTreeMap<String, Access>,
    #[serde(default)]
    judicial: bool,
}

/// Whether `id` can be a key id: letters, digits and `-_.:`, 1–64 long.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

fn is_country(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

impl Directory {
    /// Reads and checks a directory file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and the entry at fault.
    pub fn load(path: &Path) -> Result<Directory, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.display().to_string(), source })?;
        Directory::parse(&text).map_err(|problem| ConfigError::Invalid { path: path.display().to_string(), problem })
    }

    /// Parses and checks directory text.
    ///
    /// # Errors
    /// What is wrong, naming the entry.
    pub fn parse(text: &str) -> Result<Directory, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut directory = Directory::default();
        for e in file.authority {
            let at = |problem: String| format!("authority {:?}: {problem}", e.id);
            if !is_valid_id(&e.id) {
                return Err(at("id must be 1 to 64 letters, digits or -_.:".into()));
            }
            if !is_country(&e.country) {
                return Err(at(format!("country {:?} is not an ISO 3166 alpha-2 code", e.country)));
            }
            if let Some(category) = e.access.keys().find(|c| !CATEGORIES.contains(&c.as_str())) {
                return Err(at(format!("unknown category {category:?} (known: {})", CATEGORIES.join(", "))));
            }
            let key = keys::public_from_text(&e.public_key, "public_key").map_err(|k| at(k.to_string()))?;
            let node = e.node.map(|n| node_ref(n.url, n.id, &n.public_key)).transpose().map_err(at)?;
            let authority = Authority { id: e.id.clone(), country: e.country, name: e.name, key, node, access: e.access, judicial: e.judicial };
            if directory.authorities.insert(e.id.clone(), authority).is_some() {
                return Err(at("listed twice".into()));
            }
        }
        for c in file.contact_point {
            if !is_country(&c.country) {
                return Err(format!("contact point {:?}: not an ISO 3166 alpha-2 country code", c.country));
            }
            let node = node_ref(c.url, c.node_id, &c.node_key).map_err(|e| format!("contact point {:?}: {e}", c.country))?;
            let c = ContactPoint { country: c.country, authority: c.authority, node };
            if let Some(previous) = directory.contact_points.insert(c.country.clone(), c) {
                return Err(format!("contact point {:?}: listed twice", previous.country));
            }
        }
        Ok(directory)
    }

    /// The authority `id`, if listed.
    pub fn authority(&self, id: &str) -> Option<&Authority> {
        self.authorities.get(id)
    }

    /// What `id` may do in `category`: [`Access::None`] unless listed.
    pub fn access(&self, id: &str, category: &str) -> Access {
        self.authority(id).and_then(|a| a.access.get(category).copied()).unwrap_or_default()
    }

    /// The contact point of `country`, if listed.
    pub fn contact_point(&self, country: &str) -> Option<&ContactPoint> {
        self.contact_points.get(country)
    }

    /// Every authority, by id.
    pub fn authorities(&self) -> impl Iterator<Item = &Authority> {
        self.authorities.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        keys::encode(crate::keys::generate().verifying_key().as_bytes())
    }

    #[test]
    fn access_is_denied_unless_granted() {
        let text = format!(
            "[[authority]]\nid = \"DE-BKA\"\ncountry = \"DE\"\nname = \"BKA\"\npublic_key = \"{}\"\naccess = {{ dna = \"direct\", fingerprint = \"index-only\" }}\n\n[[contact_point]]\ncountry = \"DE\"\nauthority = \"DE-NCP\"\nurl = \"http://127.0.0.1:1\"\nnode_id = \"DE-NODE\"\nnode_key = \"{}\"\n",
            key(),
            key()
        );
        let d = Directory::parse(&text).unwrap();
        assert_eq!(d.access("DE-BKA", "dna"), Access::Direct);
        assert_eq!(d.access("DE-BKA", "fingerprint"), Access::IndexOnly);
        assert_eq!(d.access("DE-BKA", "vehicle"), Access::None);
        assert_eq!(d.access("FR-PTS", "dna"), Access::None);
        assert_eq!(d.contact_point("DE").unwrap().authority, "DE-NCP");
    }

    #[test]
    fn bad_entries_are_named() {
        let entry = |id: &str, country: &str, access: &str, k: &str| format!("[[authority]]\nid = \"{id}\"\ncountry = \"{country}\"\nname = \"n\"\npublic_key = \"{k}\"\naccess = {{ {access} }}\n");
        let k = key();
        for (text, needle) in [
            (entry("DE BKA", "DE", "", &k), "id must be"),
            (entry("DE-BKA", "Germany", "", &k), "ISO 3166"),
            (entry("DE-BKA", "DE", "dns = \"direct\"", &k), "unknown category \"dns\""),
            (entry("DE-BKA", "DE", "dna = \"full\"", &k), "unknown variant"),
            (entry("DE-BKA", "DE", "", "AAAA"), "3 bytes"),
            (entry("DE-BKA", "DE", "", &k) + &entry("DE-BKA", "DE", "", &k), "listed twice"),
            ("[[authority]]\nid = \"A\"\n".to_string(), "missing field"),
            ("[[authorities]]\n".to_string(), "unknown field"),
        ] {
            let e = Directory::parse(&text).unwrap_err();
            assert!(e.contains(needle), "{text}\n=> {e}");
        }
    }
}
