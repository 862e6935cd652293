//! The model against reality, where reality can be run here: three reference workers (the
//! Worker class of crates/qfleet-runtime/python/qfleet_worker.py, with a job that takes 0.5 s)
//! consume a queue on moto's server while tests/support/sim_reality.py sends S3 events on a
//! schedule (a burst, then a steady trickle; and a minute of random Poisson arrivals). The same
//! run, simulated by `qfleet simulate` (a fleet fixed at three, the arrivals as they were sent,
//! as a CSV, no spread), gives the same latency percentiles within the stated tolerance: 2 seconds
//! or 25%, whichever is larger (the model counts whole seconds, the real workers pay a
//! one-second long poll).
//!
//! The model is given the run that happened, not the one planned: the seconds a worker was
//! taken per message as measured (the job's 0.5 s plus its calls to the emulator, which grow
//! on a loaded machine: 0.75 s was measured with the CPU saturated) and the arrivals in the
//! second they were sent. What is compared is the queueing the model predicts from them.
//! The fleet is fixed: the emulators run no scaling policy, so scaling is pinned by the rule
//! tests in crates/qfleet-sim/src/tests.rs instead.

use crate::common::*;

const WORKERS: u64 = 3;
const SECONDS_PER_MESSAGE: f64 = 0.5;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

#[test]
fn real_workers_on_the_emulators_queue_match_the_simulated_latencies() {
    // 60 messages at once, then 2 a second for 20 seconds: 3 workers at 0.5 s do 6 a second.
    let mut schedule: Vec<(u64, u64)> = vec![(0, 60)];
    schedule.extend((1..=20).map(|s| (s, 2)));
    compare(&schedule, "simreal");
}

#[test]
fn real_workers_match_the_simulated_latencies_under_random_poisson_arrivals() {
    // A minute of random arrivals at 4 a second on average (3 workers at 0.5 s do 6: a
    // utilisation of two thirds, where arrivals close together queue), drawn once here with a
    // fixed seed (Knuth's method) and sent to both the real workers and the model as the
    // same schedule.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let schedule: Vec<(u64, u64)> = (0..60)
        .map(|s| {
            let (limit, mut k, mut p) = ((-4.0f64).exp(), 0u64, uniform());
            while p > limit {
                k += 1;
                p *= uniform();
            }
            (s, k)
        })
        .filter(|&(_, n)| n > 0)
        .collect();
    let total: u64 = schedule.iter().map(|(_, n)| n).sum();
    assert!((180..=300).contains(&total), "{total}");
    compare(&schedule, "simpois");
}

/// Runs the real workers on moto under `schedule` ((second, count)) and the same arrivals in
/// `qfleet simulate` (a fleet fixed at three, no spread), and compares p50, p95 and max.
fn compare(schedule: &[(u64, u64)], name: &str) {
    let endpoint = moto_endpoint();
    let o = run(std::process::Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tests/support/sim_reality.py"))
        .args([
            endpoint.as_str(),
            &unique(name),
            &WORKERS.to_string(),
            &SECONDS_PER_MESSAGE.to_string(),
            &serde_json::to_string(&schedule).unwrap(),
        ]));
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let real: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let latencies: Vec<f64> = real["latencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(
        latencies.len() as u64,
        real["sent"].as_u64().unwrap(),
        "every message processed"
    );

    // What the run was: the arrivals as sent, and the seconds a worker was taken per message
    // (never less than the job's own time).
    let arrivals: Vec<(u64, u64)> = serde_json::from_value(real["arrivals"].clone()).unwrap();
    assert_eq!(
        arrivals.iter().map(|(_, n)| n).sum::<u64>(),
        schedule.iter().map(|(_, n)| n).sum::<u64>(),
        "every message sent"
    );
    let taken = real["seconds_per_message"].as_f64().unwrap();
    assert!(taken >= SECONDS_PER_MESSAGE, "{taken}");
    assert_eq!(real["held"], real["sent"], "each message timed once");
    eprintln!("{name}: a worker was taken {taken:.2} s per message");

    let dir = tempfile::tempdir().unwrap();
    let csv: String = arrivals.iter().map(|(s, n)| format!("{s},{n}\n")).collect();
    std::fs::write(dir.path().join("arrivals.csv"), csv).unwrap();
    let stack = dir.path().join("fixed.yaml");
    std::fs::write(
        &stack,
        format!(
            "region: eu-west-1\nlab: true\nworkers:\n  min: {WORKERS}\n  max: {WORKERS}\n  public_ip: true\nscaling:\n  max_latency_seconds: 600\n  seconds_per_message: {taken:.2}\n"
        ),
    )
    .unwrap();
    let sim = doc(
        qfleet()
            .current_dir(dir.path())
            .arg("simulate")
            .arg(&stack)
            .args([
                "--load",
                "csv:arrivals.csv",
                "--spread",
                "0",
                "--duration",
                "5m",
                "-o",
                "json",
            ]),
        0,
    );
    let sim = &sim["environments"][0];
    assert_eq!(sim["processed"], real["sent"], "{sim}");
    for (p, key) in [(50.0, "p50"), (95.0, "p95"), (100.0, "max")] {
        let measured = percentile(&latencies, p);
        let simulated = sim["latency"][key].as_f64().unwrap();
        let tolerance = (0.25 * simulated).max(2.0);
        eprintln!("{key}: measured {measured:.2} s, simulated {simulated} s");
        assert!(
            (measured - simulated).abs() <= tolerance,
            "{key}: measured {measured:.2} s, simulated {simulated} s (tolerance {tolerance:.1} s)\nmeasured: {latencies:?}"
        );
    }
}

/// `scaling.expected_peak` the fleet cannot meet: plan says so before its preview, as
/// validate does (simulated offline; the plan itself runs against moto).
#[test]
fn plan_warns_of_a_declared_peak_the_fleet_cannot_meet() {
    let dir = tempfile::tempdir().unwrap();
    let env = unique("peak");
    let file = lab_stack_file(
        dir.path(),
        &env,
        "scaling:\n  max_latency_seconds: 600\n  seconds_per_message: 1\n  expected_peak: 10\n",
    );
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{env}: warning: scaling.expected_peak: 10 messages a second"
        )),
        "{}",
        stderr(&o)
    );
    // And among the environment's warnings in the JSON document.
    let o = run(qfleet_on_moto().arg("plan").arg(&file).args(["-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = document(&o);
    let warnings = doc["environments"][0]["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("scaling.expected_peak: 10 messages a second")),
        "{warnings:?}"
    );
}
