//! The one X.509 certificate gatehouse makes: a self-signed, version 3 certificate carrying an
//! RS256 key of the Access-compatible assertion, which `/cdn-cgi/access/certs` serves as
//! `public_cert` (RFC 5280 §4.1). Its DER (ITU-T X.690 §10) is written here directly: the
//! structure is fixed, the subject public key comes DER-encoded from WebCrypto (`spki`), and a
//! general ASN.1 crate added ~66 KB (gzip) to the Worker for this one, once-per-key use. The spec
//! tests parse what this writes with the `x509-cert` crate and node:crypto in the e2e suite.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::time::UnixTime;

/// sha256WithRSAEncryption (RFC 4055 §5; RFC 5754 §3.2), `1.2.840.113549.1.1.11`, DER contents.
const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/// id-at-commonName (RFC 5280 Appendix A.1), `2.5.4.3`, DER contents.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// `[0] EXPLICIT`, the version's tag in a TBSCertificate.
const CONTEXT_0: u8 = 0xa0;

/// A DER element: tag, definite length (short form below 128, else long form), contents.
fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let significant: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
        out.push(0x80 | significant.len() as u8);
        out.extend(significant);
    }
    out.extend_from_slice(contents);
    out
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

/// `AlgorithmIdentifier { sha256WithRSAEncryption, NULL }`.
fn signature_algorithm() -> Vec<u8> {
    sequence(&[&tlv(OID, SHA256_WITH_RSA), &tlv(NULL, &[])])
}

/// `Name`: one RDN with the common name `cn`.
fn name(cn: &str) -> Vec<u8> {
    let attribute = sequence(&[&tlv(OID, COMMON_NAME), &tlv(UTF8_STRING, cn.as_bytes())]);
    sequence(&[&tlv(SET, &attribute)])
}

/// RFC 5280 §4.1.2.5: UTCTime (`YYMMDDHHMMSSZ`) through 2049, GeneralizedTime
/// (`YYYYMMDDHHMMSSZ`) from 2050 on.
fn time(at: UnixTime) -> Vec<u8> {
    let c = at.civil();
    let year = c.year;
    let clock = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        c.month, c.day, c.hour, c.minute, c.second
    );
    if year < 2050 {
        tlv(UTC_TIME, format!("{:02}{clock}", year % 100).as_bytes())
    } else {
        tlv(GENERALIZED_TIME, format!("{year:04}{clock}").as_bytes())
    }
}

/// The DER of the TBSCertificate (RFC 5280 §4.1) for the key whose SubjectPublicKeyInfo is
/// `spki_der`: version 3, the serial number and common name from `kid`, valid from
/// `not_before` to `not_after`, issuer = subject. The Worker signs it with the key itself and
/// hands both to [`certificate_pem`].
pub fn tbs_certificate(
    spki_der: &[u8],
    kid: &str,
    not_before: UnixTime,
    not_after: UnixTime,
) -> Result<Vec<u8>, String> {
    // RFC 5280 §4.1.2.2: a positive integer of at most 20 octets. The kid's first 16 bytes:
    // printable ASCII, so the first is non-zero and below 0x80, which DER needs no more for.
    let serial: Vec<u8> = kid.bytes().take(16).collect();
    if serial.first().is_none_or(|&b| b == 0 || b >= 0x80) {
        return Err(format!("key id {kid:?} cannot be a serial number"));
    }
    if spki_der.first() != Some(&SEQUENCE) {
        return Err("the public key is not a DER SubjectPublicKeyInfo".into());
    }
    let subject = name(&format!("gatehouse access key {kid}"));
    Ok(sequence(&[
        &tlv(CONTEXT_0, &tlv(INTEGER, &[2])),
        &tlv(INTEGER, &serial),
        &signature_algorithm(),
        &subject,
        &sequence(&[&time(not_before), &time(not_after)]),
        &subject,
        spki_der,
    ]))
}

/// The certificate (RFC 5280 §4.1.1) from [`tbs_certificate`]'s DER and its RSASSA-PKCS1-v1_5
/// SHA-256 `signature`, in PEM (RFC 7468 §5: base64 in lines of 64).
pub fn certificate_pem(tbs_der: &[u8], signature: &[u8]) -> String {
    let bits = [&[0u8][..], signature].concat(); // no unused bits
    let der = sequence(&[tbs_der, &signature_algorithm(), &tlv(BIT_STRING, &bits)]);
    let text = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_use_the_short_form_below_128_and_the_long_form_above() {
        assert_eq!(tlv(0x04, &[7; 3]), [0x04, 3, 7, 7, 7]);
        assert_eq!(tlv(0x04, &[0; 127]).get(..2), Some(&[0x04, 127][..]));
        assert_eq!(tlv(0x04, &[0; 128]).get(..3), Some(&[0x04, 0x81, 128][..]));
        assert_eq!(
            tlv(0x04, &[0; 300]).get(..4),
            Some(&[0x04, 0x82, 1, 44][..])
        );
    }

    #[test]
    fn times_are_utc_through_2049_and_generalized_after() {
        // 2023-11-14T22:13:20Z
        assert_eq!(
            time(UnixTime(1_700_000_000)),
            tlv(UTC_TIME, b"231114221320Z")
        );
        // 2049-12-31T23:59:59Z, then 2050-01-01T00:00:00Z
        assert_eq!(
            time(UnixTime(2_524_607_999)),
            tlv(UTC_TIME, b"491231235959Z")
        );
        assert_eq!(
            time(UnixTime(2_524_608_000)),
            tlv(GENERALIZED_TIME, b"20500101000000Z")
        );
        // A leap day.
        assert_eq!(time(UnixTime(951_782_400)), tlv(UTC_TIME, b"000229000000Z"));
    }

    #[test]
    fn a_key_id_that_is_no_serial_or_a_key_that_is_no_spki_is_refused() {
        let spki = sequence(&[]);
        assert!(tbs_certificate(&spki, "", UnixTime(0), UnixTime(1)).is_err());
        assert!(tbs_certificate(&spki, "\u{0}k", UnixTime(0), UnixTime(1)).is_err());
        assert!(tbs_certificate(&[0x02, 0], "r_1", UnixTime(0), UnixTime(1)).is_err());
        assert!(tbs_certificate(&spki, "r_1", UnixTime(0), UnixTime(1)).is_ok());
    }
}
