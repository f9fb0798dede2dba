//! Request decoding: any bytes, as a JSON body of every ceremony request type, must decode or
//! be refused with a problem, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passkeyd::http::extract::decode;
use passkeyd::wire::{
    GenerateTokenRequest, MagicLinkRequest, RegisterBeginRequest, RegisterCompleteRequest,
    RegisterTokenRequest, SigninBeginRequest, SigninCompleteRequest,
};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = decode::<RegisterTokenRequest>(value.clone());
    let _ = decode::<RegisterBeginRequest>(value.clone());
    let _ = decode::<RegisterCompleteRequest>(value.clone());
    let _ = decode::<SigninBeginRequest>(value.clone());
    let _ = decode::<SigninCompleteRequest>(value.clone());
    let _ = decode::<GenerateTokenRequest>(value.clone());
    let _ = decode::<MagicLinkRequest>(value);
});
