//! A test attestation CA: a root and a packed-attestation leaf for one AAGUID, made with rcgen,
//! for an authenticator whose model an allow-list can trust.

use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};

pub struct TestCa {
    pub root_pem: String,
    /// The root in standard base64 DER, as MDS3 lists it.
    pub root_b64: String,
    root_cert: rcgen::Certificate,
    root_key: KeyPair,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("root key");
        let mut params = CertificateParams::new(Vec::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name.push(DnType::CommonName, name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "passkeyd tests");
        let root_cert = params.self_signed(&root_key).expect("root certificate");
        use base64::Engine;
        Self {
            root_pem: root_cert.pem(),
            root_b64: base64::engine::general_purpose::STANDARD.encode(root_cert.der()),
            root_cert,
            root_key,
        }
    }

    /// An attestation key and its chain (the leaf only), as a packed authenticator of model
    /// `aaguid` sends it.
    pub fn attestation_for(&self, aaguid: [u8; 16]) -> (SigningKey, Vec<Vec<u8>>) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("leaf key");
        let mut params = CertificateParams::new(Vec::new()).expect("params");
        params.is_ca = IsCa::ExplicitNoCa;
        let dn = &mut params.distinguished_name;
        dn.push(DnType::CountryName, "SE");
        dn.push(DnType::OrganizationName, "passkeyd tests");
        dn.push(DnType::OrganizationalUnitName, "Authenticator Attestation");
        dn.push(DnType::CommonName, "passkeyd test authenticator");
        // id-fido-gen-ce-aaguid: an OCTET STRING holding the AAGUID.
        let mut content = vec![0x04, 0x10];
        content.extend_from_slice(&aaguid);
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4],
                content,
            ));
        let leaf = params
            .signed_by(&key, &self.root_cert, &self.root_key)
            .expect("leaf certificate");
        let signing = SigningKey::from_pkcs8_der(&key.serialize_der()).expect("leaf key as p256");
        (signing, vec![leaf.der().to_vec()])
    }
}
