//! Certificates and keys: `genCA`, `genSelfSignedCert`, `genSignedCert`,
//! `genPrivateKey` (rcgen on ring). A certificate is Sprig's struct with
//! `.Cert` and `.Key` (PEM). Keys are ECDSA P-256 (PKCS#8) where Sprig makes
//! RSA-2048 (ring cannot generate RSA keys); validity is whole days from
//! today (UTC).

use std::net::IpAddr;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::{arg_int, arg_str, strval};
use crate::helm::template::{FuncError, Funcs, Object, Param, Signature, Value};

#[derive(Debug)]
struct Certificate {
    cert: String,
    key: String,
    /// The parameters it was made with, to sign others when it is a CA.
    params: CertificateParams,
}

impl Object for Certificate {
    fn type_name(&self) -> &'static str {
        "sprig.certificate"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::from(self.cert.as_str())),
            "Key" => Some(Value::from(self.key.as_str())),
            // Not a Go field (templates cannot spell it): the subject's
            // common name, to sign with this certificate as a CA.
            CN_FIELD => self
                .params
                .distinguished_name
                .get(&DnType::CommonName)
                .map(|cn| Value::from(dn_text(cn))),
            _ => None,
        }
    }

    fn display(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"Cert": self.cert, "Key": self.key})
    }
}

const CN_FIELD: &str = "\u{0}cn";

fn dn_text(v: &rcgen::DnValue) -> String {
    match v {
        rcgen::DnValue::Utf8String(s) => s.clone(),
        rcgen::DnValue::PrintableString(s) => s.as_str().to_owned(),
        other => format!("{other:?}"),
    }
}

fn err(e: &rcgen::Error) -> FuncError {
    FuncError::new(format!("error generating certificate: {e}"))
}

/// Today + `days` (UTC) as (year, month, day).
fn ymd(days: i64) -> (i32, u8, u8) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let (y, m, d) = super::dates::civil_from_days(now.div_euclid(86_400) + days);
    (
        i32::try_from(y).unwrap_or(9999),
        u8::try_from(m).unwrap_or(1),
        u8::try_from(d).unwrap_or(1),
    )
}

fn params(
    cn: &str,
    ips: &Value,
    dns: &Value,
    days: i64,
    ca: bool,
) -> Result<CertificateParams, FuncError> {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    let (y, m, d) = ymd(0);
    p.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = ymd(days);
    p.not_after = rcgen::date_time_ymd(y, m, d);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
        ];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::DigitalSignature,
        ];
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
    }
    for ip in list(ips) {
        let addr: IpAddr = ip
            .parse()
            .map_err(|_| FuncError::new(format!("error parsing ip: {ip}")))?;
        p.subject_alt_names.push(SanType::IpAddress(addr));
    }
    for name in list(dns) {
        let name = name.try_into().map_err(|e: rcgen::Error| err(&e))?;
        p.subject_alt_names.push(SanType::DnsName(name));
    }
    Ok(p)
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .borrow()
            .iter()
            .filter(|v| !v.is_nil())
            .map(strval)
            .collect(),
        _ => Vec::new(),
    }
}

fn make(p: CertificateParams, issuer: Option<&Certificate>) -> Result<Value, FuncError> {
    make_with(p, issuer, None)
}

/// Signs `p` with a new key, or the PEM `key` (PKCS#8) when given.
fn make_with(
    p: CertificateParams,
    issuer: Option<&Certificate>,
    key: Option<&str>,
) -> Result<Value, FuncError> {
    let key = match key {
        Some(pem) => KeyPair::from_pem(pem).map_err(|e| err(&e))?,
        None => KeyPair::generate().map_err(|e| err(&e))?,
    };
    let cert = match issuer {
        None => p.self_signed(&key),
        Some(ca) => {
            let ca_key = KeyPair::from_pem(&ca.key).map_err(|e| err(&e))?;
            let issuer = Issuer::new(ca.params.clone(), ca_key);
            p.signed_by(&key, &issuer)
        }
    }
    .map_err(|e| err(&e))?;
    Ok(Value::Object(Rc::new(Certificate {
        cert: cert.pem(),
        key: key.serialize_pem(),
        params: p,
    })))
}

#[allow(clippy::too_many_lines)] // one registration table
pub(super) fn register(f: &mut Funcs) {
    f.register(
        "genCA",
        Signature::fixed(&[Param::String, Param::Int]),
        |_, args| {
            let p = params(
                arg_str(args, 0),
                &Value::Nil,
                &Value::Nil,
                arg_int(args, 1),
                true,
            )?;
            make(p, None)
        },
    );
    f.register(
        "genSelfSignedCert",
        Signature::fixed(&[Param::String, Param::List, Param::List, Param::Int]),
        |_, args| {
            let p = params(
                arg_str(args, 0),
                &args[1],
                &args[2],
                arg_int(args, 3),
                false,
            )?;
            make(p, None)
        },
    );
    f.register(
        "genCAWithKey",
        Signature::fixed(&[Param::String, Param::Int, Param::String]),
        |_, args| {
            let p = params(
                arg_str(args, 0),
                &Value::Nil,
                &Value::Nil,
                arg_int(args, 1),
                true,
            )?;
            make_with(p, None, Some(arg_str(args, 2)))
        },
    );
    f.register(
        "genSelfSignedCertWithKey",
        Signature::fixed(&[
            Param::String,
            Param::List,
            Param::List,
            Param::Int,
            Param::String,
        ]),
        |_, args| {
            let p = params(
                arg_str(args, 0),
                &args[1],
                &args[2],
                arg_int(args, 3),
                false,
            )?;
            make_with(p, None, Some(arg_str(args, 4)))
        },
    );
    for (name, with_key) in [("genSignedCert", false), ("genSignedCertWithKey", true)] {
        let mut sig = vec![
            Param::String,
            Param::List,
            Param::List,
            Param::Int,
            Param::Any,
        ];
        if with_key {
            sig.push(Param::String);
        }
        f.register(name, Signature::fixed(&sig), move |_, args| {
            let p = params(
                arg_str(args, 0),
                &args[1],
                &args[2],
                arg_int(args, 3),
                false,
            )?;
            let Value::Object(o) = &args[4] else {
                return Err(FuncError::Exec(format!(
                    "wrong type for value; expected sprig.certificate; got {}",
                    args[4].type_name()
                )));
            };
            let (Some(Value::String(key)), Some(Value::String(cn))) =
                (o.field("Key"), o.field(CN_FIELD))
            else {
                return Err(FuncError::new("the CA is not a certificate"));
            };
            // Rebuild the issuer from the CA's subject (its common name).
            let ca_params = params(&cn, &Value::Nil, &Value::Nil, 1, true)?;
            let ca = Certificate {
                cert: String::new(),
                key: key.to_string(),
                params: ca_params,
            };
            make_with(p, Some(&ca), with_key.then(|| arg_str(args, 5)))
        });
    }
    f.register(
        "genPrivateKey",
        Signature::fixed(&[Param::String]),
        |_, args| {
            let alg = match arg_str(args, 0) {
                "ecdsa" => &rcgen::PKCS_ECDSA_P256_SHA256,
                "ed25519" => &rcgen::PKCS_ED25519,
                other => {
                    return Ok(Value::from(format!(
                        "Unknown type {other} (devloop generates ecdsa and ed25519 keys only)"
                    )));
                }
            };
            let key = KeyPair::generate_for(alg).map_err(|e| err(&e))?;
            Ok(Value::from(key.serialize_pem()))
        },
    );
}
