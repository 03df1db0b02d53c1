//! NDJSON records loaded into ClickHouse with `docs/clickhouse.sql` and
//! `scripts/clickhouse-load.sh` answer the schema's example questions as the
//! JSON reports of the same captures do: once for one sensor per capture,
//! and once for two sensors that split each capture with `--partition`.
//!
//! Needs `clickhouse-server` and `clickhouse-client` (Debian's packages;
//! `scripts/setup.sh --test` installs them). The test starts its own server
//! in a temporary folder on free loopback ports and stops it at the end;
//! without the binaries it says so and passes.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A ClickHouse server of its own, killed when dropped.
struct Server {
    child: Child,
    client: PathBuf,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(server: &Path, client: &Path) -> Server {
        let dir = std::env::temp_dir().join(format!("vcscope-clickhouse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (port, http) = (free_port(), free_port());
        let d = dir.display();
        std::fs::write(
            dir.join("config.xml"),
            format!(
                r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/server.err.log</errorlog></logger>
  <tcp_port>{port}</tcp_port>
  <http_port>{http}</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
</yandex>
"#
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("users.xml"),
            r#"<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"#,
        )
        .unwrap();
        let child = Command::new(server)
            .arg(format!(
                "--config-file={}",
                dir.join("config.xml").display()
            ))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start clickhouse-server");
        let s = Server {
            child,
            client: client.to_path_buf(),
            port,
            dir,
        };
        let start = Instant::now();
        loop {
            let ok = Command::new(&s.client)
                .args(["--port", &port.to_string(), "--query", "SELECT 1"])
                .stderr(Stdio::null())
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return s;
            }
            let log = std::fs::read_to_string(s.dir.join("server.err.log")).unwrap_or_default();
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "clickhouse-server did not answer on port {port} within 90 s: {log}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn client(&self) -> Command {
        let mut c = Command::new(&self.client);
        c.args(["--port", &self.port.to_string()]);
        c
    }

    /// Runs `sql`, statements separated by `;`, reading stdin from `input`.
    fn run(&self, sql: &str) -> String {
        let o = self
            .client()
            .args(["--multiquery", "--query", sql])
            .output()
            .expect("run clickhouse-client");
        assert!(
            o.status.success(),
            "clickhouse-client failed on {sql}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    fn load(&self, ndjson: &Path) {
        let o = Command::new(root().join("scripts/clickhouse-load.sh"))
            .env("CLICKHOUSE_CLIENT", &self.client)
            .args(["--port", &self.port.to_string(), "--"])
            .arg(ndjson)
            .output()
            .expect("run scripts/clickhouse-load.sh");
        assert!(
            o.status.success(),
            "clickhouse-load.sh {}: {}",
            ndjson.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.is_empty(), "clickhouse-load.sh said: {stderr}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The schema's example questions 1 to 4 and the rated calls, as rows of
/// tab-separated text.
const QUESTIONS: [(&str, &str); 5] = [
    (
        "calls by encryption",
        "SELECT encrypted, count() FROM vcscope.calls GROUP BY encrypted ORDER BY encrypted",
    ),
    (
        "relays by operator",
        "SELECT ifNull(operator, '') AS op, kind, uniqExact(ip, port, transport), \
         uniqExactIf(ip, port, transport, used = 1) FROM vcscope.relays FINAL \
         GROUP BY op, kind ORDER BY op, kind",
    ),
    (
        "leaks by scope and place",
        "SELECT scope, `where`, uniqExact(address), sum(count) FROM vcscope.leaks \
         GROUP BY scope, `where` ORDER BY scope, `where`",
    ),
    (
        "traffic by app",
        "SELECT app, count(), sum(bytes) FROM vcscope.flows WHERE app IS NOT NULL \
         GROUP BY app ORDER BY app",
    ),
    (
        "rated calls",
        "SELECT call_id, mos, limited_by FROM vcscope.call_quality ORDER BY call_id",
    ),
];

/// What the same questions answer from JSON reports.
#[derive(Default)]
struct Expected {
    calls: BTreeMap<String, u64>,
    /// (operator, kind) -> relay -> used
    relays: BTreeMap<(String, String), BTreeMap<String, bool>>,
    /// (scope, where) -> address -> count
    leaks: BTreeMap<(String, String), BTreeMap<String, u64>>,
    apps: BTreeMap<String, (u64, u64)>,
    /// call id -> (MOS, what limited it)
    quality: BTreeMap<String, (f64, String)>,
}

impl Expected {
    fn add(&mut self, v: &Value) {
        let s = |x: &Value| x.as_str().unwrap_or_default().to_string();
        for c in v["calls"].as_array().unwrap() {
            *self.calls.entry(s(&c["encrypted"])).or_default() += 1;
        }
        for r in v["relays"].as_array().unwrap() {
            let key = format!("{} {} {}", r["ip"], r["port"], r["transport"]);
            let used = r["used"].as_bool() == Some(true);
            *self
                .relays
                .entry((s(&r["operator"]), s(&r["kind"])))
                .or_default()
                .entry(key)
                .or_default() |= used;
        }
        for l in v["leaks"].as_array().unwrap() {
            *self
                .leaks
                .entry((s(&l["scope"]), s(&l["where"])))
                .or_default()
                .entry(s(&l["address"]))
                .or_default() += l["count"].as_u64().unwrap();
        }
        for q in v["call_quality"].as_array().unwrap() {
            let mos = q["mos"].as_f64().unwrap();
            self.quality
                .insert(s(&q["call_id"]), (mos, s(&q["limited_by"])));
        }
        for f in v["flows"].as_array().unwrap() {
            if let Some(app) = f["app"].as_str() {
                let e = self.apps.entry(app.to_string()).or_default();
                e.0 += 1;
                e.1 += f["bytes"].as_u64().unwrap();
            }
        }
    }

    fn answers(&self) -> [String; 5] {
        let mut a: [String; 5] = Default::default();
        for (k, n) in &self.calls {
            a[0] += &format!("{k}\t{n}\n");
        }
        for ((op, kind), rs) in &self.relays {
            let used = rs.values().filter(|u| **u).count();
            a[1] += &format!("{op}\t{kind}\t{}\t{used}\n", rs.len());
        }
        for ((scope, place), addrs) in &self.leaks {
            let times: u64 = addrs.values().sum();
            a[2] += &format!("{scope}\t{place}\t{}\t{times}\n", addrs.len());
        }
        for (app, (flows, bytes)) in &self.apps {
            a[3] += &format!("{app}\t{flows}\t{bytes}\n");
        }
        for (call, (mos, by)) in &self.quality {
            a[4] += &format!("{call}\t{mos}\t{by}\n");
        }
        a
    }
}

/// `sensor\tcall_id\tflows` for each call of a report with flows listed,
/// as the join of calls and flows answers, in its order.
fn flows_of_calls(sensor: &str, v: &Value) -> String {
    let listed: std::collections::BTreeSet<u64> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_u64().unwrap())
        .collect();
    let mut rows: Vec<(String, usize)> = v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let ids = c["flow_ids"].as_array().unwrap();
            let n = ids
                .iter()
                .filter(|i| listed.contains(&i.as_u64().unwrap()))
                .count();
            (c["call_id"].as_str().unwrap().to_string(), n)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    rows.sort();
    rows.iter()
        .map(|(c, n)| format!("{sensor}\t{c}\t{n}\n"))
        .collect()
}

fn ask(server: &Server) -> [String; 5] {
    QUESTIONS.map(|(_, sql)| server.run(sql))
}

fn check(server: &Server, want: &Expected, what: &str) {
    let got = ask(server);
    for ((name, _), (g, w)) in QUESTIONS.iter().zip(got.iter().zip(want.answers())) {
        assert_eq!(*g, w, "{what}: {name}");
    }
}

#[test]
fn ndjson_in_clickhouse_answers_as_the_report_does() {
    let (Some(server), Some(client)) = (find("clickhouse-server"), find("clickhouse-client"))
    else {
        eprintln!(
            "SKIPPED: clickhouse-server and clickhouse-client not found \
             (scripts/setup.sh --test installs them)"
        );
        return;
    };
    let server = Server::start(&server, &client);
    let schema = std::fs::read_to_string(root().join("docs/clickhouse.sql")).unwrap();
    server.run(&schema);

    let tmp = server.dir.join("records");
    std::fs::create_dir_all(&tmp).unwrap();
    let (mut one, mut split) = (Expected::default(), Expected::default());
    let mut whole = Vec::new();
    let mut shares: [Vec<u8>; 2] = Default::default();
    let mut split_fixtures = 0;
    let mut one_flows = String::new();
    for f in all_fixtures() {
        let f = f.to_str().unwrap();
        let report: Value =
            serde_json::from_slice(&run_ok(&["read", f, "--format", "json"])).unwrap();
        one.add(&report);
        let name = Path::new(f).file_name().unwrap().to_str().unwrap();
        let (fmt, sensor) = (["--format", "ndjson"], ["--sensor", name]);
        whole.extend(run_ok(
            // Heartbeats each second of packet time: relays come as they
            // change too, and the table keeps each one's last record.
            &[&["read", f, "--interval", "1"][..], &fmt, &sensor].concat(),
        ));
        one_flows.push_str(&flows_of_calls(name, &report));
        // Two sensors split a capture the same way only when no flow runs
        // between internal hosts (README, Several sensors).
        if !internal_to_internal(&report) {
            split.add(&report);
            split_fixtures += 1;
            for (k, share) in ["0/2", "1/2"].iter().zip(shares.iter_mut()) {
                let sensor = format!("{name} {k}");
                let part = ["--partition", k, "--sensor", &sensor];
                share.extend(run_ok(&[&["read", f][..], &fmt, &part].concat()));
            }
        }
    }
    assert!(
        split_fixtures >= 20,
        "only {split_fixtures} fixtures to split"
    );

    // One sensor.
    let path = tmp.join("one.ndjson");
    std::fs::write(&path, &whole).unwrap();
    server.load(&path);
    check(&server, &one, "one sensor");
    let want = one.answers();
    assert!(
        want[..4].iter().all(|a| a.lines().count() >= 2),
        "each question has answers: {want:?}"
    );
    assert!(!want[4].is_empty(), "rated calls: {want:?}");
    // Records of one sensor meet by (sensor, id): each call's flows.
    let joined = server.run(
        "SELECT sensor, call_id, count() FROM vcscope.calls ARRAY JOIN flow_ids AS fid \
         ANY INNER JOIN (SELECT sensor, id AS fid FROM vcscope.flows) USING (sensor, fid) \
         GROUP BY sensor, call_id ORDER BY sensor, call_id",
    );
    assert_eq!(joined, one_flows, "one sensor: the flows of each call");
    assert!(joined.lines().count() >= 20, "{joined}");
    let intervals = server.run("SELECT count() FROM vcscope.intervals");
    assert_ne!(intervals.trim(), "0", "interval records loaded");

    // Two sensors, each with its share of every capture.
    server.run(
        "TRUNCATE TABLE vcscope.flows; TRUNCATE TABLE vcscope.calls; TRUNCATE TABLE vcscope.relays; \
         TRUNCATE TABLE vcscope.leaks; TRUNCATE TABLE vcscope.intervals; \
         TRUNCATE TABLE vcscope.call_quality",
    );
    for (k, share) in shares.iter().enumerate() {
        let path = tmp.join(format!("share{k}.ndjson"));
        std::fs::write(&path, share).unwrap();
        server.load(&path);
    }
    check(&server, &split, "two sensors");
}
