//! The CronJob schedule grammar, exactly as the Kubernetes API server checks it (robfig/cron
//! v3 `ParseStandard`): five whitespace-separated fields, or an `@` macro.

/// One field of a schedule: its name, its range, and the names it accepts for 0, 1, ….
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The value the first name stands for (months count from 1).
    first_named: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        first_named: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        first_named: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        first_named: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
        first_named: 1,
    },
    Field {
        name: "day of week",
        min: 0,
        max: 6,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        first_named: 0,
    },
];

/// The `@` macros Kubernetes documents for CronJobs.
const MACROS: [&str; 7] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Why `schedule` is not one the CronJob controller accepts, if it is not.
pub fn problem(schedule: &str) -> Option<String> {
    if schedule.starts_with('@') {
        return (!MACROS.contains(&schedule)).then(|| format!("unknown macro `{schedule}`"));
    }
    let fields: Vec<&str> = schedule
        .split([' ', '\t'])
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() != FIELDS.len() {
        return Some(format!("{} fields, not 5", fields.len()));
    }
    fields.iter().zip(&FIELDS).find_map(|(text, field)| {
        field_problem(text, field).map(|p| format!("{}: {p}", field.name))
    })
}

fn field_problem(text: &str, field: &Field) -> Option<String> {
    text.split(',').find_map(|part| part_problem(part, field))
}

/// One comma-separated part: `*`, `?`, `N` or `N-M`, optionally `/step`.
fn part_problem(part: &str, field: &Field) -> Option<String> {
    let (range, step) = match part.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (part, None),
    };
    if let Some(step) = step {
        match number(step) {
            Some(0) | None => return Some(format!("`{part}`: the step must be a positive number")),
            Some(_) => {}
        }
    }
    if range == "*" || range == "?" {
        return None;
    }
    let (start, end) = match range.split_once('-') {
        Some((start, end)) if start.is_empty() || end.is_empty() => {
            return Some(format!("`{part}`: a range needs both ends"));
        }
        Some((start, end)) => (start, Some(end)),
        None => (range, None),
    };
    let value = |text: &str| {
        number(text).or_else(|| {
            let lower = text.to_ascii_lowercase();
            let index = field.names.iter().position(|n| *n == lower)?;
            u32::try_from(index).ok().map(|i| i + field.first_named)
        })
    };
    let bounds = format!("{} to {}", field.min, field.max);
    let Some(start_value) = value(start) else {
        return Some(format!("`{part}`: `{start}` is not a number from {bounds}"));
    };
    let end_value = match end {
        Some(end) => match value(end) {
            Some(v) => v,
            None => return Some(format!("`{part}`: `{end}` is not a number from {bounds}")),
        },
        None => start_value,
    };
    if start_value < field.min || end_value > field.max {
        return Some(format!("`{part}` is outside {bounds}"));
    }
    (start_value > end_value).then(|| format!("`{part}`: the range runs backwards"))
}

/// Digits only: the API server's parser takes no sign where a count is meant.
fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_the_api_server_accepts() {
        for good in [
            "17 3 * * *",
            "*/15 * * * *",
            "0 0-23/2 * * mon-fri",
            "5,35 1 1 JAN,jul ?",
            "0  4 * *  0",
            "59 23 31 12 6",
            "0 0 1/2 * *",
            "@daily",
            "@hourly",
            "@annually",
        ] {
            assert_eq!(problem(good), None, "{good}");
        }
    }

    #[test]
    fn schedules_the_api_server_refuses() {
        for (bad, why) in [
            ("99 99 99 99 99", "minute: `99` is outside 0 to 59"),
            (
                "*/0 * * * *",
                "minute: `*/0`: the step must be a positive number",
            ),
            ("- - - - -", "minute: `-`: a range needs both ends"),
            ("0 0 * * 7", "day of week: `7` is outside 0 to 6"),
            ("0 0 0 * *", "day of month: `0` is outside 1 to 31"),
            ("0 5-1 * * *", "hour: `5-1`: the range runs backwards"),
            ("* * * *", "4 fields, not 5"),
            ("* * * * * *", "6 fields, not 5"),
            ("@every 1h", "unknown macro `@every 1h`"),
            (
                "0 0 * foo *",
                "month: `foo`: `foo` is not a number from 1 to 12",
            ),
            (
                "0 0 * * */-1",
                "day of week: `*/-1`: the step must be a positive number",
            ),
            ("", "0 fields, not 5"),
        ] {
            assert_eq!(problem(bad).as_deref(), Some(why), "{bad}");
        }
    }
}
