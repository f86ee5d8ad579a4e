//! WebCrypto (`crypto.subtle`) for what wasm cannot do itself at speed or at
//! all: RS256 signing for Google's OAuth assertion (ring does not load on
//! wasm) and PBKDF2 for passwords (native speed inside the CPU budget).
//! Called through `js_sys::Reflect`, so no web-sys feature set is needed.

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::EdgeError;

fn err(context: &str, e: JsValue) -> EdgeError {
    let detail = e.as_string().or_else(|| {
        Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
    });
    EdgeError::WebCrypto {
        context: context.to_owned(),
        detail: detail.unwrap_or_else(|| "unknown error".into()),
    }
}

async fn subtle_call(method: &str, args: &Array) -> Result<JsValue, EdgeError> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).map_err(|e| err("crypto", e))?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).map_err(|e| err("subtle", e))?;
    let f: Function = Reflect::get(&subtle, &method.into())
        .map_err(|e| err(method, e))?
        .dyn_into()
        .map_err(|e| err(method, e))?;
    let p: Promise = f
        .apply(&subtle, args)
        .map_err(|e| err(method, e))?
        .dyn_into()
        .map_err(|e| err(method, e))?;
    JsFuture::from(p).await.map_err(|e| err(method, e))
}

fn obj(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

fn rsa_alg() -> Object {
    obj(&[
        ("name", "RSASSA-PKCS1-v1_5".into()),
        ("hash", "SHA-256".into()),
    ])
}

/// Imports a PKCS#8 RSA private key for RS256 signing (not extractable).
pub async fn import_rsa_pkcs8(der: &[u8]) -> Result<JsValue, EdgeError> {
    let usages = Array::of1(&"sign".into());
    let args = Array::of5(
        &"pkcs8".into(),
        &bytes(der),
        &rsa_alg(),
        &JsValue::FALSE,
        &usages,
    );
    subtle_call("importKey", &args).await
}

/// RS256: RSASSA-PKCS1-v1_5 with SHA-256.
pub async fn sign_rs256(key: &JsValue, data: &[u8]) -> Result<Vec<u8>, EdgeError> {
    let args = Array::of3(&rsa_alg(), key, &bytes(data));
    let buf = subtle_call("sign", &args).await?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// PBKDF2-HMAC-SHA256 of a password: `bits` bits.
pub async fn pbkdf2_sha256(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    bits: u32,
) -> Result<Vec<u8>, EdgeError> {
    let usages = Array::of1(&"deriveBits".into());
    let args = Array::of5(
        &"raw".into(),
        &bytes(password),
        &"PBKDF2".into(),
        &JsValue::FALSE,
        &usages,
    );
    let key = subtle_call("importKey", &args).await?;
    let alg = obj(&[
        ("name", "PBKDF2".into()),
        ("hash", "SHA-256".into()),
        ("salt", bytes(salt)),
        ("iterations", JsValue::from(iterations)),
    ]);
    let buf = subtle_call("deriveBits", &Array::of3(&alg, &key, &JsValue::from(bits))).await?;
    Ok(Uint8Array::new(&buf).to_vec())
}
