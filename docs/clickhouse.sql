-- vcscope NDJSON records in ClickHouse: one table per record type.
--
-- Create:  clickhouse-client --multiquery < docs/clickhouse.sql
-- Load:    scripts/clickhouse-load.sh FILE.ndjson...   (or - for stdin)
--
-- Each NDJSON line is one record whose first key is its "type"; the load
-- script sends each type to its table with JSONEachRow, skipping the fields
-- a table does not keep (nested lists such as a flow's rtp_streams or a
-- call's media and endpoints stay in the NDJSON files) and mapping nested
-- objects to dotted columns (`src.ip`, `signalling.protocol`).
--
-- `sensor` is the name given with `vcscope --sensor NAME` (empty without
-- it): flow ids and inferred call ids count from 1 on every sensor, so key
-- joins on (sensor, id). Records of sensors that split one link with
-- --partition K/N answer every query below as one sensor's would.
--
-- Written for ClickHouse 18.16 (Debian 12's package) and later; on 19.6 and
-- later a TTL clause (e.g. `TTL toDateTime(toUInt32(last_ts)) + INTERVAL 90
-- DAY`) bounds how long records are kept.

CREATE DATABASE IF NOT EXISTS vcscope;

-- "type":"flow": one record per flow when it ends (or at the end).
CREATE TABLE IF NOT EXISTS vcscope.flows (
    sensor String,
    id UInt64,
    transport String,
    `src.ip` String,
    `src.port` UInt16,
    `dst.ip` String,
    `dst.port` UInt16,
    first_ts Float64,
    last_ts Float64,
    packets UInt64,
    bytes UInt64,
    packets_fwd UInt64,
    packets_rev UInt64,
    bytes_fwd UInt64,
    bytes_rev UInt64,
    protocols Array(String),
    encryption String,
    sni Nullable(String),
    dns_name Nullable(String),
    app Nullable(String),
    operator Nullable(String),
    call_id Nullable(String),
    ended String,
    findings Array(String)
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(toDateTime(toUInt32(first_ts)))
ORDER BY (sensor, first_ts, id);

-- "type":"call": one record per call (SIP dialog or inferred call).
CREATE TABLE IF NOT EXISTS vcscope.calls (
    sensor String,
    call_id String,
    `from` Nullable(String),
    `to` Nullable(String),
    app Nullable(String),
    `signalling.protocol` String,
    `signalling.transport` String,
    `signalling.encrypted` UInt8,
    encrypted String,
    verdict String,
    state String,
    inferred UInt8,
    encryption_ends Nullable(String),
    encryption_basis Nullable(String),
    first_ts Float64,
    last_ts Float64,
    setup_ts Nullable(Float64),
    answer_ts Nullable(Float64),
    end_ts Nullable(Float64),
    final_status Nullable(UInt16),
    bye_reason Nullable(String),
    user_agents Array(String),
    signalling_flows Array(UInt64),
    flow_ids Array(UInt64),
    findings Array(String),
    -- media flows still open when the record was written (a minute after
    -- the call ended); their own records come when they end
    flows_open Array(UInt64)
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(toDateTime(toUInt32(first_ts)))
ORDER BY (sensor, first_ts, call_id);

-- "type":"call_quality": the worst rated audio direction of a call (E-model).
CREATE TABLE IF NOT EXISTS vcscope.call_quality (
    sensor String,
    call_id String,
    mos Float64,
    r_factor Float64,
    flow_id UInt64,
    ssrc UInt32,
    direction String,
    estimate UInt8,
    limited_by String,
    streams_rated UInt64
) ENGINE = MergeTree()
ORDER BY (sensor, call_id);

-- "type":"relay": a STUN/TURN server or media relay and who used it. A
-- streaming sensor writes a relay's record so far after each heartbeat
-- that found it new or changed, and the final one at the end: the table
-- keeps the last record of each relay (read it with FINAL, or after the
-- merges ClickHouse does in the background).
CREATE TABLE IF NOT EXISTS vcscope.relays (
    sensor String,
    ip String,
    port UInt16,
    transport String,
    kind String,
    operator Nullable(String),
    clients Array(String),
    relayed_addresses Array(String),
    peers Array(String),
    channel_data_packets UInt64,
    relayed_packets UInt64,
    used Nullable(UInt8),
    flow_ids Array(UInt64)
) ENGINE = ReplacingMergeTree()
ORDER BY (sensor, ip, port, transport);

-- "type":"leak": an internal address exposed in signalling or STUN/TURN.
CREATE TABLE IF NOT EXISTS vcscope.leaks (
    sensor String,
    address String,
    scope String,
    `where` String,
    flow_id UInt64,
    call_id Nullable(String),
    exposed_to String,
    first_ts Float64,
    count UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(toDateTime(toUInt32(first_ts)))
ORDER BY (sensor, first_ts, address);

-- "type":"interval": the heartbeat written every --interval seconds.
CREATE TABLE IF NOT EXISTS vcscope.intervals (
    sensor String,
    ts Float64,
    packets UInt64,
    bytes UInt64,
    dropped UInt64,
    interval_packets UInt64,
    interval_bytes UInt64,
    live_flows UInt64,
    flows_reported UInt64,
    sip_calls UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(toDateTime(toUInt32(ts)))
ORDER BY (sensor, ts);

-- Example questions (tests/clickhouse.rs runs the first four against the
-- JSON report of the same captures).
--
-- 1. Is each call encrypted?
--    SELECT encrypted, count() AS calls FROM vcscope.calls
--    GROUP BY encrypted ORDER BY calls DESC, encrypted;
--
-- 2. Where does the media go: relays by operator, and whether used.
--    SELECT ifNull(operator, '') AS operator, kind, count() AS relays,
--           countIf(used = 1) AS used, sum(relayed_packets) AS relayed_packets
--    FROM vcscope.relays FINAL GROUP BY operator, kind ORDER BY relays DESC, operator, kind;
--
-- 3. Which internal addresses leak, where, and to whom.
--    SELECT scope, `where`, uniqExact(address) AS addresses, sum(count) AS times
--    FROM vcscope.leaks GROUP BY scope, `where` ORDER BY addresses DESC, scope, `where`;
--
-- 4. Traffic by app.
--    SELECT app, count() AS flows, sum(bytes) AS bytes FROM vcscope.flows
--    WHERE app IS NOT NULL GROUP BY app ORDER BY bytes DESC, app;
--
-- 5. Calls whose SRTP keys travelled in clear, with their flows.
--    SELECT c.sensor, c.call_id, f.transport, f.`src.ip`, f.`dst.ip`, f.`dst.port`
--    FROM vcscope.calls AS c ARRAY JOIN c.flow_ids AS fid
--    ANY INNER JOIN (SELECT sensor, id AS fid, transport, `src.ip`, `dst.ip`, `dst.port`
--                    FROM vcscope.flows) AS f USING (sensor, fid)
--    WHERE c.encrypted = 'keys-exposed';
--
-- 6. The calls that sounded worst, and why.
--    SELECT q.call_id, c.app, q.mos, q.limited_by, q.direction
--    FROM vcscope.call_quality AS q
--    ANY LEFT JOIN (SELECT sensor, call_id, app FROM vcscope.calls) AS c USING (sensor, call_id)
--    ORDER BY q.mos LIMIT 20;
--
-- 7. Is every sensor alive, and dropping packets?
--    SELECT sensor, toDateTime(toUInt32(max(ts))) AS last_seen,
--           sum(interval_packets) AS packets, max(dropped) AS dropped
--    FROM vcscope.intervals GROUP BY sensor ORDER BY sensor;
