//! The JWTs the push providers want, up to the signature: Google's OAuth2
//! service-account assertion (RS256, RFC 7523) for FCM, and the APNs
//! provider token (ES256). Signing itself happens where a key lives: WebCrypto
//! in the worker, a native crate in proto-gateway. Both sign
//! [`signing_input`] and hand the raw signature to [`assemble`]; for ES256 the
//! signature is the 64-byte `r || s` form both WebCrypto and JWS use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

/// OAuth2 scope that allows sending FCM messages.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// Lifetime asked for Google assertions; Google caps it at one hour.
pub const GOOGLE_ASSERTION_SECS: u64 = 3600;

/// The JOSE header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header<'a> {
    /// `RS256` or `ES256`.
    pub alg: &'static str,
    /// `JWT` for Google; APNs leaves it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<&'static str>,
    /// Key id: the service account's `private_key_id`, or the APNs key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<&'a str>,
}

/// Claims of the Google service-account assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoogleClaims<'a> {
    /// The service account's `client_email`.
    pub iss: &'a str,
    /// Space-separated scopes.
    pub scope: &'static str,
    /// The token endpoint (`token_uri`).
    pub aud: &'a str,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expiry, Unix seconds.
    pub exp: u64,
}

impl<'a> GoogleClaims<'a> {
    /// Claims for an FCM access token request made at `now`.
    pub fn fcm(client_email: &'a str, token_uri: &'a str, now: u64) -> Self {
        Self {
            iss: client_email,
            scope: FCM_SCOPE,
            aud: token_uri,
            iat: now,
            exp: now + GOOGLE_ASSERTION_SECS,
        }
    }
}

/// Claims of the APNs provider token: the team and the issue time only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApnsClaims<'a> {
    /// The Apple developer team id.
    pub iss: &'a str,
    /// Issued at, Unix seconds. APNs refuses tokens older than an hour.
    pub iat: u64,
}

/// `base64url(header) . base64url(claims)`: the bytes that get signed.
pub fn signing_input<C: Serialize>(
    header: &Header<'_>,
    claims: &C,
) -> Result<String, serde_json::Error> {
    let h = serde_json::to_vec(header)?;
    let c = serde_json::to_vec(claims)?;
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(h),
        URL_SAFE_NO_PAD.encode(c)
    ))
}

/// The finished token.
pub fn assemble(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The DER bytes inside a PEM block (`-----BEGIN PRIVATE KEY-----`), as the
/// service-account JSON and Apple's `.p8` files carry PKCS#8 keys.
pub fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    if body.is_empty() {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn google_assertion_claims() {
        let h = Header {
            alg: "RS256",
            typ: Some("JWT"),
            kid: Some("k1"),
        };
        let c = GoogleClaims::fcm(
            "svc@p.iam.gserviceaccount.com",
            "https://oauth2.googleapis.com/token",
            1_700_000_000,
        );
        let input = signing_input(&h, &c).unwrap();
        let (hp, cp) = input.split_once('.').unwrap();
        assert_eq!(
            decode(hp),
            serde_json::json!({"alg":"RS256","typ":"JWT","kid":"k1"})
        );
        assert_eq!(
            decode(cp),
            serde_json::json!({
                "iss": "svc@p.iam.gserviceaccount.com",
                "scope": "https://www.googleapis.com/auth/firebase.messaging",
                "aud": "https://oauth2.googleapis.com/token",
                "iat": 1_700_000_000u64,
                "exp": 1_700_003_600u64,
            })
        );
        let jwt = assemble(&input, &[0xfb, 0xff]);
        assert!(jwt.ends_with(".-_8"), "{jwt}");
        assert_eq!(jwt.matches('.').count(), 2);
    }

    #[test]
    fn apns_claims() {
        let h = Header {
            alg: "ES256",
            typ: None,
            kid: Some("ABC123DEFG"),
        };
        let input = signing_input(
            &h,
            &ApnsClaims {
                iss: "TEAM123456",
                iat: 5,
            },
        )
        .unwrap();
        let (hp, cp) = input.split_once('.').unwrap();
        assert_eq!(
            decode(hp),
            serde_json::json!({"alg":"ES256","kid":"ABC123DEFG"})
        );
        assert_eq!(decode(cp), serde_json::json!({"iss":"TEAM123456","iat":5}));
    }

    #[test]
    fn pem() {
        let pem = "-----BEGIN PRIVATE KEY-----\nAAEC\nAw==\n-----END PRIVATE KEY-----\n";
        assert_eq!(pem_to_der(pem), Some(vec![0, 1, 2, 3]));
        assert_eq!(pem_to_der("-----BEGIN X-----\n-----END X-----"), None);
        assert_eq!(pem_to_der("!!!"), None);
    }
}
