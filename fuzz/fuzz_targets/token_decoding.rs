//! Token decoding: any text as a register, session or verify token must parse or be refused
//! with one of the contract's errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passkeyd::tokens;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for prefix in [tokens::REGISTER, tokens::SESSION, tokens::VERIFY] {
        match tokens::parse(Some(&text), prefix) {
            Ok(hash) => assert_eq!(hash.len(), 32),
            Err(e) => assert!(matches!(
                e.error_code,
                "missing_token" | "invalid_token" | "invalid_token_format"
            )),
        }
    }
});
