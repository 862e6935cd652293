//! EventBridge Scheduler's cron expressions: read as AWS documents them, and the next run of
//! one after a given moment in its time zone.
//!
//! "minutes hours day-of-month month day-of-week year", the year optional, with the values and
//! wildcards of AWS's table: minutes 0-59 and hours 0-23 (`, - * /`), day-of-month 1-31
//! (`, - * ? / L W`), month 1-12 or JAN-DEC (`, - * /`), day-of-week 1-7 or SUN-SAT, 1 being
//! Sunday (`, - * ? L #`), year 1970-2199 (`, - * /`); `*` in one of the two day fields needs
//! `?` in the other, and with `#` the day-of-week field holds one expression
//! (<https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based>,
//! the same table as
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html>).
//! A range whose end is below its start wraps past the field's end, as AWS's example
//! `0/30 20-2 ? * MON-FRI *` (22:00 to 02:00) does; a year range cannot. A wildcard the table
//! does not give a field (such as `L-3`, or `/` in day-of-week) is refused rather than guessed
//! at, and so is a step longer than its field.
//!
//! Daylight saving time: a time the spring shift skips does not run that day, and one the
//! autumn shift repeats runs "only once at 2:30 a.m. before the shift occurs"
//! (<https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#daylist-savings-time>).

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The last year a cron expression names.
const LAST_YEAR: i16 = 2199;

/// The time zone a schedule's cron is read in: `name`, or UTC. From the system's time zone
/// database (kept up to date with the system), else the copy bundled with qfleet (a machine
/// without one, or without a legacy name); why not, when neither has it. The name must be
/// spelled as the database spells it: Scheduler takes IANA names, and the databases find
/// them whatever their case.
pub fn zone(name: Option<&str>) -> Result<TimeZone, String> {
    let Some(name) = name else {
        return Ok(TimeZone::UTC);
    };
    let tz = jiff::tz::db()
        .get(name)
        .or_else(|_| jiff::tz::TimeZoneDatabase::bundled().get(name))
        .map_err(|_| format!("`{name}` is not an IANA time zone, such as Europe/Paris"))?;
    match tz.iana_name() {
        Some(spelled) if spelled != name => Err(format!("`{name}` is spelled `{spelled}`")),
        _ => Ok(tz),
    }
}

/// A cron expression EventBridge Scheduler takes, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<u8>,
    hours: Vec<u8>,
    days: DayRule,
    months: [bool; 13],
    years: Vec<i16>,
}

/// Which days of a month run: by day of the month or by day of the week (the other field
/// is `?`).
#[derive(Debug, Clone, PartialEq)]
enum DayRule {
    /// Days 1-31 (`*`, lists, ranges, steps); a day past the month's end never runs.
    MonthDays([bool; 32]),
    /// `L`: the month's last day.
    LastOfMonth,
    /// `NW`: the weekday (Monday to Friday) nearest day N, in the same month.
    NearestWeekday(u8),
    /// `LW`: the month's last weekday.
    LastWeekday,
    /// Days of the week, 1 (Sunday) to 7.
    WeekDays([bool; 8]),
    /// `NL`: the month's last such day of the week.
    LastWeekDay(u8),
    /// `D#N`: the Nth such day of the week of the month.
    NthWeekDay(u8, u8),
}

impl Cron {
    /// Reads `text`, or says what AWS's table allows instead.
    pub fn parse(text: &str) -> Result<Cron, String> {
        if text.trim_start().starts_with("cron(") {
            return Err(
                "is wrapped in cron(…): the file takes the fields alone, such as 0 2 * * ? *"
                    .into(),
            );
        }
        let fields: Vec<&str> = text.split_whitespace().collect();
        let (minutes, hours, dom, month, dow, year) = match fields[..] {
            [minutes, hours, dom, month, dow, year] => (minutes, hours, dom, month, dow, year),
            // "five required fields … and one optional field, year" (the User Guide, above).
            [minutes, hours, dom, month, dow] => (minutes, hours, dom, month, dow, "*"),
            _ => {
                return Err(format!(
                    "has {} fields; a cron expression has six: minutes hours day-of-month month day-of-week year (the year may be left out)",
                    fields.len()
                ));
            }
        };
        if fields.len() == 5 && dom == "*" && dow == "*" {
            return Err(format!(
                "reads like a Unix cron: AWS's needs ? in one of day-of-month and day-of-week, and takes a year after them, such as `{minutes} {hours} * {month} ? *`"
            ));
        }
        let minutes = numbers(minutes, "minutes", 0, 59, &[], SLASH)?;
        let hours = numbers(hours, "hours", 0, 23, &[], SLASH)?;
        let days = match (dom == "?", dow == "?") {
            (true, false) => week_days(dow)?,
            (false, true) => month_days(dom)?,
            _ => {
                return Err(
                    "needs ? in exactly one of day-of-month (third) and day-of-week (fifth): AWS takes a day in one of them only".into(),
                );
            }
        };
        let mut months = [false; 13];
        for m in numbers(month, "month", 1, 12, &MONTHS, SLASH)? {
            months[usize::from(m)] = true;
        }
        let years = years(year)?;
        Ok(Cron {
            minutes,
            hours,
            days,
            months,
            years,
        })
    }

    /// Its minutes and hours, when it runs every day (every day of the month or of the week,
    /// every month, every year); `None` when it names days, months or years.
    pub fn daily(&self) -> Option<(&[u8], &[u8])> {
        let every_day = match &self.days {
            DayRule::MonthDays(days) => days[1..].iter().all(|d| *d),
            DayRule::WeekDays(days) => days[1..].iter().all(|d| *d),
            _ => false,
        };
        let every_year = self.years.len() == usize::from((LAST_YEAR - 1970 + 1) as u16);
        (every_day && self.months[1..].iter().all(|m| *m) && every_year)
            .then_some((self.minutes.as_slice(), self.hours.as_slice()))
    }

    /// The first run strictly after `now`, in `zone`; `None` when none comes before the end
    /// of 2199 (the last year a cron expression names). A local time the spring shift skips
    /// does not run; one the autumn shift repeats runs once, at its first occurrence.
    pub fn next_after(&self, now: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let start = zone.to_datetime(now).date();
        let mut year = start.year();
        while year <= LAST_YEAR {
            if !self.years.contains(&year) {
                year += 1;
                continue;
            }
            for month in 1..=12i8 {
                if !self.months[month as usize] {
                    continue;
                }
                let first = Date::new(year, month, 1).ok()?;
                if first.last_of_month() < start {
                    continue;
                }
                for day in 1..=first.days_in_month() {
                    let date = Date::new(year, month, day).ok()?;
                    if date < start || !self.days.runs_on(date) {
                        continue;
                    }
                    if let Some(run) = self.first_run_on(date, now, zone) {
                        return Some(run);
                    }
                }
            }
            year += 1;
        }
        None
    }

    /// The first `n` runs after `now`, in `zone` (fewer when fewer are left before 2200).
    pub fn next_runs(&self, now: Timestamp, zone: &TimeZone, n: usize) -> Vec<Timestamp> {
        let mut out: Vec<Timestamp> = Vec::with_capacity(n);
        while out.len() < n {
            match self.next_after(out.last().copied().unwrap_or(now), zone) {
                Some(run) => out.push(run),
                None => break,
            }
        }
        out
    }

    /// The first run on `date` after `now`, if any.
    fn first_run_on(&self, date: Date, now: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        for &hour in &self.hours {
            for &minute in &self.minutes {
                let local: DateTime = date.at(hour as i8, minute as i8, 0, 0);
                let at = match zone.to_ambiguous_timestamp(local).offset() {
                    AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local),
                    AmbiguousOffset::Gap { .. } => continue,
                    AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local),
                };
                match at {
                    Ok(at) if at > now => return Some(at),
                    _ => {}
                }
            }
        }
        None
    }
}

impl DayRule {
    fn runs_on(&self, date: Date) -> bool {
        let day = date.day() as u8;
        let last = date.days_in_month() as u8;
        let weekday = date.weekday().to_sunday_one_offset() as u8;
        match self {
            DayRule::MonthDays(days) => days[usize::from(day)],
            DayRule::LastOfMonth => day == last,
            DayRule::NearestWeekday(n) => *n <= last && nearest_weekday(date, *n) == day,
            DayRule::LastWeekday => nearest_weekday(date, last) == day,
            DayRule::WeekDays(days) => days[usize::from(weekday)],
            DayRule::LastWeekDay(d) => *d == weekday && day + 7 > last,
            DayRule::NthWeekDay(d, n) => *d == weekday && (day - 1) / 7 + 1 == *n,
        }
    }
}

/// The weekday nearest day `n` of `date`'s month, never in another month: a Saturday runs
/// on the Friday before (the Monday after when it is the 1st), a Sunday on the Monday after
/// (the Friday before when it is the month's last day).
fn nearest_weekday(date: Date, n: u8) -> u8 {
    let last = date.days_in_month() as u8;
    let Ok(target) = Date::new(date.year(), date.month(), n as i8) else {
        return 0;
    };
    match target.weekday() {
        Weekday::Saturday if n == 1 => 3,
        Weekday::Saturday => n - 1,
        Weekday::Sunday if n == last => n - 2,
        Weekday::Sunday => n + 1,
        _ => n,
    }
}

/// The wildcards of the fields that take numbers only, as AWS's table lists them.
const SLASH: &str = ", - * /";

/// A field of numbers (`*`, `N`, `N-M`, `*/K`, `N/K`, `N-M/K`, comma-separated), names
/// standing for `low`, `low + 1`, … ; ascending and without repeats. `/` only where
/// `wildcards` has it; a range whose end is below its start wraps past `high`.
fn numbers(
    field: &str,
    what: &str,
    low: u8,
    high: u8,
    names: &[&str],
    wildcards: &str,
) -> Result<Vec<u8>, String> {
    let size = high - low + 1;
    let mut on = vec![false; usize::from(high) + 1];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some(_) if !wildcards.contains('/') => {
                return Err(format!(
                    "has `{item}` in {what}; it takes {low}-{high}{}, and {wildcards}",
                    named(names)
                ));
            }
            Some((range, step)) => {
                let step: u8 = step
                    .parse()
                    .ok()
                    .filter(|s| (1..=size).contains(s))
                    .ok_or_else(|| {
                        format!(
                            "has `{item}` in {what}: a step after / is a whole number from 1 to {size}"
                        )
                    })?;
                (range, step)
            }
            None => (item, 1),
        };
        let value = |text: &str| -> Result<u8, String> {
            let upper = text.to_ascii_uppercase();
            let n = match names.iter().position(|n| *n == upper) {
                Some(i) => low + i as u8,
                None if !text.bytes().all(|b| b.is_ascii_digit()) || text.is_empty() => {
                    return Err(format!(
                        "has `{item}` in {what}; it takes {low}-{high}{}, and {wildcards}",
                        named(names)
                    ));
                }
                None => text.parse().map_err(|_| {
                    format!(
                        "has `{item}` in {what}; it takes {low}-{high}{}, and {wildcards}",
                        named(names)
                    )
                })?,
            };
            if (low..=high).contains(&n) {
                Ok(n)
            } else {
                Err(format!(
                    "has {n} in {what}; it takes {low}-{high}{}",
                    named(names)
                ))
            }
        };
        let (from, to) = match range {
            "*" => (low, high),
            _ => match range.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `N/K` runs from N to the field's end.
                None if item.contains('/') => (value(range)?, high),
                None => {
                    let n = value(range)?;
                    (n, n)
                }
            },
        };
        // `20-2` in hours: 20, 21, 22, 23, 0, 1, 2.
        let span = if to >= from {
            to - from
        } else {
            to + size - from
        };
        for k in (0..=span).step_by(usize::from(step)) {
            on[usize::from(low + (from - low + k) % size)] = true;
        }
    }
    Ok((low..=high).filter(|n| on[usize::from(*n)]).collect())
}

fn named(names: &[&str]) -> String {
    match (names.first(), names.last()) {
        (Some(a), Some(b)) => format!(" or {a}-{b}"),
        _ => String::new(),
    }
}

/// The day-of-month field: numbers, `L`, `NW` or `LW`.
fn month_days(field: &str) -> Result<DayRule, String> {
    let upper = field.to_ascii_uppercase();
    match upper.as_str() {
        "L" => return Ok(DayRule::LastOfMonth),
        "LW" => return Ok(DayRule::LastWeekday),
        _ => {}
    }
    if let Some(n) = upper.strip_suffix('W') {
        return match n.parse::<u8>() {
            Ok(n) if (1..=31).contains(&n) => Ok(DayRule::NearestWeekday(n)),
            _ => Err(format!(
                "has `{field}` in day-of-month; W follows one day, 1-31 (15W: the weekday nearest the 15th)"
            )),
        };
    }
    if upper.contains('L') || upper.contains('W') {
        return Err(format!(
            "has `{field}` in day-of-month; L and W stand alone (L, LW) or follow one day (15W)"
        ));
    }
    let mut days = [false; 32];
    for d in numbers(field, "day-of-month", 1, 31, &[], ", - * ? / L W")? {
        days[usize::from(d)] = true;
    }
    Ok(DayRule::MonthDays(days))
}

/// The day-of-week field: days 1-7 or SUN-SAT, `L` (the week's last day, Saturday), `DL` or
/// `D#N`.
fn week_days(field: &str) -> Result<DayRule, String> {
    let upper = field.to_ascii_uppercase();
    let day = |text: &str| -> Result<u8, String> {
        match DAYS.iter().position(|d| *d == text) {
            Some(i) => Ok(i as u8 + 1),
            None => text
                .parse()
                .ok()
                .filter(|d| (1..=7).contains(d))
                .ok_or_else(|| format!("has `{field}` in day-of-week; it takes 1-7 or SUN-SAT")),
        }
    };
    if upper == "L" {
        // "the last day of the … week": every Saturday.
        let mut days = [false; 8];
        days[7] = true;
        return Ok(DayRule::WeekDays(days));
    }
    if let Some(d) = upper.strip_suffix('L') {
        return Ok(DayRule::LastWeekDay(day(d)?));
    }
    if upper.contains('#') && upper.contains(',') {
        return Err(format!(
            "has `{field}` in day-of-week; with # the field holds one expression, such as 3#2"
        ));
    }
    if let Some((d, n)) = upper.split_once('#') {
        let n = n
            .parse::<u8>()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| {
                format!("has `{field}` in day-of-week; after # comes 1-5 (3#2: the second Tuesday)")
            })?;
        return Ok(DayRule::NthWeekDay(day(d)?, n));
    }
    let mut days = [false; 8];
    for d in numbers(field, "day-of-week", 1, 7, &DAYS, ", - * ? L #")? {
        days[usize::from(d)] = true;
    }
    Ok(DayRule::WeekDays(days))
}

/// The year field, 1970-2199.
fn years(field: &str) -> Result<Vec<i16>, String> {
    let mut years = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (
                range,
                step.parse::<i16>().ok().filter(|s| *s > 0).ok_or_else(|| {
                    format!("has `{item}` in year: a step after / is a whole number from 1")
                })?,
            ),
            None => (item, 1),
        };
        let value = |text: &str| -> Result<i16, String> {
            Some(text)
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse().ok())
                .filter(|y| (1970..=LAST_YEAR).contains(y))
                .ok_or_else(|| format!("has `{item}` in year; it takes 1970-2199"))
        };
        let (from, to) = match range {
            "*" => (1970, LAST_YEAR),
            _ => match range.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if item.contains('/') => (value(range)?, LAST_YEAR),
                None => {
                    let y = value(range)?;
                    (y, y)
                }
            },
        };
        if from > to {
            return Err(format!(
                "has `{item}` in year: a range runs from low to high"
            ));
        }
        years.extend((from..=to).step_by(step as usize));
    }
    years.sort_unstable();
    years.dedup();
    Ok(years)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn next(cron: &str, now: &str, zone: &str) -> Option<String> {
        let zone = TimeZone::get(zone).unwrap();
        Cron::parse(cron)
            .unwrap()
            .next_after(at(now), &zone)
            .map(|t| t.to_string())
    }

    #[test]
    fn a_daily_cron_runs_next_at_its_time_today_or_tomorrow() {
        assert_eq!(
            next("0 2 * * ? *", "2026-11-27T01:30:00Z", "UTC").as_deref(),
            Some("2026-11-27T02:00:00Z")
        );
        assert_eq!(
            next("0 2 * * ? *", "2026-11-27T02:00:00Z", "UTC").as_deref(),
            Some("2026-11-28T02:00:00Z"),
            "a run at this very moment is not the next one"
        );
        assert_eq!(
            next("*/15 * * * ? *", "2026-11-27T06:07:00Z", "UTC").as_deref(),
            Some("2026-11-27T06:15:00Z")
        );
        assert_eq!(
            next("5/20 9-17 ? * MON-FRI *", "2026-11-27T17:46:00Z", "UTC").as_deref(),
            Some("2026-11-30T09:05:00Z"),
            "Friday evening's next weekday run is Monday's"
        );
    }

    #[test]
    fn a_cron_is_read_in_its_time_zone() {
        // 02:00 in Paris is 01:00 UTC in winter, 00:00 UTC in summer.
        assert_eq!(
            next("0 2 * * ? *", "2026-11-27T06:00:00Z", "Europe/Paris").as_deref(),
            Some("2026-11-28T01:00:00Z")
        );
        assert_eq!(
            next("0 2 * * ? *", "2026-07-01T06:00:00Z", "Europe/Paris").as_deref(),
            Some("2026-07-02T00:00:00Z")
        );
    }

    #[test]
    fn the_spring_shift_skips_a_run_and_the_autumn_shift_runs_it_once() {
        // Europe/Paris: 2026-03-29 02:00 becomes 03:00; 2026-10-25 03:00 becomes 02:00.
        assert_eq!(
            next("30 2 * * ? *", "2026-03-28T02:00:00Z", "Europe/Paris").as_deref(),
            Some("2026-03-30T00:30:00Z"),
            "02:30 does not exist on the 29th: that day has no run"
        );
        assert_eq!(
            next("30 2 * * ? *", "2026-10-24T02:00:00Z", "Europe/Paris").as_deref(),
            Some("2026-10-25T00:30:00Z"),
            "the first 02:30 (summer time)"
        );
        assert_eq!(
            next("30 2 * * ? *", "2026-10-25T00:30:00Z", "Europe/Paris").as_deref(),
            Some("2026-10-26T01:30:00Z"),
            "the repeated 02:30 does not run again"
        );
    }

    #[test]
    fn the_day_wildcards_follow_aws_table() {
        // November 2026: the 1st is a Sunday, the 30th a Monday.
        let now = "2026-11-01T00:00:00Z";
        assert_eq!(
            next("0 0 L * ? *", now, "UTC").as_deref(),
            Some("2026-11-30T00:00:00Z")
        );
        assert_eq!(
            next("0 0 LW * ? *", "2027-01-01T00:00:00Z", "UTC").as_deref(),
            Some("2027-01-29T00:00:00Z"),
            "January 2027 ends on a Sunday: its last weekday is Friday the 29th"
        );
        assert_eq!(
            next("0 0 1W * ? *", now, "UTC").as_deref(),
            Some("2026-11-02T00:00:00Z"),
            "the 1st is a Sunday: Monday the 2nd"
        );
        assert_eq!(
            next("0 0 1W * ? *", "2026-08-01T00:00:00Z", "UTC").as_deref(),
            Some("2026-08-03T00:00:00Z"),
            "1 August 2026 is a Saturday: not July's Friday, Monday the 3rd"
        );
        assert_eq!(
            next("0 0 ? * 3#2 *", now, "UTC").as_deref(),
            Some("2026-11-10T00:00:00Z"),
            "3#2: the second Tuesday"
        );
        assert_eq!(
            next("0 0 ? * 6L *", now, "UTC").as_deref(),
            Some("2026-11-27T00:00:00Z"),
            "6L: the last Friday"
        );
        assert_eq!(
            next("0 0 ? * L *", now, "UTC").as_deref(),
            Some("2026-11-07T00:00:00Z"),
            "L alone: the week's last day, each Saturday"
        );
        assert_eq!(
            next("0 0 31 * ? *", now, "UTC").as_deref(),
            Some("2026-12-31T00:00:00Z"),
            "November has no 31st"
        );
        assert_eq!(
            next("0 0 ? JAN,jul SUN 2027/2", now, "UTC").as_deref(),
            Some("2027-01-03T00:00:00Z")
        );
    }

    #[test]
    fn a_range_past_the_fields_end_wraps_and_the_year_may_be_left_out() {
        // AWS's example: every 30 minutes from 22:00 to 02:00, Monday to Friday. Each run's
        // own day must be one of them: Friday night's last is 23:30, then Monday 00:00.
        let cron = Cron::parse("0/30 20-2 ? * MON-FRI *").unwrap();
        assert_eq!(cron.hours, [0, 1, 2, 20, 21, 22, 23]);
        assert_eq!(
            next("0/30 20-2 ? * MON-FRI *", "2026-11-27T23:45:00Z", "UTC").as_deref(),
            Some("2026-11-30T00:00:00Z")
        );
        assert_eq!(
            next("0 0 ? * FRI-MON *", "2026-11-24T12:00:00Z", "UTC").as_deref(),
            Some("2026-11-27T00:00:00Z"),
            "Tuesday: Friday is the next of FRI, SAT, SUN, MON"
        );
        assert_eq!(
            Cron::parse("0 0 ? NOV-FEB SUN *").unwrap().months,
            Cron::parse("0 0 ? 11,12,1,2 SUN *").unwrap().months
        );
        assert_eq!(
            Cron::parse("50-10/5 * * * ? *").unwrap().minutes,
            [0, 5, 10, 50, 55]
        );
        assert_eq!(
            Cron::parse("0 2 * * ?").unwrap(),
            Cron::parse("0 2 * * ? *").unwrap()
        );
    }

    #[test]
    fn the_next_runs_follow_one_another() {
        let zone = zone(Some("Europe/Paris")).unwrap();
        let runs: Vec<String> = Cron::parse("0 2 ? * 6L *")
            .unwrap()
            .next_runs(at("2026-11-27T06:00:00Z"), &zone, 3)
            .iter()
            .map(|t| zone.to_datetime(*t).to_string())
            .collect();
        assert_eq!(
            runs,
            [
                "2026-12-25T02:00:00",
                "2027-01-29T02:00:00",
                "2027-02-26T02:00:00"
            ],
            "the last Friday of each month"
        );
        let once = Cron::parse("0 2 1 1 ? 2027").unwrap();
        assert_eq!(
            once.next_runs(at("2026-11-27T06:00:00Z"), &zone, 3).len(),
            1
        );
    }

    /// A machine without tzdata, or whose legacy names went to tzdata-legacy (Debian 13,
    /// Ubuntu 23.10), still reads every zone: qfleet's bundled copy has them.
    #[test]
    fn the_bundled_database_has_what_a_machine_may_lack() {
        let bundled = jiff::tz::TimeZoneDatabase::bundled();
        for name in [
            "Europe/Paris",
            "America/Argentina/ComodRivadavia",
            "US/Eastern",
        ] {
            assert!(bundled.get(name).is_ok(), "{name}");
        }
        assert!(zone(Some("US/Eastern")).is_ok());
        assert!(zone(None).is_ok_and(|z| z == TimeZone::UTC));
    }

    #[test]
    fn day_wildcards_at_a_months_edges() {
        // October 2026: the 31st is a Saturday, so 31W is Friday the 30th; November has no
        // 31st, and no fifth Monday.
        assert_eq!(
            next("0 0 31W * ? *", "2026-10-01T00:00:00Z", "UTC").as_deref(),
            Some("2026-10-30T00:00:00Z")
        );
        assert_eq!(
            next("0 0 ? * 2#5 *", "2026-11-01T00:00:00Z", "UTC").as_deref(),
            Some("2026-11-30T00:00:00Z"),
            "November 2026 has five Mondays: the 2nd, 9th, 16th, 23rd and 30th"
        );
        assert_eq!(
            next("0 0 ? * 2#5 *", "2026-12-01T00:00:00Z", "UTC").as_deref(),
            Some("2027-03-29T00:00:00Z"),
            "December 2026 to February 2027 have no fifth Monday"
        );
        // Across the autumn shift: each local 02:30 once, in order.
        let zone = zone(Some("Europe/Paris")).unwrap();
        let runs: Vec<String> = Cron::parse("30 2 * * ? *")
            .unwrap()
            .next_runs(at("2026-10-24T02:00:00Z"), &zone, 3)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            runs,
            [
                "2026-10-25T00:30:00Z",
                "2026-10-26T01:30:00Z",
                "2026-10-27T01:30:00Z"
            ]
        );
    }

    #[test]
    fn a_cron_without_a_run_left_has_no_next_run() {
        assert_eq!(next("0 0 1 1 ? 1999", "2026-11-27T00:00:00Z", "UTC"), None);
        assert_eq!(next("0 0 30 FEB ? *", "2026-11-27T00:00:00Z", "UTC"), None);
    }

    #[test]
    fn what_aws_table_does_not_take_is_refused_with_what_it_takes() {
        for (cron, says) in [
            ("0 2 * *", "has 4 fields"),
            ("0 2 * * *", "reads like a Unix cron"),
            ("+5 2 * * ? *", "has `+5` in minutes"),
            ("0 2 * * ? +2027", "it takes 1970-2199"),
            ("cron(0 2 * * ? *)", "wrapped in cron("),
            ("60 2 * * ? *", "has 60 in minutes; it takes 0-59"),
            ("0 24 * * ? *", "has 24 in hours; it takes 0-23"),
            ("0 2 * * * *", "needs ? in exactly one"),
            ("0 2 ? * ? *", "needs ? in exactly one"),
            ("0 2 32 * ? *", "has 32 in day-of-month"),
            ("0 2 ? * 8 *", "it takes 1-7 or SUN-SAT"),
            ("0 2 ? * 0 *", "it takes 1-7 or SUN-SAT"),
            ("0 2 * 13 ? *", "has 13 in month"),
            ("0 2 * FOO ? *", "it takes 1-12 or JAN-DEC"),
            ("0 2 * * ? 1969", "it takes 1970-2199"),
            ("0 2 L-3 * ? *", "L and W stand alone"),
            ("0 2 ? * 3#6 *", "after # comes 1-5"),
            ("*/0 2 * * ? *", "a step after / is a whole number from 1"),
            ("0 2 * * ? 2030-2020", "a range runs from low to high"),
            ("0/90 * * * ? *", "a whole number from 1 to 60"),
            ("0 2 ? * MON/2 *", "and , - * ? L #"),
            ("0 2 ? * 3#1,6#3 *", "holds one expression"),
        ] {
            let why = Cron::parse(cron).expect_err(cron);
            assert!(why.contains(says), "`{cron}`: {why}");
        }
    }
}
