//! The secret that guards every callback URL. Exotel signs nothing, so the
//! URL carries a token: as a path prefix `/t/<token>/exotel/...`, or as Basic
//! credentials (`https://user:<token>@host/...`). Several tokens may be valid
//! at once so they can be rotated without downtime.

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Unauthorized;

/// Shortest token we accept in configuration: a guessable token is no lock.
pub const MIN_TOKEN_LEN: usize = 16;

/// The valid tokens, kept only as SHA-256 digests so comparison time does not
/// depend on the token's length or content.
#[derive(Clone, Default)]
pub struct Tokens(Vec<[u8; 32]>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.0.len())
    }
}

impl Tokens {
    /// Reads a secret holding tokens separated by commas or whitespace.
    /// Tokens shorter than [`MIN_TOKEN_LEN`] are dropped; the count of kept
    /// tokens is returned beside them so the shell can warn.
    pub fn parse(secret: &str) -> (Self, usize) {
        let mut dropped = 0;
        let digests = secret
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .filter(|t| {
                let ok = t.len() >= MIN_TOKEN_LEN;
                dropped += usize::from(!ok);
                ok
            })
            .map(digest)
            .collect();
        (Self(digests), dropped)
    }

    /// How many tokens are valid.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no token is configured (then nothing is authorized).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time membership: every configured token is compared.
    pub fn accepts(&self, presented: &str) -> bool {
        let d = digest(presented);
        self.0
            .iter()
            .fold(0u8, |acc, t| acc | t.ct_eq(&d).unwrap_u8())
            == 1
    }

    /// Checks the path token, else the Basic credentials' password (or user,
    /// when the password is empty).
    pub fn authorize(
        &self,
        path_token: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<(), Unauthorized> {
        if let Some(t) = path_token {
            return if self.accepts(t) {
                Ok(())
            } else {
                Err(Unauthorized)
            };
        }
        let (user, pass) = authorization
            .and_then(basic_credentials)
            .ok_or(Unauthorized)?;
        let presented = if pass.is_empty() { user } else { pass };
        if self.accepts(&presented) {
            Ok(())
        } else {
            Err(Unauthorized)
        }
    }
}

fn digest(t: &str) -> [u8; 32] {
    Sha256::digest(t.as_bytes()).into()
}

/// `Basic dXNlcjpwYXNz` → (`user`, `pass`).
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, b64) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "dev-token-aaaaaaaaaaaa";
    const B: &str = "rotated-token-bbbbbbbbbb";

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    #[test]
    fn any_configured_token_opens() {
        let (t, dropped) = Tokens::parse(&format!(" {A}, {B}\nshort "));
        assert_eq!((t.len(), dropped), (2, 1));
        assert!(t.authorize(Some(A), None).is_ok());
        assert!(t.authorize(Some(B), None).is_ok());
        assert!(t.authorize(None, Some(&basic("exotel", B))).is_ok());
        assert!(t.authorize(None, Some(&basic(A, ""))).is_ok());
    }

    #[test]
    fn everything_else_is_the_same_refusal() {
        let (t, _) = Tokens::parse(A);
        for (path, header) in [
            (Some("nope"), None),
            (Some(""), None),
            (None, None),
            (None, Some("Bearer x".to_string())),
            (None, Some("Basic !!!".to_string())),
            (None, Some(basic("exotel", "wrong"))),
            (Some(&A[..A.len() - 1]), None),
        ] {
            assert_eq!(t.authorize(path, header.as_deref()), Err(Unauthorized));
        }
        let (empty, _) = Tokens::parse("");
        assert!(
            empty.authorize(Some(""), None).is_err(),
            "no tokens: nothing opens"
        );
    }
}
