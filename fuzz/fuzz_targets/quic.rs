//! Fuzzes the QUIC long-header parser, Initial decryption, the frame walker
//! and the gQUIC recognisers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::quic::{
    decrypt_initial, gquic_chlo_sni, gquic_version, probe, read_varint, Frame, Frames, LongHeader,
    LongHeaderPackets,
};
use vcscope_dissectors::tls::{ClientHello, HandshakeAssembler};

fn frames(payload: &[u8], asm: &mut HandshakeAssembler) {
    let mut it = Frames::new(payload);
    for f in it.by_ref() {
        match f {
            Frame::Crypto { offset, data } => {
                let _ = asm.push_at(offset, data);
            }
            Frame::ConnectionClose { reason, .. } => {
                let _ = reason.len();
            }
            Frame::Padding(_) | Frame::Ping | Frame::Ack { .. } => {}
        }
    }
    let _ = it.error();
}

fuzz_target!(|data: &[u8]| {
    let _ = probe(data);
    let _ = gquic_version(data);
    let _ = gquic_chlo_sni(data);
    let _ = read_varint(data, 0);
    if let Ok(h) = LongHeader::new_checked(data) {
        let _ = h.supported_versions().count();
    }

    let mut scratch = [0u8; 2048];
    let mut asm = HandshakeAssembler::new(8192);
    let mut packets = LongHeaderPackets::new(data);
    for h in packets.by_ref() {
        let _ = (
            h.first_byte(),
            h.version(),
            h.is_gquic(),
            h.scid(),
            h.token(),
        );
        let _ = (h.packet_type(), h.pn_offset(), h.payload().len());
        let _ = h.supported_versions().count();
        if let Ok(p) = decrypt_initial(h.packet(), h.dcid(), &mut scratch) {
            let _ = (p.version(), p.packet_number());
            let _ = p.push_crypto_frames(&mut asm);
            frames(p.plaintext(), &mut asm);
        }
    }
    let _ = (packets.error(), packets.remainder());

    // Unprotected bytes as a frame sequence, then any ClientHello it yields.
    frames(data, &mut asm);
    if let Some(h) = asm.complete_handshake() {
        if let Ok(ch) = ClientHello::parse(h.body()) {
            let _ = (ch.sni(), ch.alpn().count(), ch.has_ech());
        }
    }
});
