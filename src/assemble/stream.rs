//! Streaming NDJSON: records written as flows and calls end, so that
//! memory holds what is live, not what the run has seen.
//!
//! A flow's record is written when it ends ([`Analyzer::stream_ended`]).
//! Flows a call may still need (its media, STUN, TLS) are held for the
//! calls; [`Analyzer::stream_settled`] writes a SIP call's record once the
//! call ended (BYE, CANCEL or a final error, plus [`CALL_GRACE`] for late
//! media) or went silent with its media, and lets its flows go; and it
//! lets go the held flows of no SIP call once nothing can join them in an
//! inferred call any more, writing the calls inferred from them.

use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};

use super::{
    bare_by_state, call_out, call_quality, count_other, flow_out, flow_out_of, header_findings,
    is_vc, remote_of, Across,
};
use crate::engine::Analyzer;
use crate::flow::Flow;
use crate::report::{CallOut, CallQualityOut, FlowOut, LeakOut};
use crate::time::Nanos;

/// One analyser's part of a split sensor's heartbeat
/// ([`Analyzer::share_vitals`]).
#[derive(Debug, Clone, Default)]
pub struct ShareVitals {
    pub live_flows: usize,
    pub flows_reported: u64,
    /// SIP calls seen: tracked now, or ended and written.
    pub sip_calls: usize,
    /// SIP calls tracked now.
    pub calls_live: usize,
    /// Per app, flows and bytes of the flows ended so far.
    pub app_bytes: Vec<(String, u64, u64)>,
}

/// A record written before the end of the capture.
pub enum Streamed<'a> {
    Flow(&'a FlowOut),
    Call(&'a CallOut),
    CallQuality(&'a CallQualityOut),
    Leak(&'a LeakOut),
}

impl Streamed<'_> {
    /// Writes the record as one NDJSON line.
    pub fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match self {
            Streamed::Flow(f) => crate::report::write_flow_record(out, f),
            Streamed::Call(c) => crate::report::write_record(out, "call", c),
            Streamed::CallQuality(q) => crate::report::write_record(out, "call_quality", q),
            Streamed::Leak(l) => crate::report::write_record(out, "leak", l),
        }
    }
}

/// Streaming: a SIP call's record waits this long (packet time) after the
/// call ended (BYE, CANCEL, a final error), for media still on its way.
pub const CALL_GRACE: Nanos = Nanos::from_secs(60);
/// Streaming: held flows of no SIP call are let go once every held flow of
/// their addresses ended this long ago (packet time) and no live flow of
/// those addresses began within [`crate::calls::infer::REACH_S`] of that:
/// then no flow can join them in a call any more.
pub const SETTLED: Nanos = Nanos::from_secs(600);
/// Streaming: a SIP call that never ended (no BYE seen) and has no media
/// flow open is taken to be over once its signalling has been silent this
/// long (or the flows' idle timeout, if longer): twice RFC 4028's default
/// session interval (1800 s), within which a live session is refreshed.
pub const CALL_SILENT: Nanos = Nanos::from_secs(3600);
/// How often (packet time) ended calls and settled flows are looked for.
const SWEEP_EVERY: Nanos = Nanos::from_secs(60);

/// The report of the analysis while it streams: [`Analyzer`] methods that
/// write records as flows and calls end.
impl Analyzer {
    /// The report of one flow, for streaming it as it ends.
    pub fn flow_report(&self, idx: u32) -> Option<crate::report::FlowOut> {
        flow_out(self, idx as usize, None)
    }

    /// Streaming: writes the record of each flow that ended since the last
    /// call through `emit` (every flow with `--all-flows`, else those
    /// `is_vc` would list), then lets it go unless a call may need it at
    /// the end (a flow of a call kind, or TLS, DTLS or QUIC; at most
    /// `MAX_HELD_ENDED` of them). The others are counted for
    /// `other_flows`; a held flow not written yet is decided on at the end
    /// ([`Analyzer::flow_deferred`]).
    pub fn stream_ended(&mut self, emit: &mut dyn FnMut(&FlowOut)) {
        // The flows that ended together (often many at once, when packet
        // time jumps; up to `ENDED_BATCH` at a time, so that a jump does not
        // hold every record at once) lend each other their socket's app, as
        // the final report does over all flows; flows ended earlier lend
        // theirs too.
        //
        // A flow bare by its own state ([`bare_by_state`]) gets no record
        // unless its socket lends it an app: it has no app to lend, so the
        // others learn the same without it, and once they have, it is
        // counted straight away if no app is known for its socket.
        const ENDED_BATCH: usize = 4096;
        let idxs = self.take_ended();
        for batch in idxs.chunks(ENDED_BATCH) {
            // Boxed: most of a flood's flows are bare, and an entry is
            // large to move about.
            let mut ended: Vec<(usize, Option<Box<FlowOut>>)> = batch
                .iter()
                .filter_map(|&idx| {
                    let f = self.flows.get(idx as usize)?;
                    let bare = !self.all_flows && bare_by_state(f);
                    Some((
                        idx as usize,
                        (!bare).then(|| Box::new(flow_out_of(self, f, None))),
                    ))
                })
                .collect();
            for (idx, out) in &ended {
                if let (Some(f), Some(out)) = (self.flows.get(*idx), out) {
                    self.sockets.learn(f, out, crate::engine::MAX_SOCKETS);
                }
            }
            for (idx, out) in &mut ended {
                let Some(f) = self.flows.get(*idx) else {
                    continue;
                };
                match out {
                    Some(out) => self.sockets.lend(f, out),
                    None if self.sockets.app_of(f).is_some() => {
                        let mut o = Box::new(flow_out_of(self, f, None));
                        self.sockets.lend(f, &mut o);
                        *out = Some(o);
                    }
                    None => {}
                }
            }
            for (idx, out) in ended {
                match out {
                    Some(out) => self.stream_one(idx, *out, emit),
                    None => {
                        if let Some(f) = self.flows.get(idx) {
                            count_other(&mut self.other, f);
                        }
                        self.flows.forget(idx);
                    }
                }
            }
        }
        self.flows.compact();
    }

    /// Streaming, at the end of the capture: ends every live flow. The
    /// final report builds the entries of those it may list and they wait
    /// for it (so they get what the calls found), as many as the ended flows
    /// already held leave room for (`MAX_HELD_ENDED` in all). Past that
    /// bound (a flood: hundreds of thousands of STUN or media flows live at
    /// once), a flow's record is written now, in batches, and the flow let
    /// go, as one that ended earlier would have been: the end then never
    /// holds more entries than the bound, where it held one per live flow.
    /// Flows bare by their own state wait too: they get no entry.
    pub fn stream_capture_end(&mut self, emit: &mut dyn FnMut(&FlowOut)) {
        const BATCH: usize = 4096;
        self.stream_ended(emit);
        let mut room = crate::engine::MAX_HELD_ENDED.saturating_sub(self.flows.held_ended());
        let overflow = self.flows.live_flows() > room;
        self.flows.end_all();
        let ended = self.take_ended();
        if !overflow {
            return;
        }
        let all_flows = self.all_flows;
        let mut over = Vec::new();
        for idx in ended {
            let Some(f) = self.flows.get_mut(idx as usize) else {
                continue;
            };
            if !all_flows {
                let bare = f.bare.unwrap_or_else(|| bare_by_state(f));
                f.bare = Some(bare);
                if bare {
                    continue;
                }
            }
            if room > 0 {
                room -= 1;
            } else {
                over.push(idx as usize);
            }
        }
        for batch in over.chunks(BATCH) {
            let outs: Vec<(usize, FlowOut)> = batch
                .iter()
                .filter_map(|&idx| Some((idx, flow_out_of(self, self.flows.get(idx)?, None))))
                .collect();
            for (idx, out) in &outs {
                if let Some(f) = self.flows.get(*idx) {
                    self.sockets.learn(f, out, crate::engine::MAX_SOCKETS);
                }
            }
            for (idx, mut out) in outs {
                if let Some(f) = self.flows.get(idx) {
                    self.sockets.lend(f, &mut out);
                }
                self.release_one(idx, out, true, emit);
            }
        }
    }

    /// Streaming: writes (or counts) the record `out` of ended flow `idx`
    /// and lets the flow go unless a call may need it.
    fn stream_one(&mut self, idx: usize, out: FlowOut, emit: &mut dyn FnMut(&FlowOut)) {
        self.release_one(idx, out, false, emit);
    }

    /// [`Analyzer::stream_one`]; with `no_room`, a flow a call may need
    /// is let go as when the held flows are at their bound.
    fn release_one(
        &mut self,
        idx: usize,
        out: FlowOut,
        no_room: bool,
        emit: &mut dyn FnMut(&FlowOut),
    ) {
        let Some(f) = self.flows.get(idx) else {
            return;
        };
        let (transport, port) = (f.transport, remote_of(f).port);
        let vc = is_vc(&out);
        if vc || self.all_flows {
            emit(&out);
            self.streamed += 1;
        }
        if let Some(app) = &out.app {
            let n = self.app_bytes.len();
            match self.app_bytes.get_mut(app.as_str()) {
                Some(c) => {
                    c.0 += 1;
                    c.1 += out.bytes;
                }
                None if n < crate::engine::MAX_APPS => {
                    self.app_bytes.insert(app.clone(), (1, out.bytes));
                }
                None => {}
            }
        }
        // TLS, DTLS and QUIC may yet be a call's signalling or a TURN
        // relay (seen at the end, over all flows): held too. A flow whose
        // call's record was written already has nothing left to wait for.
        let call_written = self.written.flow_calls.remove(&out.id).is_some();
        let hold =
            !call_written && (vc || out.protocols.iter().any(|p| ["tls", "quic"].contains(p)));
        let written = vc || self.all_flows;
        let full = hold && (no_room || self.flows.held_ended() > crate::engine::MAX_HELD_ENDED);
        if full {
            self.not_held += 1;
        }
        if !hold || full {
            if !written {
                self.other.add(transport, port, out.packets, out.bytes);
            }
            if let Some(f) = self.flows.get(idx) {
                self.written
                    .relay_use
                    .add(&self.ctx.relays, f.transport, f.src, f.dst, &out);
            }
            self.flows.forget(idx);
        } else if !written {
            // Listed or counted at the end, when its call is known.
            self.deferred.insert(out.id);
        }
    }

    /// Streaming: flow `id` ended but its record waits for the end.
    pub fn flow_deferred(&self, id: u32) -> bool {
        self.deferred.contains(&id)
    }

    /// What this analyser adds to the `interval` records and the status
    /// line of a sensor whose traffic several analysers split.
    pub fn share_vitals(&self) -> ShareVitals {
        ShareVitals {
            live_flows: self.flows.live_flows(),
            flows_reported: self.streamed,
            sip_calls: self.ctx.calls.live() + self.written.sip_calls as usize,
            calls_live: self.ctx.calls.live(),
            app_bytes: self
                .app_bytes
                .iter()
                .map(|(app, &(flows, bytes))| (app.clone(), flows, bytes))
                .collect(),
        }
    }

    /// The `interval` record at packet time `ts`; `before` is the packets
    /// and bytes of the record before; `others` what the other analysers
    /// of a split sensor had (none for one analyser: frames and bytes are
    /// counted by this one, which reads them all).
    pub fn interval_report(
        &self,
        ts: crate::time::Nanos,
        before: (u64, u64),
        others: &[ShareVitals],
    ) -> crate::report::IntervalOut {
        let mut all = self.share_vitals();
        for o in others {
            all.live_flows += o.live_flows;
            all.flows_reported += o.flows_reported;
            all.sip_calls += o.sip_calls;
            for (app, flows, bytes) in &o.app_bytes {
                match all.app_bytes.iter_mut().find(|(a, _, _)| a == app) {
                    Some(mine) => {
                        mine.1 += flows;
                        mine.2 += bytes;
                    }
                    None => all.app_bytes.push((app.clone(), *flows, *bytes)),
                }
            }
        }
        let mut apps: Vec<crate::report::AppBytesOut> = all
            .app_bytes
            .into_iter()
            .map(|(app, flows, bytes)| crate::report::AppBytesOut { app, flows, bytes })
            .collect();
        apps.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.app.cmp(&b.app)));
        apps.truncate(10);
        let s = &self.stats;
        crate::report::IntervalOut {
            ts: ts.as_secs_f64(),
            packets: s.packets,
            bytes: s.bytes,
            dropped: self.ctx.dropped,
            interval_packets: s.packets.saturating_sub(before.0),
            interval_bytes: s.bytes.saturating_sub(before.1),
            live_flows: all.live_flows,
            flows_reported: all.flows_reported,
            sip_calls: all.sip_calls,
            top_apps: apps,
        }
    }

    /// Streaming: the relays so far, as a heartbeat writes them: the end's
    /// records but for TURN over TLS or DTLS still on live flows (found as
    /// those flows are let go). Media counted so far: the flows let go and
    /// those still in the table that run to or from a relay's address.
    pub fn relays_so_far(&self) -> Vec<crate::report::RelayOut> {
        let mut relays = self.ctx.relays.to_report();
        for r in &self.written.tls_relays.0 {
            if !relays
                .iter()
                .any(|m| m.ip == r.ip && m.port == r.port && m.transport == r.transport)
            {
                relays.push(r.clone());
            }
        }
        if relays.is_empty() {
            return relays;
        }
        let at: FxHashSet<(std::net::IpAddr, u16, crate::net::Transport)> = self
            .ctx
            .relays
            .endpoints()
            .map(|(ep, t)| (ep.ip, ep.port, t))
            .collect();
        let touches = |f: &Flow| {
            at.contains(&(f.src.ip, f.src.port, f.transport))
                || at.contains(&(f.dst.ip, f.dst.port, f.transport))
        };
        let outs: Vec<FlowOut> = self
            .flows
            .all()
            .iter()
            .filter(|f| !f.gone && touches(f))
            .map(|f| flow_out_of(self, f, None))
            .collect();
        crate::calls::relay::mark_use(&mut relays, &outs, &self.written.relay_use);
        relays
    }

    /// Streaming: from now on, SIP call records are written as calls end
    /// and held flows let go once settled ([`Analyzer::stream_settled`]).
    pub fn write_calls_as_they_end(&mut self) {
        self.written.on = true;
    }

    /// SIP and inferred call records written before the end.
    pub fn calls_streamed(&self) -> u64 {
        self.written.sip_calls + self.written.inferred as u64
    }

    /// Leak records written before the end.
    pub fn leaks_streamed(&self) -> u64 {
        self.written.leaks
    }

    /// The leaks of flows that ended and were let go (and whose calls were
    /// written): nothing can add to them, so their records are written
    /// and they leave the table.
    fn write_done_leaks(&mut self, emit: &mut dyn FnMut(Streamed<'_>)) {
        let flows = &self.flows;
        let done = self
            .ctx
            .leaks
            .take_done(|id| flows.by_id(id).is_none_or(|f| f.gone));
        for mut l in done {
            l.call_id = self
                .written
                .leak_calls
                .get(&l.flow_id)
                .map(|c| c.to_string());
            emit(Streamed::Leak(&l));
            self.written.leaks += 1;
        }
        let leaks = &self.ctx.leaks;
        if !self.written.leak_calls.is_empty() {
            let mut named = FxHashSet::default();
            leaks.visit_flows(|id| {
                named.insert(id);
            });
            self.written.leak_calls.retain(|id, _| named.contains(id));
        }
    }

    /// Streaming, after [`Analyzer::stream_ended`]: at most once a minute of
    /// packet time, writes the records of the SIP calls that ended and of
    /// the calls inferred from settled flows, and lets their flows go.
    pub fn stream_settled(&mut self, emit: &mut dyn FnMut(Streamed<'_>)) {
        if !self.written.on {
            return;
        }
        let now = self.now();
        let next = *self.written.next_sweep.get_or_insert(now + SWEEP_EVERY);
        if now < next {
            return;
        }
        self.written.next_sweep = Some(now + SWEEP_EVERY);
        let named = self.named_flows();
        self.write_ended_calls(now, &named, emit);
        self.write_settled_flows(now, &named, emit);
        // A socket's app is for flows of it that end within the idle
        // timeout and the settling time, or that were live when it was
        // taught.
        let horizon = self.flows.limits().idle_timeout + SETTLED;
        if now > horizon {
            let live = self.flows.all().iter().filter(|f| f.ended.is_none());
            self.sockets.forget_before(Nanos(now.0 - horizon.0), live);
        }
        self.write_done_leaks(emit);
        let flows = &self.flows;
        self.ctx.calls.release_written(|id| flows.is_live(id));
        self.flows.compact();
    }

    /// Flows a leak or a relay names (the end lists them whatever else
    /// they are).
    fn named_flows(&self) -> FxHashSet<u32> {
        let mut named = FxHashSet::default();
        self.ctx.leaks.visit_flows(|id| {
            named.insert(id);
        });
        self.ctx.relays.visit_flows(|id| {
            named.insert(id);
        });
        named
    }

    /// The SIP calls that ended [`CALL_GRACE`] ago, or whose signalling has
    /// been silent for [`CALL_SILENT`] with no media open: their records are
    /// written, with those of their flows, and the flows that ended are let
    /// go. Media flows still open keep the call (read only) for their own
    /// records, which name it.
    fn write_ended_calls(
        &mut self,
        now: Nanos,
        named: &FxHashSet<u32>,
        emit: &mut dyn FnMut(Streamed<'_>),
    ) {
        let silent = self.flows.limits().idle_timeout.max(CALL_SILENT);
        let media_ids = |c: &crate::calls::dialog::Call| -> Vec<u32> {
            c.media
                .iter()
                .flat_map(|m| m.flows.iter().copied())
                .collect()
        };
        let due: Vec<u32> = self
            .ctx
            .calls
            .indexed()
            .filter(|(_, c)| match c.end_ts {
                Some(end) => c.last_ts.max(end) + CALL_GRACE <= now,
                None => {
                    c.last_ts + silent <= now
                        && !media_ids(c).iter().any(|&id| self.flows.is_live(id))
                }
            })
            .map(|(i, _)| i)
            .collect();
        if due.is_empty() {
            return;
        }
        // Flows another call still tracked names stay for it.
        let mut kept: FxHashSet<u32> = FxHashSet::default();
        for (i, c) in self.ctx.calls.indexed() {
            if !due.contains(&i) {
                kept.extend(c.signalling_flows.iter().copied());
                kept.extend(media_ids(c));
            }
        }
        let across = Across::of(self);
        for idx in due {
            let Some(call) = self.ctx.calls.get(idx) else {
                continue;
            };
            let media = media_ids(call);
            let mut ids: Vec<u32> = call
                .signalling_flows
                .iter()
                .copied()
                .chain(media.iter().copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let at: Vec<usize> = ids
                .iter()
                .filter_map(|&id| self.flows.find(id))
                .filter(|&i| self.flows.get(i).is_some_and(|f| !f.gone))
                .collect();
            let mut outs: Vec<FlowOut> = at
                .iter()
                .filter_map(|&i| {
                    let f = self.flows.get(i)?;
                    let mut out = flow_out_of(self, f, Some(&across));
                    self.sockets.lend(f, &mut out);
                    Some(out)
                })
                .collect();
            let mut calls = [call_out(call, &outs, self.share())];
            header_findings(&mut calls, &outs);
            let quality = call_quality(&mut calls, &outs);
            let [mut c] = calls;
            c.flows_open = at
                .iter()
                .filter_map(|&i| self.flows.get(i))
                .filter(|f| f.ended.is_none() && media.contains(&f.id))
                .map(|f| f.id)
                .collect();
            self.emit_calls(std::slice::from_ref(&c), &quality, named, emit);
            for (i, out) in at.into_iter().zip(outs.iter_mut()) {
                let Some(f) = self.flows.get(i) else { continue };
                if f.ended.is_none() {
                    self.written
                        .flow_calls
                        .insert(f.id, c.call_id.as_str().into());
                } else if !kept.contains(&f.id) {
                    self.let_go_held(i, out, named, emit);
                }
            }
            self.ctx
                .calls
                .mark_written(idx, std::mem::take(&mut c.flows_open));
            self.written.sip_calls += 1;
        }
    }

    /// Held flows of no call still tracked whose addresses have settled
    /// ([`SETTLED`]): the calls inferred from them are written and they are
    /// let go, their records written first if they waited for the end.
    fn write_settled_flows(
        &mut self,
        now: Nanos,
        named: &FxHashSet<u32>,
        emit: &mut dyn FnMut(Streamed<'_>),
    ) {
        if self.flows.held_ended() == 0 {
            return;
        }
        let reach = Nanos::from_secs(crate::calls::infer::REACH_S);
        let calls = &self.ctx.calls;
        // Flows a tracked call names, or that name one.
        let mut named_by_calls: FxHashSet<u32> = FxHashSet::default();
        for c in calls.calls() {
            named_by_calls.extend(c.signalling_flows.iter().copied());
            named_by_calls.extend(c.media.iter().flat_map(|m| m.flows.iter().copied()));
        }
        let in_call = |f: &Flow| {
            let st = &f.state;
            named_by_calls.contains(&f.id)
                || st
                    .sig_call
                    .or(st.media_call.map(|(c, _)| c))
                    .is_some_and(|c| calls.is_live(c))
        };
        // The held flows of no tracked call, and the latest end of each
        // of their addresses.
        let mut held: Vec<usize> = Vec::new();
        let mut last_end: FxHashMap<IpAddr, Nanos> = FxHashMap::default();
        for (i, f) in self.flows.all().iter().enumerate() {
            if f.gone || f.ended.is_none() || in_call(f) {
                continue;
            }
            held.push(i);
            for ip in addresses(f).into_iter().flatten() {
                let e = last_end.entry(ip).or_insert(f.last_ts);
                *e = (*e).max(f.last_ts);
            }
        }
        if held.is_empty() {
            return;
        }
        // An address is unsettled while one of its flows ended recently or
        // a live flow of it began within reach of their end.
        let mut unsettled: FxHashSet<IpAddr> = last_end
            .iter()
            .filter(|(_, &e)| e + SETTLED > now)
            .map(|(&ip, _)| ip)
            .collect();
        for f in self.flows.all().iter().filter(|f| f.ended.is_none()) {
            for ip in [f.src.ip, f.dst.ip] {
                if last_end.get(&ip).is_some_and(|&e| f.first_ts <= e + reach) {
                    unsettled.insert(ip);
                }
            }
        }
        // A flow with one address unsettled holds its other address back
        // too, so that a client's flows go together.
        let flows = self.flows.all();
        let hold_back = |unsettled: &mut FxHashSet<IpAddr>| loop {
            let mut more = false;
            for &i in &held {
                let ips = addresses(&flows[i]);
                let ips = ips.iter().flatten();
                if ips.clone().any(|ip| unsettled.contains(ip)) {
                    for ip in ips {
                        more |= unsettled.insert(*ip);
                    }
                }
            }
            if !more {
                break;
            }
        };
        hold_back(&mut unsettled);
        let batch: Vec<usize> = held
            .into_iter()
            .filter(|&i| settled(&flows[i], &unsettled))
            .collect();
        if batch.is_empty() {
            return;
        }
        let across = Across::of(self);
        let listed: Vec<&Flow> = batch.iter().map(|&i| &flows[i]).collect();
        let mut outs: Vec<FlowOut> = listed
            .iter()
            .map(|f| {
                let mut out = flow_out_of(self, f, Some(&across));
                self.sockets.lend(f, &mut out);
                out
            })
            .collect();
        super::name_by_app_named_address(&mut outs);
        super::share_app_by_socket(&mut outs, &listed);
        // The relays as the end would see them: TLS and DTLS flows that are
        // TURN join them (and are kept for the end's), and whether media
        // went through each, from these flows and those let go before.
        let mut relays = self.ctx.relays.to_report();
        let earlier = std::mem::take(&mut self.written.tls_relays.0);
        let n = relays.len();
        super::turn_over_tls(self, &mut outs, &mut relays, &earlier);
        self.written.tls_relays.0 = relays[n..].to_vec();
        crate::calls::relay::mark_use(&mut relays, &outs, &self.written.relay_use);
        let inferred =
            crate::calls::infer::infer_calls_after(&outs, &relays, self.written.inferred, &|n| {
                self.numbering.nth(n as u64) as usize
            });
        let mut calls = Vec::with_capacity(inferred.len());
        self.written.inferred += inferred.len();
        super::add_inferred(&mut calls, &mut outs, inferred);
        header_findings(&mut calls, &outs);
        let quality = call_quality(&mut calls, &outs);
        self.emit_calls(&calls, &quality, named, emit);
        for (i, out) in batch.into_iter().zip(outs.iter()) {
            self.let_go_held(i, out, named, emit);
        }
    }

    /// Writes call records and their quality records; the leaks of their
    /// flows (in `named`) will name them.
    fn emit_calls(
        &mut self,
        calls: &[CallOut],
        quality: &[CallQualityOut],
        named: &FxHashSet<u32>,
        emit: &mut dyn FnMut(Streamed<'_>),
    ) {
        for c in calls {
            emit(Streamed::Call(c));
            for &id in c.flow_ids.iter().filter(|id| named.contains(id)) {
                self.written
                    .leak_calls
                    .entry(id)
                    .or_insert_with(|| c.call_id.as_str().into());
            }
        }
        for q in quality {
            emit(Streamed::CallQuality(q));
        }
    }

    /// For fuzzing and its regression tests: a streaming analysis (calls
    /// written as they end) of a frame sequence
    /// ([`crate::capture::sequence`]), its packet time stretched `stretch`
    /// times so that flows idle out and calls end within a short input.
    /// Returns the NDJSON records written along the way; the report of the
    /// end is for the caller to build.
    pub fn stream_sequence(&mut self, data: &[u8], stretch: u64) -> Vec<u8> {
        struct Sink<'a> {
            an: &'a mut Analyzer,
            stretch: u64,
            out: Vec<u8>,
        }
        impl Sink<'_> {
            fn write(out: &mut Vec<u8>, r: Streamed<'_>) {
                // Into memory: never an error.
                let _ = r.write_to(out);
            }
        }
        impl crate::capture::FrameSink for Sink<'_> {
            fn frame(&mut self, link: crate::packet::LinkType, ts: Nanos, data: &[u8], wire: u32) {
                let start = crate::capture::sequence::START.0;
                let t = ts.0.saturating_sub(start).saturating_mul(self.stretch);
                self.an
                    .process(link, Nanos(start.saturating_add(t)), data, wire);
                let out = &mut self.out;
                if self.an.ended_pending() {
                    self.an
                        .stream_ended(&mut |f| Self::write(out, Streamed::Flow(f)));
                }
                self.an.stream_settled(&mut |r| Self::write(out, r));
            }
            fn unreadable(&mut self, wire_len: u32) {
                self.an.count_unreadable(wire_len);
            }
            fn warn(&mut self, kind: &'static str, example: impl FnOnce() -> String) {
                crate::capture::FrameSink::warn(&mut *self.an, kind, example);
            }
        }
        self.set_streaming(true);
        self.write_calls_as_they_end();
        let mut sink = Sink {
            an: self,
            stretch,
            out: Vec::new(),
        };
        crate::capture::sequence::feed(&mut sink, data);
        let mut out = sink.out;
        self.stream_capture_end(&mut |f| Sink::write(&mut out, Streamed::Flow(f)));
        out
    }

    /// Lets held flow `idx` go, with `out` its entry as the end would have
    /// built it: a record that waited for the end is written now (or the
    /// flow counted in `other_flows`), as the end would have decided.
    fn let_go_held(
        &mut self,
        idx: usize,
        out: &FlowOut,
        named: &FxHashSet<u32>,
        emit: &mut dyn FnMut(Streamed<'_>),
    ) {
        let Some(f) = self.flows.get(idx) else {
            return;
        };
        if self.deferred.remove(&out.id) {
            if is_vc(out) || named.contains(&out.id) {
                emit(Streamed::Flow(out));
                self.streamed += 1;
            } else {
                self.other
                    .add(f.transport, remote_of(f).port, out.packets, out.bytes);
            }
        }
        self.written
            .relay_use
            .add(&self.ctx.relays, f.transport, f.src, f.dst, out);
        self.flows.forget(idx);
    }
}

/// The addresses of a flow that a client's calls are inferred over: its
/// internal side when exactly one side is internal (the other is a server
/// of the internet), else both.
fn addresses(f: &Flow) -> [Option<IpAddr>; 2] {
    let inner = |ip| crate::scope::scope_of(ip).is_internal();
    match (inner(f.src.ip), inner(f.dst.ip)) {
        (true, false) => [Some(f.src.ip), None],
        (false, true) => [Some(f.dst.ip), None],
        _ => [Some(f.src.ip), Some(f.dst.ip)],
    }
}

/// Whether none of flow `f`'s addresses is unsettled.
fn settled(f: &Flow, unsettled: &FxHashSet<IpAddr>) -> bool {
    !addresses(f)
        .iter()
        .flatten()
        .any(|ip| unsettled.contains(ip))
}
