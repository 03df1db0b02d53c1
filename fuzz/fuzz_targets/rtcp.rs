#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::rtcp::{ReportBlocks, RtcpCompound};

fn walk_blocks(blocks: ReportBlocks<'_>) {
    for b in blocks {
        let _ = (
            b.ssrc(),
            b.fraction_lost(),
            b.cumulative_lost(),
            b.highest_seq(),
        );
        let _ = (b.jitter(), b.lsr(), b.dlsr());
    }
}

fuzz_target!(|data: &[u8]| {
    let compound = RtcpCompound::new(data);
    let _ = (
        compound.validity(),
        compound.is_valid_compound(),
        compound.is_reduced_size(),
    );
    let mut packets = compound.packets();
    for p in packets.by_ref() {
        let _ = (
            p.len(),
            p.is_empty(),
            p.has_padding(),
            p.padding_len(),
            p.count(),
        );
        let _ = (
            p.packet_type().as_str(),
            u8::from(p.packet_type()),
            p.ssrc(),
        );
        let _ = (p.body().len(), p.as_bytes().len());
        if let Some(sr) = p.sender_report() {
            let _ = (
                sr.ssrc(),
                sr.ntp(),
                sr.rtp_ts(),
                sr.packet_count(),
                sr.octet_count(),
            );
            walk_blocks(sr.reports());
        }
        if let Some(rr) = p.receiver_report() {
            let _ = rr.ssrc();
            walk_blocks(rr.reports());
        }
        if let Some(sdes) = p.sdes() {
            let mut chunks = sdes.chunks();
            for chunk in chunks.by_ref() {
                let _ = (chunk.ssrc(), chunk.cname());
                for item in chunk.items() {
                    let _ = (item.kind, item.value.len());
                }
            }
            let _ = chunks.error();
        }
        if let Some(bye) = p.bye() {
            let _ = (bye.sources().count(), bye.reason());
        }
        if let Some(app) = p.app() {
            let _ = (app.subtype(), app.ssrc(), app.name(), app.data().len());
        }
        if let Some(fb) = p.feedback() {
            let _ = (
                fb.fmt(),
                fb.kind(),
                fb.sender_ssrc(),
                fb.media_ssrc(),
                fb.fci().len(),
            );
        }
        if let Some(xr) = p.extended_report() {
            let mut blocks = xr.blocks();
            for b in blocks.by_ref() {
                let _ = (b.block_type, b.type_specific, b.data.len());
                if let Ok(vm) = b.voip_metrics() {
                    let _ = (vm.ssrc(), vm.loss_rate(), vm.discard_rate());
                    let _ = (vm.burst_density(), vm.gap_density());
                    let _ = (vm.burst_duration(), vm.gap_duration());
                    let _ = (vm.round_trip_delay(), vm.end_system_delay());
                    let _ = (vm.signal_level(), vm.noise_level(), vm.rerl(), vm.gmin());
                    let _ = (vm.r_factor(), vm.ext_r_factor(), vm.mos_lq(), vm.mos_cq());
                    let _ = (
                        vm.rx_config(),
                        vm.jb_nominal(),
                        vm.jb_maximum(),
                        vm.jb_abs_max(),
                    );
                }
            }
            let _ = (xr.ssrc(), blocks.error());
        }
    }
    let _ = (packets.error(), packets.remaining());
});
