//! qfleet's scale-in alarm as CloudWatch computes it: the rendered metric-math expressions of
//! `ScaleInAlarm` (EC2 and Fargate) evaluated one timestamp at a time under the rules of
//! "Using math expressions with CloudWatch metrics"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html>),
//! and checked against the simulator's rule for the same datapoint
//! (`sim::rules::scale_in_datapoint`): the template and the model that judges it agree.
//!
//! The rules this evaluator follows, from that page: "Missing values in a time series are
//! treated as 0" in arithmetic; "if the value of a data point causes a function to attempt to
//! divide by zero, the data point is dropped"; a comparison gives 1 or 0, and where "only one
//! of the time series has a value for a particular time stamp, the function treats the
//! missing value in the other time series as 0"; `FLOOR` is the largest integer not above the
//! value; `FILL(m, c)` puts `c` where `m` has no value. A timestamp where no operand has a
//! value has none either. The expressions parenthesize every comparison (AWS documents no
//! precedence between comparisons and arithmetic).

use super::*;
use std::collections::HashMap;

/// One timestamp's value of an expression (`None`: no datapoint).
fn eval(expr: &str, values: &HashMap<String, Option<f64>>) -> Option<f64> {
    let tokens = tokenize(expr);
    let mut p = Parser {
        tokens: &tokens,
        at: 0,
        values,
    };
    let v = p.comparison();
    assert_eq!(p.at, tokens.len(), "{expr}: not all read");
    v
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Op(String),
}

fn tokenize(s: &str) -> Vec<Token> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Token::Number(text.parse().unwrap()));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Name(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if [">=", "<=", "==", "!="].contains(&two.as_str()) {
                out.push(Token::Op(two));
                i += 2;
            } else {
                assert!("+-*/()<>,".contains(c), "{s}: unexpected `{c}`");
                out.push(Token::Op(c.to_string()));
                i += 1;
            }
        }
    }
    out
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    values: &'a HashMap<String, Option<f64>>,
}

/// Arithmetic on two operands: missing is 0 unless both are missing; `None` from `f` is a
/// dropped datapoint (a division by zero).
fn arith(a: Option<f64>, b: Option<f64>, f: impl Fn(f64, f64) -> Option<f64>) -> Option<f64> {
    if a.is_none() && b.is_none() {
        return None;
    }
    f(a.unwrap_or(0.0), b.unwrap_or(0.0))
}

impl Parser<'_> {
    fn peek_op(&self, ops: &[&str]) -> Option<String> {
        match self.tokens.get(self.at) {
            Some(Token::Op(o)) if ops.contains(&o.as_str()) => Some(o.clone()),
            _ => None,
        }
    }

    fn expect(&mut self, op: &str) {
        assert_eq!(self.tokens.get(self.at), Some(&Token::Op(op.into())));
        self.at += 1;
    }

    fn comparison(&mut self) -> Option<f64> {
        let left = self.sum();
        let Some(op) = self.peek_op(&[">=", "<=", "==", "!=", "<", ">"]) else {
            return left;
        };
        self.at += 1;
        let right = self.sum();
        if left.is_none() && right.is_none() {
            return None;
        }
        let (a, b) = (left.unwrap_or(0.0), right.unwrap_or(0.0));
        let holds = match op.as_str() {
            ">=" => a >= b,
            "<=" => a <= b,
            "==" => a == b,
            "!=" => a != b,
            "<" => a < b,
            _ => a > b,
        };
        Some(if holds { 1.0 } else { 0.0 })
    }

    fn sum(&mut self) -> Option<f64> {
        let mut v = self.product();
        while let Some(op) = self.peek_op(&["+", "-"]) {
            self.at += 1;
            let r = self.product();
            v = arith(v, r, |a, b| Some(if op == "+" { a + b } else { a - b }));
        }
        v
    }

    fn product(&mut self) -> Option<f64> {
        let mut v = self.atom();
        while let Some(op) = self.peek_op(&["*", "/"]) {
            self.at += 1;
            let r = self.atom();
            v = arith(v, r, |a, b| match op.as_str() {
                "*" => Some(a * b),
                _ => (b != 0.0).then(|| a / b),
            });
        }
        v
    }

    fn atom(&mut self) -> Option<f64> {
        let t = self.tokens[self.at].clone();
        self.at += 1;
        match t {
            Token::Number(n) => Some(n),
            // "Unary subtraction -" (the page's arithmetic table).
            Token::Op(o) if o == "-" => self.atom().map(|v| -v),
            Token::Op(o) if o == "(" => {
                let v = self.comparison();
                self.expect(")");
                v
            }
            Token::Name(f) if f == "FLOOR" => {
                self.expect("(");
                let v = self.comparison();
                self.expect(")");
                v.map(f64::floor)
            }
            Token::Name(f) if f == "FILL" => {
                self.expect("(");
                let v = self.comparison();
                self.expect(",");
                let with = self.comparison();
                self.expect(")");
                v.or(with)
            }
            Token::Name(id) => *self
                .values
                .get(&id)
                .unwrap_or_else(|| panic!("`{id}` is not an id of the alarm")),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The alarm's returned value at one timestamp: each metric's value given, each expression
/// evaluated in order.
fn alarm_value(alarm: &Value, metrics: &[(&str, Option<f64>)]) -> Option<f64> {
    let mut values: HashMap<String, Option<f64>> =
        metrics.iter().map(|(id, v)| (id.to_string(), *v)).collect();
    let mut returned = None;
    for q in alarm["Metrics"].as_sequence().unwrap() {
        let id = q["Id"].as_str().unwrap().to_string();
        if let Some(expr) = q["Expression"].as_str() {
            let v = eval(expr, &values);
            values.insert(id.clone(), v);
        } else {
            assert!(values.contains_key(&id), "{id}: no value given");
        }
        if q["ReturnData"] == true {
            returned = Some(values[&id]);
        }
    }
    returned.expect("one query returns the alarm's data")
}

#[test]
fn the_metric_math_of_this_test_follows_cloudwatchs_documented_rules() {
    let v = |pairs: &[(&str, Option<f64>)]| -> HashMap<String, Option<f64>> {
        pairs.iter().map(|(k, x)| (k.to_string(), *x)).collect()
    };
    let m = v(&[("a", Some(3.0)), ("z", Some(0.0)), ("gone", None)]);
    assert_eq!(eval("a / z", &m), None, "divided by zero: dropped");
    assert_eq!(eval("a + gone", &m), Some(3.0), "missing is 0");
    assert_eq!(eval("FILL(gone, 7) * 2", &m), Some(14.0));
    assert_eq!(
        eval("FLOOR(a * 10 / 100) + (FLOOR(a * 10 / 100) < 1)", &m),
        Some(1.0)
    );
    assert_eq!(eval("a >= 3", &m), Some(1.0));
    assert_eq!(eval("FILL(gone, -1) >= 0", &m), Some(0.0));
    assert_eq!(eval("(gone < a)", &m), Some(1.0), "one side missing: 0");
    assert_eq!(eval("gone / z", &v(&[("gone", None), ("z", None)])), None);
}

/// Every case of a small fleet: workers in service 0 to 8 (with a fractional average while
/// one starts), visible and in-flight messages 0 to 12 (in flight also missing); and no
/// datapoint where SQS's count has not arrived.
fn agrees(alarm: &Value, workers_id: &str, (percent, min): (u64, u64), target: f64) {
    for serving in [None, Some(1.0), Some(3.0)] {
        let late = alarm_value(
            alarm,
            &[("visible", None), ("inflight", None), (workers_id, serving)],
        );
        assert_eq!(
            late, None,
            "{serving:?} in service, SQS's minute not there yet"
        );
    }
    for serving in [0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 8.0] {
        for visible in 0..=12_u64 {
            for inflight in [None, Some(0_u64), Some(1), Some(3), Some(7)] {
                let rendered = alarm_value(
                    alarm,
                    &[
                        ("visible", Some(visible as f64)),
                        ("inflight", inflight.map(|n| n as f64)),
                        (workers_id, Some(serving)),
                    ],
                );
                if serving.fract() != 0.0 {
                    // A fractional average: the rule takes whole workers; the alarm still
                    // has a value (no division by zero).
                    assert!(rendered.is_some());
                    continue;
                }
                let model = crate::sim::rules::scale_in_datapoint(
                    visible,
                    inflight.unwrap_or(0),
                    serving as u64,
                    percent,
                    min,
                    target,
                );
                match (rendered, model) {
                    (None, None) => {}
                    (Some(r), Some(m)) => assert!(
                        (r - m).abs() < 1e-9,
                        "{percent} % of {serving}, {visible} visible, {inflight:?} in flight: alarm {r}, model {m}"
                    ),
                    other => panic!(
                        "{percent} % of {serving}, {visible} visible, {inflight:?} in flight: {other:?}"
                    ),
                }
            }
        }
    }
}

#[test]
fn the_ec2_scale_in_alarm_computes_what_the_simulator_models() {
    for (percent, min) in [(1, 1), (10, 0), (25, 1), (50, 3)] {
        let env = from_str(&format!(
            "region: eu-west-1\nlab: true\nworkers: {{min: {min}, max: 8}}\nscaling:\n  max_latency_seconds: 20\n  seconds_per_message: 2\n  scale_from_zero: {}\n  scale_in: {{percent: {percent}}}\n",
            min == 0
        ));
        let (_, fleet) = rendered(&env);
        agrees(
            resource(&fleet, "ScaleInAlarm"),
            "serving",
            (percent, min),
            env.backlog_target(),
        );
    }
}

#[test]
fn the_fargate_scale_in_alarm_computes_what_the_simulator_models() {
    let env = from_str(
        "region: eu-west-1\nlab: true\nworkers:\n  kind: fargate\n  image: public.ecr.aws/docker/library/busybox:1.36\n  min: 1\n  max: 8\nscaling:\n  target_backlog_per_instance: 1.5\n  scale_in: {percent: 20}\n",
    );
    let (_, fleet) = rendered(&env);
    agrees(resource(&fleet, "ScaleInAlarm"), "running", (20, 1), 1.5);
}

#[test]
fn at_two_to_four_workers_a_step_that_would_cross_the_target_is_held_back() {
    // The flapping the hold removes: 2 workers, 1 message busy, target 0.76 (lab.yaml): the
    // busy backlog per worker is 0.5, under the threshold (0.57), but one worker would hold
    // 1.0, over the target; the alarm reads 0.5 + 0.76 and stays OK. With 3 workers and 1
    // message, 2 would hold 0.5 each: the step goes ahead.
    let env = load("stacks/lab.yaml");
    let (_, fleet) = rendered(&env);
    let alarm = resource(&fleet, "ScaleInAlarm");
    let target = env.backlog_target();
    let threshold = alarm["Threshold"].as_f64().unwrap();
    let at = |serving: f64| {
        alarm_value(
            alarm,
            &[
                ("visible", Some(0.0)),
                ("inflight", Some(1.0)),
                ("serving", Some(serving)),
            ],
        )
        .unwrap()
    };
    assert!((at(2.0) - (0.5 + target)).abs() < 1e-9);
    assert!(at(2.0) >= threshold);
    assert!((at(3.0) - 1.0 / 3.0).abs() < 1e-9);
    assert!(at(3.0) < threshold);
}

#[test]
fn the_hold_counts_the_workers_the_step_leaves_at_min() {
    // min 3, 4 in service, 50 %: the policy would remove 2 but stops at 3 workers; 7 busy
    // messages are 2.33 each there, under a target of 3: no hold (7 ÷ 2 = 3.5 would have held).
    let env = from_str(
        "region: eu-west-1\nlab: true\nworkers: {min: 3, max: 8}\nscaling:\n  target_backlog_per_instance: 3\n  scale_in: {percent: 50}\n",
    );
    let (_, fleet) = rendered(&env);
    let v = alarm_value(
        resource(&fleet, "ScaleInAlarm"),
        &[
            ("visible", Some(4.0)),
            ("inflight", Some(3.0)),
            ("serving", Some(4.0)),
        ],
    );
    assert_eq!(v, Some(7.0 / 4.0));
}
