#![no_main]
use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::stun::{self, StunMessage};

fuzz_target!(|data: &[u8]| {
    let _ = stun::probe(data);
    if let Some(d) = stun::discord_ip_discovery(data) {
        let _ = (d.is_response, d.ssrc, d.address.len(), d.port);
    }
    let Ok(msg) = StunMessage::new_checked(data) else {
        return;
    };
    let _ = (msg.raw_type(), msg.message_type(), msg.declared_length());
    let _ = (msg.len(), msg.trailing_len(), msg.is_length_aligned());
    let _ = (msg.cookie(), msg.is_classic(), msg.as_bytes().len());
    let _ = (msg.transaction_id(), msg.classic_transaction_id());
    let _ = (msg.has_message_integrity(), msg.fingerprint_valid());
    let _ = (
        msg.username(),
        msg.realm(),
        msg.software(),
        msg.error_code(),
    );
    let _ = (msg.xor_mapped_address(), msg.mapped_address());
    let _ = (msg.attributes_error(), stun::vendor_hint(&msg));
    let _ = msg.addresses().count();
    let mut attributes = msg.attributes();
    for a in &mut attributes {
        let t = a.typ();
        let _ = (t.raw(), t.is_comprehension_required(), t.is_secret());
        let _ = (a.value(), a.value_len(), a.offset(), a.as_str());
        if t.is_secret() {
            assert!(a.value().is_empty());
        }
        if let Ok(value) = a.parsed() {
            let _ = format!("{value:?}");
        }
        let _ = msg.has_attribute(t);
    }
    let _ = attributes.error();
});
